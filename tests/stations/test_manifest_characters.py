"""The manifest takes the one rule for control characters (edge/characters.py, issue 14.8):
C1 controls are refused as C0 ones are, and a label code keeps GS1 separators as a scan does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stations.manifest import ManifestError, parse_manifest
from tests.stations.test_manifest import CATALOGUE, json_record


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"label_codes": ["1Z999\u009b2J"]}, "label_codes", "control character 0x9b"),
        ({"make": "Apple\x1b[2J"}, "make", "control character 0x1b (ESC)"),
        ({"model": "iPhone\u008513"}, "model", "control character 0x85"),
        ({"customer_ref": "C-\x1d77"}, "customer_ref", "control character 0x1d"),
    ],
    ids=["label-c1", "make-escape", "model-c1", "text-gs"],
)
def test_control_characters_are_refused_by_the_shared_rule(
    overrides: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(ManifestError) as refused:
        parse_manifest(json.dumps([json_record(**overrides)]).encode(), "json", CATALOGUE)
    (problem,) = refused.value.problems
    assert problem.field == field and reason in problem.reason


def test_a_gs1_label_code_keeps_its_separators() -> None:
    label = "]d20109501234567891\x1d10LOT42"
    [record] = parse_manifest(
        json.dumps([json_record(label_codes=[label])]).encode(), "json", CATALOGUE
    )
    assert record.label_codes == (label,)
