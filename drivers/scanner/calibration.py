"""The calibration code: every printable ASCII character, scanned once to learn the layout.

A keyboard-wedge scanner types key positions for the layout it emulates; the same key events
mean different text on another layout (" on shift+2 in the UK is @ in the US). Decoding one
scan of the calibration code with every known layout finds the one that gives the code back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from evdev import InputEvent
from evdev import ecodes as e

from drivers.scanner.decoder import DecodedLine, KeyDecoder
from drivers.scanner.layout import available_layouts, get_layout

CALIBRATION_TEXT = "".join(chr(c) for c in range(0x20, 0x7F))  # space, then ! … ~
_AIM_PREFIX = re.compile(r"\][A-Za-z][0-9A-Za-z]")


class CalibrationError(ValueError):
    """The scan is not the calibration code in any known layout; the message says why."""


def detect_layout(events: Iterable[InputEvent], layouts: Sequence[str] | None = None) -> str:
    """The name of the layout whose decoding of `events` is the calibration code.

    `events` is one scan's key events as read from the device. When several layouts fit
    (they agree on all of printable ASCII) the first by name is returned.
    """
    recorded = list(events)
    if not any(event.type == e.EV_KEY and event.value == 1 for event in recorded):
        raise CalibrationError("no key presses: scan the calibration code once")
    misfits: list[str] = []
    for name in layouts or available_layouts():
        why = _misfit(recorded, name)
        if why is None:
            return name
        misfits.append(f"{name}: {why}")
    raise CalibrationError(
        "the scan is not the calibration code in any known layout (" + "; ".join(misfits) + ")"
    )


def is_calibration(text: str) -> bool:
    """The calibration code, with or without the reader's AIM prefix."""
    if _AIM_PREFIX.match(text) and text[3:] == CALIBRATION_TEXT:
        return True
    return text == CALIBRATION_TEXT


def _misfit(events: list[InputEvent], layout_name: str) -> str | None:
    """Why these events are not the calibration code on this layout; None if they are."""
    decoder = KeyDecoder(get_layout(layout_name), terminator="enter", idle_gap=math.inf)
    lines = decoder.feed_all(events) + decoder.finish()
    reasons: list[str] = []
    for line in lines:
        if not isinstance(line, DecodedLine):
            reasons.append(line.reason)
            continue
        text = line.data.decode()
        if not text.strip():
            continue
        if is_calibration(text):
            return None
        reasons.append(_difference(text))
    return reasons[0] if reasons else "no line decoded"


def _difference(text: str) -> str:
    body = text[3:] if _AIM_PREFIX.match(text) else text
    for at, (want, got) in enumerate(zip(CALIBRATION_TEXT, body, strict=False)):
        if want != got:
            wrong = sum(w != g for w, g in zip(CALIBRATION_TEXT, body, strict=False))
            return f"{wrong} characters differ, the first at {at}: {want!r} decoded as {got!r}"
    return f"{len(body)} characters decoded, the code has {len(CALIBRATION_TEXT)}"
