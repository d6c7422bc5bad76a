"""Four eyes on money (pure): who may resolve an exception whose kind changes the payout."""

from __future__ import annotations

import pytest

from stations.exception_kinds import kind, payout_kinds
from stations.resolution import decide_resolve
from stations.workflow import ExceptionView, ResolveInput, WorkflowRefused
from tests.stations.fake_lookup import FakeLookup


def lookup_with(kind_name: str, raised_by: str) -> FakeLookup:
    exception = ExceptionView(7, kind_name, "U-1", "…", "open", operator=raised_by)
    return FakeLookup(exceptions={7: exception})


def resolve(operator: str, role: str) -> ResolveInput:
    return ResolveInput(7, "accept", "customer agreed to the revised offer", operator, role)


def test_payout_is_a_property_of_the_kind() -> None:
    assert payout_kinds() == (
        "damage_beyond_disclosure",
        "device_mismatch",
        "imei_invalid",
        "imei_mismatch",
    )
    assert not kind("weight_out_of_band").changes_payout
    assert not kind("a_kind_nobody_declared").changes_payout


@pytest.mark.parametrize("kind_name", payout_kinds())
@pytest.mark.parametrize(
    ("operator", "role", "why"),
    [
        ("tom", "technician", "raised by you"),  # the technician who raised it
        ("ada", "admin", "raised by you"),  # an admin who raised it herself
        ("tia", "technician", "only someone with the admin role"),  # another technician
        ("olga", "operator", "only someone with the admin role"),
        ("eve", "", "only someone with the admin role"),  # no role said: never enough
    ],
)
def test_payout_exceptions_need_a_second_person_with_the_admin_role(
    kind_name: str, operator: str, role: str, why: str
) -> None:
    raised_by = operator if why == "raised by you" else "tom"
    with pytest.raises(WorkflowRefused) as refused:
        decide_resolve(resolve(operator, role), lookup_with(kind_name, raised_by))
    assert refused.value.status == 403 and refused.value.code == "four_eyes"
    assert why in refused.value.message and "admin" in refused.value.message
    assert kind_name in refused.value.message


def test_another_admin_resolves_a_payout_exception() -> None:
    out = decide_resolve(resolve("ada", "admin"), lookup_with("damage_beyond_disclosure", "tom"))
    assert [e.operator for e in out.events] == ["ada"]
    assert out.events[0].payload["resolution"] == "accept"


def test_other_exceptions_stay_with_the_technician_who_raised_them() -> None:
    out = decide_resolve(resolve("tom", "technician"), lookup_with("weight_out_of_band", "tom"))
    assert out.events[0].payload["exception"] == "weight_out_of_band"
