"""Catalogue: weight bands derived by hand from the documented formula, lookups, overrides."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from stations.catalogue import Catalogue, CatalogueError, WeightBand

D = Decimal


def band(low: str, high: str, source: str = "catalogue") -> WeightBand:
    return WeightBand.model_validate({"min_grams": low, "max_grams": high, "source": source})


def test_band_is_device_plus_packaging_widened_by_the_tolerance() -> None:
    # iPhone 13: 174 g; mailer-box 150-260 g; 5 % and 10 g.
    # low  = (174 + 150) * 0.95 - 10 = 297.8
    # high = (174 + 260) * 1.05 + 10 = 465.7
    assert Catalogue.builtin().weight_band("Apple", "iPhone 13") == band("297.8", "465.7")


def test_band_rounds_outwards_to_a_tenth_of_a_gram() -> None:
    # Pixel 7a: 193.5 g in a padded envelope (40-90 g).
    # low  = 233.5 * 0.95 - 10 = 211.825 -> 211.8 (down)
    # high = 283.5 * 1.05 + 10 = 307.675 -> 307.7 (up)
    got = Catalogue.builtin().weight_band("Google", "Pixel 7a", "padded-envelope")
    assert got == band("211.8", "307.7")


def test_a_model_with_variants_uses_lightest_and_heaviest() -> None:
    # iPad (9th generation): 487 g Wi-Fi, 498 g cellular; tablet-box 250-450 g.
    # low = 737 * 0.95 - 10 = 690.15 -> 690.1; high = 948 * 1.05 + 10 = 1005.4
    got = Catalogue.builtin().weight_band("Apple", "iPad 9", "tablet-box")
    assert got == band("690.1", "1005.4")


@pytest.mark.parametrize(
    ("make", "model"),
    [
        ("apple", "iphone 13"),
        ("APPLE", "IPHONE 13"),
        ("  Apple ", "iPhone   13"),
        ("Apple", "iPhone13"),
    ],
)
def test_lookup_ignores_case_and_spacing(make: str, model: str) -> None:
    assert Catalogue.builtin().weight_band(make, model).source == "catalogue"
    assert Catalogue.builtin().weight_band(make, model).min_grams == D("297.8")


def test_aliases_find_the_same_model() -> None:
    catalogue = Catalogue.builtin()
    assert catalogue.weight_band("Samsung", "Galaxy S21 Plus") == catalogue.weight_band(
        "Samsung", "Galaxy S21+"
    )


def test_unknown_model_gets_the_wide_default_band() -> None:
    # default device 100-800 g in a mailer-box: 250 * 0.95 - 10 = 227.5; 1060 * 1.05 + 10 = 1123
    got = Catalogue.builtin().weight_band("Nokia", "3310")
    assert got.source == "default"
    assert (got.min_grams, got.max_grams) == (D("227.5"), D("1123"))


def test_same_model_name_under_another_make_is_unknown() -> None:
    assert Catalogue.builtin().weight_band("Google", "iPhone 13").source == "default"


def test_unknown_packaging_names_the_known_ones() -> None:
    with pytest.raises(CatalogueError, match=r"unknown packaging 'shoebox'; known: .*mailer-box"):
        Catalogue.builtin().weight_band("Apple", "iPhone 13", "shoebox")


def test_every_shipped_model_has_a_phone_or_tablet_weight() -> None:
    catalogue = Catalogue.builtin()
    models = {device.model for device in catalogue.devices.values()}
    assert len(models) >= 20
    for device in catalogue.devices.values():
        assert D(100) <= device.min_grams <= device.max_grams <= D(700), device


def test_weight_band_contains_and_deviation() -> None:
    wb = band("100", "200")
    assert wb.contains(D("100")) and wb.contains(D("200")) and wb.contains(D("150.5"))
    assert not wb.contains(D("99.9")) and not wb.contains(D("200.1"))
    assert wb.deviation(D("99.9")) == D("-0.1")
    assert wb.deviation(D("230")) == D("30")
    assert wb.deviation(D("150")) == 0


def test_weight_band_refuses_floats_and_reversed_bounds() -> None:
    with pytest.raises(ValidationError, match="decimal string"):
        WeightBand.model_validate({"min_grams": 100.5, "max_grams": "200", "source": "manifest"})
    with pytest.raises(ValidationError, match="above its maximum"):
        band("300", "200")


def test_weight_band_serialises_as_strings() -> None:
    assert band("297.8", "465.7").model_dump(mode="json") == {
        "min_grams": "297.8",
        "max_grams": "465.7",
        "source": "catalogue",
    }


OVERRIDE = """
[tolerance]
percent = 0
allowance_grams = 0

[packaging.crate]
min_grams = 1000
max_grams = 1000

[[model]]
make = "apple"
model = "IPHONE 13"
grams = 200

