"""Grading criteria and payout deltas, with expected values worked out from docs/grading.md."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stations.condition import (
    Accessories,
    BatteryBand,
    Body,
    Condition,
    DeclaredCondition,
    Function,
    Screen,
    battery_band,
    rank,
)
from stations.grading import (
    GradeFactors,
    GradingError,
    ItemDelta,
    declared_grade,
    grade,
    payout_delta,
)

D = Decimal


def seen(
    screen: str = "flawless",
    body: str = "flawless",
    battery: int = 90,
    function: str = "all_working",
    accessories: str = "complete",
) -> Condition:
    return Condition.model_validate(
        {
            "screen": screen,
            "body": body,
            "battery": battery,
            "function": function,
            "accessories": accessories,
        }
    )


@pytest.mark.parametrize(
    ("observed", "expected", "reasons"),
    [
        (seen(), "A", ("screen, body, battery and function meet grade A",)),
        (seen(body="minor_wear", battery=85, accessories="none"), "A", None),
        (seen(screen="minor_scratches"), "B", ("screen minor_scratches caps at B",)),
        (seen(battery=84), "B", ("battery 84% caps at B",)),
        (seen(battery=80), "B", ("battery 80% caps at B",)),
        (seen(battery=79), "C", ("battery 79% caps at C",)),
        (seen(screen="heavy_scratches"), "C", ("screen heavy_scratches caps at C",)),
        (seen(body="heavy_wear"), "C", ("body heavy_wear caps at C",)),
        (seen(function="minor_fault"), "C", ("function minor_fault caps at C",)),
        (seen(screen="cracked"), "D", ("screen cracked caps at D",)),
        (seen(body="damaged"), "D", ("body damaged caps at D",)),
        (seen(function="major_fault"), "D", ("function major_fault caps at D",)),
        (
            seen(function="dead", battery=0),
            "D",
            ("function dead caps at D", "battery 0% caps at C"),
        ),
        (
            seen(screen="minor_scratches", body="damaged", battery=82, function="minor_fault"),
            "D",
            (
                "body damaged caps at D",
                "function minor_fault caps at C",
                "screen minor_scratches caps at B",
                "battery 82% caps at B",
            ),
        ),
    ],
)
def test_grade_criteria(
    observed: Condition, expected: str, reasons: tuple[str, ...] | None
) -> None:
    result = grade(observed)
    assert result.grade == expected
    if reasons is not None:
        assert result.reasons == reasons


def test_accessories_do_not_change_the_grade() -> None:
    assert {grade(seen(accessories=a.value)).grade for a in Accessories} == {"A"}


def test_observed_condition_needs_every_item_and_a_percent() -> None:
    with pytest.raises(ValueError, match="accessories"):
        Condition.model_validate(
            {"screen": "flawless", "body": "flawless", "battery": 90, "function": "dead"}
        )
    with pytest.raises(ValueError, match="less than or equal to 100"):
        seen(battery=101)
    with pytest.raises(ValueError, match="valid integer"):
        Condition.model_validate({**seen().model_dump(), "battery": "good"})


def test_declared_battery_accepts_band_or_percent() -> None:
    assert DeclaredCondition.model_validate({"battery": "Good"}).battery is BatteryBand.GOOD
    assert DeclaredCondition.model_validate({"battery": 85}).battery is BatteryBand.GOOD
    assert DeclaredCondition.model_validate({"battery": "84%"}).battery is BatteryBand.FAIR
    assert DeclaredCondition.model_validate({"battery": "79"}).battery is BatteryBand.POOR
    with pytest.raises(ValueError, match="good, fair, poor"):
        DeclaredCondition.model_validate({"battery": "great"})
    with pytest.raises(ValueError, match="0-100"):
        DeclaredCondition.model_validate({"battery": -1})


def test_declared_grade_reads_unanswered_items_as_the_baseline() -> None:
    assert declared_grade(DeclaredCondition()).grade == "A"
    assert declared_grade(DeclaredCondition(battery=BatteryBand.FAIR)).grade == "B"
    assert declared_grade(DeclaredCondition(screen=Screen.CRACKED)).grade == "D"


def test_as_declared_pays_the_quote() -> None:
    declared = DeclaredCondition(
        screen=Screen.FLAWLESS,
        body=Body.MINOR_WEAR,
        battery=BatteryBand.GOOD,
        function=Function.ALL_WORKING,
        accessories=Accessories.COMPLETE,
    )
    report = payout_delta(declared, seen(body="minor_wear", battery=91), D("300.00"))
    assert not report.beyond_disclosure
    assert report.items == ()
    assert (report.declared_grade, report.observed_grade) == ("A", "A")
    assert (report.revised_payout, report.delta, report.delta_pct) == (D("300.00"), 0, 0)
    assert str(report.delta) == "0.00" and str(report.delta_pct) == "0.00"


def test_damage_beyond_disclosure_revises_the_payout() -> None:
    declared = DeclaredCondition(screen=Screen.MINOR_SCRATCHES, accessories=Accessories.COMPLETE)
    observed = seen(screen="heavy_scratches", body="minor_wear", battery=82, accessories="none")
    report = payout_delta(declared, observed, D("200.00"))
    # declared B with accessories: 0.85 * 1.00; observed C without: 0.60 * 0.95 = 0.57
    # 200.00 * 0.57 / 0.85 = 134.1176... -> 134.12
    assert report.declared_grade == "B" and report.observed_grade == "C"
    assert report.revised_payout == D("134.12")
    assert report.delta == D("-65.88")
    assert report.delta_pct == D("-32.94")
    assert report.beyond_disclosure
    assert report.items == (
        ItemDelta(item="screen", declared="minor_scratches", observed="heavy_scratches"),
        ItemDelta(item="body", declared=None, observed="minor_wear"),
        ItemDelta(item="battery", declared=None, observed="fair"),
        ItemDelta(item="accessories", declared="complete", observed="none"),
    )
    assert report.to_payload()["revised_payout"] == "134.12"


@pytest.mark.parametrize(
    ("declared", "observed_percent", "worse"),
    [
        (BatteryBand.GOOD, 85, False),
        (BatteryBand.GOOD, 84, True),
        (BatteryBand.FAIR, 80, False),
        (BatteryBand.FAIR, 99, False),
        (BatteryBand.FAIR, 79, True),
        (BatteryBand.POOR, 3, False),
        (None, 85, False),
        (None, 84, True),
    ],
)
def test_battery_is_worse_only_when_it_crosses_a_band(
    declared: BatteryBand | None, observed_percent: int, worse: bool
) -> None:
    report = payout_delta(
        DeclaredCondition(battery=declared),
        seen(battery=observed_percent, accessories="none"),
        D(100),
    )
    assert report.beyond_disclosure is worse
    assert [d.item for d in report.items] == (["battery"] if worse else [])


def test_sending_accessories_nobody_promised_does_not_lower_the_payout() -> None:
    # unanswered accessories read as "none" (0.95); arriving complete (1.00) only raises the
    # factor, and the payout is capped at the quote
    report = payout_delta(DeclaredCondition(), seen(accessories="complete"), D("70.00"))
    assert report.revised_payout == D("70.00") and not report.beyond_disclosure


def test_missing_accessories_count_only_if_declared() -> None:
    unanswered = payout_delta(DeclaredCondition(), seen(accessories="none"), D("50.00"))
    assert not unanswered.beyond_disclosure and unanswered.revised_payout == D("50.00")
    promised = payout_delta(
        DeclaredCondition(accessories=Accessories.COMPLETE), seen(accessories="partial"), D("50.00")
    )
    # grade A both; accessories 0.98 / 1.00 -> 49.00
    assert promised.items == (
        ItemDelta(item="accessories", declared="complete", observed="partial"),
    )
    assert promised.revised_payout == D("49.00") and promised.delta_pct == D("-2.00")


def test_unanswered_function_question_does_not_hide_a_dead_phone() -> None:
    observed = seen(function="dead", accessories="none")
    report = payout_delta(DeclaredCondition(screen=Screen.FLAWLESS), observed, D("400"))
    # A (1.00) declared, D (0.25) observed, no accessories either way: 400 * 0.25 = 100.00
    assert report.items == (ItemDelta(item="function", declared=None, observed="dead"),)
    assert report.revised_payout == D("100.00") and report.delta == D("-300.00")
    assert report.delta_pct == D("-75.00")


def test_better_than_declared_never_pays_more_than_the_quote() -> None:
    report = payout_delta(DeclaredCondition(screen=Screen.CRACKED), seen(), D("80.00"))
    assert report.declared_grade == "D" and report.observed_grade == "A"
    assert report.revised_payout == D("80.00") and report.delta == 0
    assert not report.beyond_disclosure


@pytest.mark.parametrize(("quote", "revised"), [("0.10", "0.08"), ("0.30", "0.26")])
def test_cents_round_half_even(quote: str, revised: str) -> None:
    # A -> B at 0.85: 0.085 rounds to 0.08 and 0.255 to 0.26 (half to even)
    report = payout_delta(
        DeclaredCondition(), seen(screen="minor_scratches", accessories="none"), D(quote)
    )
    assert report.revised_payout == D(revised)


def test_zero_quote_and_bad_quotes() -> None:
    report = payout_delta(DeclaredCondition(), seen(function="dead"), D(0))
    assert (report.revised_payout, report.delta, report.delta_pct) == (0, 0, 0)
    for bad in ("-1", "1.005", "NaN"):
        with pytest.raises(ValueError, match="non-negative amount in cents"):
            payout_delta(DeclaredCondition(), seen(), D(bad))


def test_factors_ship_as_data_and_can_be_overridden(tmp_path: Path) -> None:
    shipped = GradeFactors()
    assert shipped == GradeFactors.builtin()
    assert shipped.grade == {"A": D("1.00"), "B": D("0.85"), "C": D("0.60"), "D": D("0.25")}
    path = tmp_path / "grading.toml"
    path.write_text("[grade]\nB = 0.80\n", encoding="utf-8")
    custom = GradeFactors.load(path)
    assert custom.grade["B"] == D("0.80") and custom.grade["C"] == D("0.60")
    report = payout_delta(
        DeclaredCondition(), seen(battery=81, accessories="none"), D("100.00"), custom
    )
    assert report.revised_payout == D("80.00")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[grade\n", "is not valid TOML"),
        ("[grade]\nC = 0.90\n", r"\[grade\] C \(0.90\) pays more than B \(0.85\)"),
        (
            "[accessories]\nnone = 1.5\n",
            "accessories.none: Input should be less than or equal to 1",
        ),
        ("[grade]\nD = 0\n", "grade.D: Input should be greater than 0"),
        ("[grade]\nE = 0.1\n", "grade.E"),
        ("[bonus]\nA = 1\n", r"unknown section\(s\) bonus"),
    ],
)
def test_bad_factor_files(text: str, message: str) -> None:
    with pytest.raises(GradingError, match=message):
        GradeFactors.parse(text, "f.toml", base=GradeFactors())


def test_a_standalone_factor_file_must_be_complete() -> None:
    with pytest.raises(GradingError, match=r"\[grade\] has no factor for B, C, D"):
        GradeFactors.parse(
            "[grade]\nA = 1\n[accessories]\ncomplete = 1\npartial = 1\nnone = 1\n", "f"
        )


# --- properties -------------------------------------------------------------------------

conditions = st.builds(
    Condition,
    screen=st.sampled_from(Screen),
    body=st.sampled_from(Body),
    battery=st.integers(min_value=0, max_value=100),
    function=st.sampled_from(Function),
    accessories=st.sampled_from(Accessories),
)
declarations = st.builds(
    DeclaredCondition,
    screen=st.none() | st.sampled_from(Screen),
    body=st.none() | st.sampled_from(Body),
    battery=st.none() | st.sampled_from(BatteryBand),
    function=st.none() | st.sampled_from(Function),
    accessories=st.none() | st.sampled_from(Accessories),
)
quotes = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)
GRADE_ORDER = "ABCD"


def worse_values(value: Screen | Body | Function | Accessories) -> list[object]:
    return list(type(value))[rank(value) + 1 :]


@given(conditions, st.data())
def test_worsening_any_item_never_improves_the_grade(
    observed: Condition, data: st.DataObject
) -> None:
    item = data.draw(st.sampled_from(["screen", "body", "battery", "function", "accessories"]))
    if item == "battery":
        worse: object = data.draw(st.integers(min_value=0, max_value=observed.battery))
    else:
        options = worse_values(getattr(observed, item))
        if not options:
            return
        worse = data.draw(st.sampled_from(options))
    worsened = observed.model_copy(update={item: worse})
    assert GRADE_ORDER.index(grade(worsened).grade) >= GRADE_ORDER.index(grade(observed).grade)


@given(declarations, conditions, quotes)
def test_revised_payout_never_exceeds_the_quote(
    declared: DeclaredCondition, observed: Condition, quote: Decimal
) -> None:
    report = payout_delta(declared, observed, quote)
    assert D(0) <= report.revised_payout <= quote
    assert report.delta == report.revised_payout - quote <= 0
    assert report.delta_pct <= 0
    assert report.revised_payout == report.revised_payout.quantize(D("0.01"))
    if not report.beyond_disclosure:
        assert report.revised_payout == quote


@given(conditions, quotes)
def test_declaring_exactly_what_arrives_pays_the_quote(observed: Condition, quote: Decimal) -> None:
    declared = DeclaredCondition(
        screen=observed.screen,
        body=observed.body,
        battery=battery_band(observed.battery),
        function=observed.function,
        accessories=observed.accessories,
    )
    report = payout_delta(declared, observed, quote)
    assert report.items == () and report.revised_payout == quote
    assert report.declared_grade == report.observed_grade
