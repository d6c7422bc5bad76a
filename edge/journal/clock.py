"""Is the wall clock trustworthy? The kernel's NTP state (adjtimex), plus a sanity floor."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
from datetime import UTC, datetime
from enum import StrEnum

log = logging.getLogger(__name__)

TIME_ERROR = 5  # adjtimex return value: clock not synchronised
STA_UNSYNC = 0x0040  # timex.status bit: clock not synchronised
# A Raspberry Pi has no RTC: before NTP it may boot in 1970 or at the last shutdown time.
# No real event of this project predates this instant.
EARLIEST_PLAUSIBLE = datetime(2026, 1, 1, tzinfo=UTC)


class ClockState(StrEnum):
    SYNCED = "synced"
    UNSYNCED = "unsynced"


class _Timex(ctypes.Structure):
    # struct timex up to `status`; the rest is padding so the kernel may write the whole struct.
    _fields_ = (
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("_rest", ctypes.c_byte * 256),
    )


def clock_state_from(adjtimex_result: int, status: int, now: datetime) -> ClockState:
    """Pure decision: synced only if the kernel says so and the time is plausible."""
    if adjtimex_result < 0 or adjtimex_result == TIME_ERROR or status & STA_UNSYNC:
        return ClockState.UNSYNCED
    if now < EARLIEST_PLAUSIBLE:
        return ClockState.UNSYNCED
    return ClockState.SYNCED


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name, use_errno=True) if name else None
    except OSError:
        return None


def read_kernel_clock() -> tuple[int, int] | None:
    """(adjtimex return value, timex.status) with modes=0 (read only), or None off Linux."""
    libc = _libc()
    if libc is None:
        return None
    try:
        timex = _Timex()
        result = int(libc.adjtimex(ctypes.byref(timex)))
    except (OSError, AttributeError):
        return None
    return result, int(timex.status)


def clock_state(now: datetime) -> ClockState:
    reading = read_kernel_clock()
    if reading is None:
        log.debug("clock state unknown: no adjtimex on this platform")
        return ClockState.UNSYNCED
    return clock_state_from(reading[0], reading[1], now)