[[model]]
make = "Fairphone"
model = "Fairphone 5"
grams = 212
"""


def test_override_wins_per_model_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(OVERRIDE, encoding="utf-8")
    catalogue = Catalogue.load(path)
    # Tolerance 0 now: the band is exactly device + packaging.
    assert catalogue.weight_band("Apple", "iPhone 13", "crate") == band("1200", "1200")
    assert catalogue.weight_band("Fairphone", "Fairphone 5", "crate") == band("1212", "1212")
    # Untouched models and packaging come from the shipped file (iPhone 14: 172 g).
    assert catalogue.weight_band("Apple", "iPhone 14") == band("322", "432")
    assert catalogue.default_packaging == "mailer-box"
    assert catalogue.sources == ("stations/data/catalogue.toml", str(path))


def test_override_entry_replaces_the_shipped_one_with_its_aliases() -> None:
    text = '[[model]]\nmake = "Samsung"\nmodel = "Galaxy S21+"\ngrams = 300\n'
    catalogue = Catalogue.parse(text, "override.toml", base=Catalogue.builtin())
    assert catalogue.device("Samsung", "Galaxy S21+") is not None
    assert catalogue.device("Samsung", "Galaxy S21 Plus") is None  # its alias went with it


def test_load_without_a_path_is_the_builtin_catalogue() -> None:
    assert Catalogue.load(None) is Catalogue.builtin()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[model]\n", "is not valid TOML"),
        ("[colours]\nred = 1\n", r"unknown section\(s\) colours"),
        (
            '\n\n[[model]]\nmake = "Apple"\nmodel = "iPhone X"\ngrams = -3\n',
            r"over\.toml line 3: model 1 \(Apple iPhone X\): grams",
        ),
        (
            '[[model]]\nmake = "Apple"\nmodel = "iPhone X"\ngrams = [200, 100]\n',
            "lightest, heaviest",
        ),
        ('[[model]]\nmake = "Apple"\nmodel = "iPhone X"\ngrams = 174\ncolour = "red"\n', "colour"),
        (
            '[[model]]\nmake="A"\nmodel="X"\ngrams=1\n[[model]]\nmake="a"\nmodel="x"\ngrams=2\n',
            r"line 5: model 2 \(a x\): name 'x' is already used by model 1",
        ),
        ('[default]\npackaging = "crate"\n', r"packaging 'crate' is not a \[packaging.<key>\]"),
        ('[packaging."Big Box"]\nmin_grams = 1\nmax_grams = 2\n', "packaging keys are"),
        ("[packaging.box]\nmin_grams = 5\nmax_grams = 2\n", "min_grams is above max_grams"),
        ("[tolerance]\npercent = 90\n", r"\[tolerance\]: percent"),
    ],
)
def test_bad_override_data_names_file_and_entry(text: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        Catalogue.parse(text, "over.toml", base=Catalogue.builtin())


def test_a_standalone_catalogue_needs_default_and_tolerance() -> None:
    with pytest.raises(CatalogueError, match=r"\[default\]: packaging is required"):
        Catalogue.parse("[packaging.box]\nmin_grams = 1\nmax_grams = 2\n", "cat.toml")


def test_unreadable_override_is_a_catalogue_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read catalogue"):
        Catalogue.load(tmp_path / "missing.toml")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b'[[model]]\nmake = "Caf\xe9"\n')
    with pytest.raises(CatalogueError, match="not UTF-8"):
        Catalogue.load(latin1)


@pytest.mark.parametrize(
    ("make", "reported", "expected"),
    [
        ("samsung", "SM-G930F", ("Samsung", "Galaxy S7")),  # Android ro.product.model
        (None, "iPhone14,5", ("Apple", "iPhone 13")),  # iPhone ProductType, any make
        ("Google", "shiba", ("Google", "Pixel 8")),  # Android ro.product.device
        ("Apple", "iphone13", ("Apple", "iPhone 13")),  # a name, as a customer types it
    ],
)
def test_identify_maps_model_codes_to_the_declared_name(
    make: str | None, reported: str, expected: tuple[str, str]
) -> None:
    entry = Catalogue.builtin().identify(make, reported)
    assert entry is not None and (entry.make, entry.model) == expected


def test_identify_an_unknown_code_is_none() -> None:
    assert Catalogue.builtin().identify("samsung", "SM-X999") is None
    assert Catalogue.builtin().identify(None, None, "") is None


def test_a_code_is_one_model_only_and_an_override_takes_its_codes_along() -> None:
    twice = (
        '[[model]]\nmake = "A"\nmodel = "X"\ncodes = ["C1"]\ngrams = 1\n'
        '[[model]]\nmake = "A"\nmodel = "Y"\ncodes = ["c1"]\ngrams = 1\n'
    )
    with pytest.raises(CatalogueError, match="code 'c1' is already used by model 1"):
        Catalogue.parse(twice, "override.toml", base=Catalogue.builtin())
    text = '[[model]]\nmake = "Samsung"\nmodel = "Galaxy S7"\ncodes = ["SM-G930X"]\ngrams = 152\n'
    catalogue = Catalogue.parse(text, "override.toml", base=Catalogue.builtin())
    assert catalogue.identify("samsung", "SM-G930F") is None  # the shipped codes went with it
    assert catalogue.identify("samsung", "SM-G930X") is not None
