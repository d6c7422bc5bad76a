"""Which process may publish for which device slot: the rule the broker's ACL is rendered from."""

from __future__ import annotations

import pytest

from drivers.hosting import hosted_slots, slot_publishes
from drivers.profile import ProfileError, parse_profile
from drivers.registry import UnknownDriverError

# One slot of every kind, and a disabled one no process hosts.
EVERY_KIND = {
    "station": {"site": "ams-1", "station": "dock-1"},
    "devices": {
        "dock-scale": {"kind": "scale", "path": "/dev/null"},
        "dock-scanner": {"kind": "scanner", "path": "/dev/null"},
        "dock-camera": {"kind": "camera", "source": "/dev/null"},
        "bench-cradle": {"kind": "cradle"},
        "spare-scale": {"kind": "scale", "path": "/dev/null", "enabled": False},
    },
}


def test_cameras_go_to_the_camera_process_the_rest_to_drivers() -> None:
    station = parse_profile(EVERY_KIND)
    assert hosted_slots(station) == {
        "drivers": ("proc-drivers", "dock-scale", "dock-scanner", "bench-cradle"),
        "camera": ("proc-camera", "dock-camera"),
    }


@pytest.mark.parametrize(
    ("devices", "error", "names"),
    [
        ({"x": {"kind": "teleporter"}}, UnknownDriverError, "teleporter"),
        ({"proc-x": {"kind": "scale", "path": "/dev/null"}}, ProfileError, "proc-x"),
    ],
)
def test_a_slot_no_process_can_host_is_refused(
    devices: dict[str, dict[str, object]], error: type[Exception], names: str
) -> None:
    station = parse_profile({"station": {"site": "ams-1", "station": "dock-1"}, "devices": devices})
    with pytest.raises(error, match=names):
        hosted_slots(station)


def test_each_slot_publishes_only_what_its_kind_does() -> None:
    """The ACL's per-topic half: a camera's slot cannot carry a weight, a process's own slot
    nothing but its status (issue 14, item 2, through a process's own slots)."""
    station = parse_profile(EVERY_KIND)
    assert slot_publishes(station) == {
        "proc-drivers": (),
        "proc-camera": (),
        "dock-scale": ("weight",),
        "dock-scanner": ("scan",),
        "dock-camera": ("scan", "photo"),
        "bench-cradle": ("diag",),
    }
