"""The key-stream simulator sends what a HID keyboard sends, with scanner or human timing."""

from __future__ import annotations

import itertools

import pytest
from evdev import ecodes as e

from drivers.sim.keystreams import KeyStream, ReplayDevice, scan


def test_every_key_change_is_a_report_with_a_scan_code() -> None:
    events = scan("aB", "us")
    keys = [i for i, ev in enumerate(events) if ev.type == e.EV_KEY]
    for i in keys:
        assert events[i - 1].type == e.EV_MSC and events[i - 1].code == e.MSC_SCAN
        assert events[i + 1].type == e.EV_SYN and events[i + 1].code == e.SYN_REPORT
    pressed = [(events[i].code, events[i].value) for i in keys]
    assert pressed == [
        (e.KEY_A, 1),
        (e.KEY_A, 0),
        (e.KEY_LEFTSHIFT, 1),
        (e.KEY_B, 1),
        (e.KEY_B, 0),
        (e.KEY_LEFTSHIFT, 0),
        (e.KEY_ENTER, 1),
        (e.KEY_ENTER, 0),
    ]
    assert events[keys[0] - 1].value == 0x70004  # HID usage of the A key


def _report_gaps(stream: KeyStream) -> list[float]:
    times = sorted({ev.timestamp() for ev in stream.events})
    return [b - a for a, b in itertools.pairwise(times)]


def test_scanner_timing_is_one_to_four_ms_per_report() -> None:
    gaps = _report_gaps(KeyStream("us", "scanner", seed=3).type("0123456789"))
    assert all(0.001 <= gap <= 0.0041 for gap in gaps)


def test_human_timing_is_tens_to_hundreds_of_ms() -> None:
    gaps = _report_gaps(KeyStream("us", "human", seed=3).type("0123456789"))
    assert all(0.04 <= gap <= 0.31 for gap in gaps)
    assert max(gaps) - min(gaps) > 0.05  # uneven


def test_alt_keypad_code_is_alt_held_around_keypad_digits() -> None:
    events = KeyStream("us").alt_code("029").events
    keys = [(ev.code, ev.value) for ev in events if ev.type == e.EV_KEY]
    assert keys == [
        (e.KEY_LEFTALT, 1),
        (e.KEY_KP0, 1),
        (e.KEY_KP0, 0),
        (e.KEY_KP2, 1),
        (e.KEY_KP2, 0),
        (e.KEY_KP9, 1),
        (e.KEY_KP9, 0),
        (e.KEY_LEFTALT, 0),
    ]


def test_syn_dropped_is_injected_before_a_report_boundary() -> None:
    events = KeyStream("us").syn_dropped().events
    assert (events[0].type, events[0].code) == (e.EV_SYN, e.SYN_DROPPED)
    assert (events[-1].type, events[-1].code) == (e.EV_SYN, e.SYN_REPORT)


def test_a_character_the_layout_cannot_type_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be typed"):
        scan("ß", "us")
    assert scan("ß", "de")  # but the German layout has it


def test_replay_device_is_readable_while_events_are_queued_and_fails_once_unplugged() -> None:
    device = ReplayDevice()
    with pytest.raises(BlockingIOError):
        list(device.read())
    device.send(scan("a"))
    assert [ev.code for ev in device.read() if ev.type == e.EV_KEY][:1] == [e.KEY_A]
    device.unplug()
    with pytest.raises(OSError, match="No such device"):
        list(device.read())
    assert device.reads == 3
    device.close()
