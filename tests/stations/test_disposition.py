"""Disposition rules: the shipped rules, the resale guard no rules file can lift, and every
way a rules or demand file is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stations.condition import Body, Function, Screen
from stations.disposition import DemandList, RulesError, RuleSet, UnitFacts, decide

BUILTIN = RuleSet.builtin()
GUARD_REASON_LOCKED = (
    "resale needs erasure verified and lock clear; this unit has erasure verified, lock locked"
)


def facts(**overrides: Any) -> UnitFacts:
    values: dict[str, Any] = {
        "grade": "A",
        "screen": "flawless",
        "body": "flawless",
        "function": "all_working",
        "battery_health": 90,
        "lock": "clear",
        "erasure": "verified",
        "demand": "normal",
        "make": "Apple",
        "model": "iPhone 13",
    }
    values.update(overrides)
    return UnitFacts.model_validate(values)


@pytest.mark.parametrize(
    ("overrides", "route", "rule"),
    [
        ({}, "resale-a", "grade-a-resale"),
        ({"demand": "high"}, "resale-a", "grade-a-resale"),
        ({"demand": "low"}, "resale-b", "grade-a-low-demand"),
        (
            {"grade": "B", "screen": "minor_scratches", "demand": "low"},
            "resale-b",
            "grade-b-resale",
        ),
        ({"erasure": "not_run"}, "hold", "awaiting-erasure"),
        ({"lock": "unknown"}, "hold", "awaiting-lock-check"),
        ({"lock": "locked"}, "hold", "account-locked"),
        ({"erasure": "failed"}, "hold", "erasure-failed"),
        ({"grade": "C", "battery_health": 75}, "refurbish", "battery-refurb"),
        (
            {"grade": "C", "screen": "heavy_scratches", "function": "minor_fault"},
            "refurbish",
            "cosmetic-refurb",
        ),
        (
            {"grade": "D", "screen": "cracked", "body": "minor_wear", "demand": "high"},
            "refurbish",
            "cracked-screen-refurb",
        ),
        ({"grade": "D", "screen": "cracked"}, "parts", "parts-harvest"),
        (
            {"grade": "D", "function": "dead", "lock": "locked", "demand": "high"},
            "parts",
            "parts-harvest",
        ),
        ({"grade": "D", "function": "dead", "demand": "low"}, "recycle", "recycle"),
        ({"grade": "C", "screen": "heavy_scratches", "demand": "low"}, "recycle", "recycle"),
    ],
)
def test_shipped_rules(overrides: dict[str, Any], route: str, rule: str) -> None:
    decision = decide(BUILTIN, facts(**overrides))
    assert (decision.route, decision.rule_name) == (route, rule)


def test_decision_records_exactly_what_the_rule_looked_at() -> None:
    decision = decide(BUILTIN, facts(demand="high"))
    assert decision.seen == {"grade": "A", "demand": "high", "erasure": "verified", "lock": "clear"}
    assert decision.checklist == ()
    assert decision.skipped == ()
    assert decision.explanation == (
        "rule 'grade-a-resale' → resale-a: grade A in [A]; demand high in [high, normal]; "
        "guard passed: erasure verified, lock clear"
    )
    assert decision.rules_source == "stations/data/disposition.toml"
    assert len(decision.rules_digest) == 64


def test_battery_bounds_are_recorded_as_battery_health() -> None:
    decision = decide(BUILTIN, facts(grade="C", battery_health=75))
    assert decision.seen == {
        "grade": "C",
        "screen": "flawless",
        "body": "flawless",
        "function": "all_working",
        "battery_health": 75,
        "erasure": "verified",
        "lock": "clear",
    }
    assert decision.checklist[0] == "replace battery"


def test_guard_skip_is_recorded_and_evaluation_goes_on() -> None:
    decision = decide(BUILTIN, facts(erasure="not_run"))
    reason = (
        "resale needs erasure verified and lock clear; this unit has erasure not_run, lock clear"
    )
    assert decision.skipped == (("grade-a-resale", reason),)
    assert decision.explanation.startswith(
        f"skipped 'grade-a-resale' ({reason}); rule 'awaiting-erasure'"
    )
    assert decision.checklist == ("run erasure and record the certificate",)


SELL_EVERYTHING = """
[[rule]]
name = "sell-everything"
route = "resale-a"
"""


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"lock": "locked"}, GUARD_REASON_LOCKED),
        (
            {"lock": "unknown"},
            "resale needs erasure verified and lock clear; "
            "this unit has erasure verified, lock unknown",
        ),
        (
            {"erasure": "not_run"},
            "resale needs erasure verified and lock clear; "
            "this unit has erasure not_run, lock clear",
        ),
        (
            {"erasure": "failed", "lock": "locked"},
            "resale needs erasure verified and lock clear; "
            "this unit has erasure failed, lock locked",
        ),
    ],
)
def test_a_rules_file_cannot_resell_an_unerased_or_locked_unit(
    overrides: dict[str, Any], reason: str
) -> None:
    rules = RuleSet.parse(SELL_EVERYTHING, "sell.toml")
    decision = decide(rules, facts(**overrides))
    assert decision.route == "hold"
    assert decision.rule_name is None
    assert decision.skipped == (("sell-everything", reason),)
    assert decision.explanation == (
        f"skipped 'sell-everything' ({reason}); no rule matched: hold for a person to decide"
    )
    # With no rule fired, every fact is recorded.
    assert set(decision.seen) == set(UnitFacts.model_fields)


def test_the_same_rules_do_resell_an_erased_unlocked_unit() -> None:
    decision = decide(
        RuleSet.parse(SELL_EVERYTHING, "sell.toml"), facts(grade="D", function="dead")
    )
    assert (decision.route, decision.rule_name) == ("resale-a", "sell-everything")
    assert decision.seen == {"erasure": "verified", "lock": "clear"}


def test_a_guarded_unit_falls_through_to_the_next_rule() -> None:
    text = SELL_EVERYTHING + '[[rule]]\nname = "else-parts"\nroute = "parts"\n'
    decision = decide(RuleSet.parse(text, "r.toml"), facts(lock="locked"))
    assert (decision.route, decision.rule_name) == ("parts", "else-parts")
    assert decision.skipped == (("sell-everything", GUARD_REASON_LOCKED),)


def test_battery_bounds_and_unknown_battery() -> None:
    text = """
