"""Clock state: synced only when the kernel says so and the time is plausible."""

from __future__ import annotations

from datetime import UTC, datetime

from edge.journal.clock import (
    STA_UNSYNC,
    TIME_ERROR,
    ClockState,
    clock_state_from,
    read_kernel_clock,
)

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
TIME_OK = 0


def test_kernel_synchronised_and_plausible_time_is_synced() -> None:
    assert clock_state_from(TIME_OK, 0x2001, NOW) is ClockState.SYNCED


def test_kernel_unsynchronised_is_unsynced() -> None:
    assert clock_state_from(TIME_ERROR, 0, NOW) is ClockState.UNSYNCED
    assert clock_state_from(TIME_OK, STA_UNSYNC, NOW) is ClockState.UNSYNCED
    assert clock_state_from(-1, 0, NOW) is ClockState.UNSYNCED


def test_a_pi_that_booted_in_1970_is_unsynced_whatever_the_kernel_says() -> None:
    assert clock_state_from(TIME_OK, 0, datetime(1970, 1, 1, tzinfo=UTC)) is ClockState.UNSYNCED


def test_the_kernel_answers_on_linux() -> None:
    reading = read_kernel_clock()
    assert reading is not None
    result, _status = reading
    assert 0 <= result <= 5  # TIME_OK .. TIME_ERROR
