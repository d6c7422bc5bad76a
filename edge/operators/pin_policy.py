"""The rule a new PIN must meet: 4 to 12 keypad digits, and not one of the PINs tried first.

Refused, each with its own reason: one repeated digit; digits counting up or down by one, 9 and 0
being neighbours (`8901`, `2109`); a short group repeated (`1212`, `6969`, `123123`); straight
lines on a keypad, phone (1 on top) or calculator (7 on top) layout, 0 taken as the bottom of
every column (`2580`, `1470`, `0852`, `147258369`); and the most common PINs not already covered
(`1004`, `2000`, `1122`, …: DataGenetics' analysis of leaked 4-digit PINs). A message never
repeats the PIN.
"""

from __future__ import annotations

import itertools

from edge.operators.errors import PinPolicyError

MIN_PIN_LENGTH = 4
MAX_PIN_LENGTH = 12

_ROWS = ("123", "456", "789")
_COLUMNS = ("147", "258", "369", "1470", "2580", "3690", "7410", "8520", "9630")
_DIAGONALS = ("159", "357")
KEYPAD_LINES = frozenset(
    line for forward in (*_ROWS, *_COLUMNS, *_DIAGONALS) for line in (forward, forward[::-1])
)
COMMON_PINS = frozenset({"1004", "1122", "1313", "1357", "2000", "2001", "2468", "5683", "8642"})


def check_pin_policy(pin: str) -> None:
    """Refuse a new PIN that is not 4–12 digits or is easy to guess, saying why."""
    if not MIN_PIN_LENGTH <= len(pin) <= MAX_PIN_LENGTH:
        raise PinPolicyError(
            f"a PIN is {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH} digits; this one has {len(pin)} "
            "characters"
        )
    if not (pin.isascii() and pin.isdigit()):
        raise PinPolicyError("a PIN is digits only (0-9), so it can be typed on a keypad")
    if len(set(pin)) == 1:
        raise PinPolicyError("a PIN of one repeated digit is too easy to guess")
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}
    if steps in ({1}, {9}):
        raise PinPolicyError("a PIN counting up or down by one (0 follows 9) is too easy to guess")
    if _is_repeated_group(pin):
        raise PinPolicyError("a PIN of one group repeated (like 12-12) is too easy to guess")
    if _is_keypad_lines(pin):
        raise PinPolicyError("a PIN along keypad lines (like 2-5-8-0) is too easy to guess")
    if pin in COMMON_PINS:
        raise PinPolicyError("this PIN is among the most commonly chosen ones; choose another")


def _is_repeated_group(pin: str) -> bool:
    return any(
        len(pin) % size == 0 and pin == pin[:size] * (len(pin) // size)
        for size in range(1, len(pin) // 2 + 1)
    )


def _is_keypad_lines(pin: str) -> bool:
    """Whether `pin` is one or more whole keypad lines end to end."""
    return any(
        pin[:size] in KEYPAD_LINES and (size == len(pin) or _is_keypad_lines(pin[size:]))
        for size in range(3, len(pin) + 1)
    )
