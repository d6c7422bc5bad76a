"""Declared vs read device (pure): the catalogue's model codes decide, unknowns never match."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from stations.catalogue import Catalogue
from stations.device_identity import bounded, mismatch, read_device
from stations.manifest import ExpectedReturn

CATALOGUE = Catalogue.builtin()


def declared(make: str, model: str) -> ExpectedReturn:
    return ExpectedReturn(
        return_id="R-1",
        label_codes=("RET-1",),
        customer_ref="C-1",
        make=make,
        model=model,
        quote=Decimal("100.00"),
        currency="EUR",
        status="accepted",
    )


def fields(manufacturer: str | None, code: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if manufacturer is not None:
        found["manufacturer"] = {"value": manufacturer, "source": "adb getprop"}
    if code is not None:
        found["model_code"] = {"value": code, "source": "adb getprop ro.product.device"}
    return found


@pytest.mark.parametrize(
    ("model", "found", "make", "model_name"),
    [
        ("SM-G930F", fields("samsung", "herolte"), "Samsung", "Galaxy S7"),
        ("iPhone 13", fields("Apple", "iPhone14,5"), "Apple", "iPhone 13"),
        ("Pixel 8", fields("Google", "shiba"), "Google", "Pixel 8"),
    ],
)
def test_the_device_read_in_the_catalogue_words(
    model: str, found: dict[str, Any], make: str, model_name: str
) -> None:
    read = read_device(model, found, CATALOGUE)
    assert read is not None and read.catalogued
    assert (read.make, read.model) == (make, model_name)


def test_the_declared_device_matches_its_codes() -> None:
    galaxy = read_device("SM-G930F", fields("samsung"), CATALOGUE)
    iphone = read_device(None, fields("Apple", "iPhone14,5"), CATALOGUE)
    assert galaxy is not None and iphone is not None
    assert mismatch(galaxy, declared("Samsung", "Galaxy S7"), CATALOGUE) is None
    assert mismatch(iphone, declared("Apple", "iPhone 13"), CATALOGUE) is None
    assert mismatch(iphone, declared("apple", "IPHONE13"), CATALOGUE) is None


def test_another_make_or_model_is_a_mismatch() -> None:
    galaxy = read_device("SM-G930F", fields("samsung"), CATALOGUE)
    iphone14 = read_device("iPhone 14", fields("Apple", "iPhone14,7"), CATALOGUE)
    assert galaxy is not None and iphone14 is not None
    why = mismatch(galaxy, declared("Apple", "iPhone 13"), CATALOGUE)
    assert (
        why == "the cradle read Samsung Galaxy S7 (SM-G930F); return R-1 declared Apple iPhone 13"
    )
    assert mismatch(iphone14, declared("Apple", "iPhone 13"), CATALOGUE) is not None


def test_a_reading_the_catalogue_cannot_place_is_not_taken_as_a_match() -> None:
    unknown = read_device("SM-X999", fields("samsung"), CATALOGUE)
    assert unknown is not None and not unknown.catalogued
    why = mismatch(unknown, declared("Samsung", "Galaxy S7"), CATALOGUE)
    assert why is not None and "cannot match" in why
    # a model the catalogue does not list either way matches by its name only
    fairphone = read_device("Fairphone 5", fields("Fairphone"), CATALOGUE)
    assert fairphone is not None
    assert mismatch(fairphone, declared("Fairphone", "Fairphone 5"), CATALOGUE) is None


def test_bounded_escapes_control_characters_and_cuts_long_values() -> None:
    assert bounded("35291109876543\x003") == "35291109876543\\x003"
    assert bounded("\x1b[2Jhi") == "\\x1b[2Jhi"
    long = bounded("3" * 3000, 512)
    assert len(long) == 512 and long.endswith("…(3000 characters)")
    assert bounded("Galaxy S7") == "Galaxy S7"


def test_a_reading_with_a_make_but_no_model_is_still_checked_against_the_declaration() -> None:
    """Item 11 by another path: the phone answers its manufacturer but no model (a blank
    ro.product.model, a custom ROM). A Samsung in the box of a declared iPhone is a mismatch,
    not "no model read, nothing to check" (the unit then took the declared make, Apple)."""
    read = read_device(None, fields("samsung"), CATALOGUE)
    assert read is not None and (read.make, read.model) == ("samsung", None)
    why = mismatch(read, declared("Apple", "iPhone 13"), CATALOGUE)
    assert why is not None and "samsung" in why
    # the declared make with no model read: not taken as a match either
    apple = read_device("  ", fields("Apple"), CATALOGUE)
    assert apple is not None
    assert mismatch(apple, declared("Apple", "iPhone 13"), CATALOGUE) is not None