[[rule]]
name = "healthy"
route = "recycle"
when.battery_health_min = 80
when.battery_health_max = 90
"""
    rules = RuleSet.parse(text, "r.toml")
    assert decide(rules, facts(battery_health=80)).rule_name == "healthy"
    assert decide(rules, facts(battery_health=90)).rule_name == "healthy"
    assert decide(rules, facts(battery_health=79)).route == "hold"
    assert decide(rules, facts(battery_health=91)).route == "hold"
    # An unknown battery satisfies no bound.
    assert decide(rules, facts(battery_health=None)).route == "hold"


def test_make_and_model_match_ignoring_case_and_spacing() -> None:
    text = """
[[rule]]
name = "iphones-to-parts"
route = "parts"
when.make = ["APPLE"]
when.model = ["iphone13", "iPhone 14"]
"""
    rules = RuleSet.parse(text, "r.toml")
    assert decide(rules, facts(make="Apple", model="iPhone 13")).route == "parts"
    assert decide(rules, facts(make="Apple", model="iPhone 15")).route == "hold"
    assert decide(rules, facts(make="Google", model="iPhone 13")).route == "hold"


def test_rules_as_a_sub_table_and_a_single_value_work_too(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rule]]\nname = "r"\nroute = "parts"\n[rule.when]\ngrade = "D"\n', encoding="utf-8"
    )
    rules = RuleSet.load(path)
    assert rules.source == str(path)
    assert decide(rules, facts(grade="D", screen="cracked")).rule_name == "r"


def test_load_without_a_path_is_the_shipped_rules() -> None:
    assert RuleSet.load(None) is RuleSet.builtin()


def test_decision_is_plain_json() -> None:
    decision = decide(BUILTIN, facts(erasure="not_run"))
    again = json.loads(json.dumps(decision.model_dump(mode="json")))
    assert again["route"] == "hold"
    assert again["skipped"] == [["grade-a-resale", decision.skipped[0][1]]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[rule]\n", r"^r\.toml is not valid TOML"),
        ("", r"^r\.toml: no rules; add at least one \[\[rule\]\]"),
        ("rule = []\n", "no rules"),
        (
            '[settings]\nx = 1\n[[rule]]\nname = "a"\nroute = "parts"\n',
            r"unknown key\(s\) settings",
        ),
        (
            '\n[[rule]]\nname = "by-colour"\nroute = "parts"\nwhen.colour = ["red"]\n',
            r"^r\.toml: rule 1 'by-colour' \(line 2\): when: unknown condition key\(s\) 'colour'; "
            "known: grade, screen",
        ),
        (
            '[[rule]]\nname = "ebay"\nroute = "ebay"\n',
            r"rule 1 'ebay' \(line 1\): route: unknown route 'ebay'; routes: resale-a, resale-b",
        ),
        (
            '[[rule]]\nname = "e"\nroute = "parts"\nwhen.grade = ["E"]\n',
            r"rule 1 'e' \(line 1\): when\.grade\.0: Input should be 'A', 'B', 'C' or 'D'",
        ),
        (
            '[[rule]]\nname = "s"\nroute = "parts"\nwhen.screen = ["smashed"]\n',
            r"when\.screen\.0: Input should be 'flawless'",
        ),
        (
            '[[rule]]\nname = "e"\nroute = "parts"\nwhen.grade = []\n',
            "when: grade: an empty list never matches",
        ),
        (
            '[[rule]]\nname = "fix"\nroute = "refurbish"\n',
            r"rule 1 'fix' \(line 1\): a refurbish rule needs a checklist",
        ),
        (
            '[[rule]]\nname = "b"\nroute = "parts"\nwhen.battery_health_min = 90\n'
            "when.battery_health_max = 80\n",
            "battery_health_min 90 is above battery_health_max 80",
        ),
        ('[[rule]]\nname = "p"\nroute = "parts"\npriority = 1\n', "priority: Extra inputs"),
        ('[[rule]]\nname = "has space"\nroute = "parts"\n', "name: String should match pattern"),
        (
            '[[rule]]\nname = "a"\nroute = "parts"\n[[rule]]\nname = "a"\nroute = "recycle"\n',
            r"rule 2 'a' \(line 4\): name already used by rule 1",
        ),
    ],
)
def test_bad_rules_files_name_the_file_and_rule(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        RuleSet.parse(text, "r.toml")


def test_every_bad_rule_is_listed() -> None:
    text = (
        '[[rule]]\nname = "one"\nroute = "ebay"\n'
        '[[rule]]\nname = "two"\nroute = "parts"\nwhen.grade = ["Z"]\n'
    )
    with pytest.raises(RulesError) as exc:
        RuleSet.parse(text, "r.toml")
    assert "rule 1 'one' (line 1): route" in str(exc.value)
    assert "rule 2 'two' (line 4): when.grade.0" in str(exc.value)


def test_unreadable_rules_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read rules file"):
        RuleSet.load(tmp_path / "missing.toml")


def test_shipped_demand_list() -> None:
    demand = DemandList.builtin()
    assert demand.demand_for("Apple", "iPhone 15 Pro") == "high"
    assert demand.demand_for("apple", "IPHONE 11") == "low"
    assert demand.demand_for("Samsung", "Galaxy A54") == "normal"
    assert demand.demand_for("Nokia", "3310") == "normal"
    assert DemandList.load(None) is demand


def test_an_operators_demand_list_replaces_the_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "demand.toml"
    path.write_text('default = "low"\n[models.Nokia]\n"3310" = "high"\n', encoding="utf-8")
    demand = DemandList.load(path)
    assert demand.demand_for("nokia", "3310") == "high"
    assert demand.demand_for("Apple", "iPhone 15 Pro") == "low"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('default = "medium"\n', "default 'medium' is not one of high, normal, low"),
        ('[models.Apple]\n"iPhone 13" = "hot"\n', r"\[models.Apple\] 'iPhone 13' = 'hot'"),
        ('[models.Apple]\n"iPhone 13" = "high"\n"IPHONE13" = "low"\n', "listed twice"),
        ("[brands]\n", r"unknown key\(s\) brands"),
        ('models = "all"\n', r"tables \[models.<make>\]"),
        ("default = \n", "not valid TOML"),
    ],
)
def test_bad_demand_files(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        DemandList.parse(text, "demand.toml")


unit_facts = st.builds(
    UnitFacts,
    grade=st.sampled_from(["A", "B", "C", "D"]),
    screen=st.sampled_from(Screen),
    body=st.sampled_from(Body),
    function=st.sampled_from(Function),
    battery_health=st.none() | st.integers(min_value=0, max_value=100),
    lock=st.sampled_from(["clear", "locked", "unknown"]),
    erasure=st.sampled_from(["verified", "failed", "not_run"]),
    demand=st.sampled_from(["high", "normal", "low"]),
    make=st.sampled_from(["Apple", "Google"]),
    model=st.sampled_from(["iPhone 13", "Pixel 8"]),
)


@given(unit_facts, st.sampled_from([BUILTIN, RuleSet.parse(SELL_EVERYTHING, "sell.toml")]))
def test_resale_only_ever_for_erased_unlocked_units(unit: UnitFacts, rules: RuleSet) -> None:
    decision = decide(rules, unit)
    if decision.route in ("resale-a", "resale-b"):
        assert unit.erasure == "verified" and unit.lock == "clear"
        assert decision.seen["erasure"] == "verified" and decision.seen["lock"] == "clear"
    assert decision.route in ("resale-a", "resale-b", "refurbish", "parts", "recycle", "hold")
    assert decision.explanation


@given(unit_facts)
def test_shipped_rules_always_decide(unit: UnitFacts) -> None:
    # The shipped file ends in a catch-all, so the fallback hold is never reached.
    assert decide(BUILTIN, unit).rule_name is not None
