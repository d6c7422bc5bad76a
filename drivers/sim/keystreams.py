"""Recorded evdev key streams, as a USB keyboard (or a scanner emulating one) sends them.

`KeyStream` types text on a layout the way the device would: per HID report an EV_MSC scan
code, the EV_KEY change and an EV_SYN report, with scanner timing (1–4 ms per report) or a
person's (80–300 ms between keys, uneven). It works from the layout tables only, not from the
decoder. `ReplayDevice` stands in for `evdev.InputDevice`: a real pipe descriptor that the event
loop watches, readable while events are queued, failing with ENODEV once unplugged.
"""

from __future__ import annotations

import errno
import os
import random
import unicodedata
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from evdev import InputEvent
from evdev import ecodes as e

from drivers.scanner.layout import LEVELS, Layout, Level, get_layout

Timing = Literal["scanner", "human"]
Suffix = Literal["enter", "kpenter", "tab"] | None
ControlStyle = Literal["ctrl", "alt-keypad"]

# evdev key → USB HID usage (page 7), what real keyboards report as EV_MSC/MSC_SCAN.
_HID_USAGE: dict[int, int] = {
    **{code: 0x04 + i for i, code in enumerate(getattr(e, f"KEY_{c}") for c in "ABCDEFGHIJKLM")},
    **{code: 0x11 + i for i, code in enumerate(getattr(e, f"KEY_{c}") for c in "NOPQRSTUVWXYZ")},
    **{getattr(e, f"KEY_{d}"): 0x1E + i for i, d in enumerate("1234567890")},
    e.KEY_ENTER: 0x28,
    e.KEY_ESC: 0x29,
    e.KEY_BACKSPACE: 0x2A,
    e.KEY_TAB: 0x2B,
    e.KEY_SPACE: 0x2C,
    e.KEY_MINUS: 0x2D,
    e.KEY_EQUAL: 0x2E,
    e.KEY_LEFTBRACE: 0x2F,
    e.KEY_RIGHTBRACE: 0x30,
    e.KEY_BACKSLASH: 0x31,
    e.KEY_SEMICOLON: 0x33,
    e.KEY_APOSTROPHE: 0x34,
    e.KEY_GRAVE: 0x35,
    e.KEY_COMMA: 0x36,
    e.KEY_DOT: 0x37,
    e.KEY_SLASH: 0x38,
    e.KEY_CAPSLOCK: 0x39,
    e.KEY_KPSLASH: 0x54,
    e.KEY_KPASTERISK: 0x55,
    e.KEY_KPMINUS: 0x56,
    e.KEY_KPPLUS: 0x57,
    e.KEY_KPENTER: 0x58,
    **{getattr(e, f"KEY_KP{d}"): 0x59 + i for i, d in enumerate("123456789")},
    e.KEY_KP0: 0x62,
    e.KEY_KPDOT: 0x63,
    e.KEY_102ND: 0x64,
    e.KEY_LEFTCTRL: 0xE0,
    e.KEY_LEFTSHIFT: 0xE1,
    e.KEY_LEFTALT: 0xE2,
    e.KEY_LEFTMETA: 0xE3,
    e.KEY_RIGHTCTRL: 0xE4,
    e.KEY_RIGHTSHIFT: 0xE5,
    e.KEY_RIGHTALT: 0xE6,
}
_LEVEL_MODIFIERS: dict[Level, tuple[int, ...]] = {
    "plain": (),
    "shift": (e.KEY_LEFTSHIFT,),
    "altgr": (e.KEY_RIGHTALT,),
    "shift_altgr": (e.KEY_RIGHTALT, e.KEY_LEFTSHIFT),
}
_SUFFIX_KEYS = {"enter": e.KEY_ENTER, "kpenter": e.KEY_KPENTER, "tab": e.KEY_TAB}
_KEYPAD_DIGITS = {str(d): getattr(e, f"KEY_KP{d}") for d in range(10)}
_ACCENT_OF_MARK = {"\u0302": "^", "\u0300": "`", "\u0301": "´", "\u0308": "¨", "\u0303": "~"}


@dataclass(frozen=True)
class _Keystroke:
    code: int
    level: Level
    dead: bool


@dataclass
class KeyStream:
    """A growing list of events; each method appends and returns the stream for chaining."""

    layout: Layout | str = "us"
    timing: Timing = "scanner"
    seed: int = 0
    clock: float = 1_700_000_000.0  # the time stamp of the next report, in seconds
    events: list[InputEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._layout = get_layout(self.layout) if isinstance(self.layout, str) else self.layout
        self._rng = random.Random(self.seed)
        self._strokes = _keystrokes(self._layout)

    def type(
        self,
        text: str,
        *,
        suffix: Suffix = "enter",
        controls: ControlStyle = "ctrl",
        autorepeat: int = 0,
    ) -> KeyStream:
        """Type `text`, then the suffix key. Control characters (GS …) go as Ctrl+key or as
        Alt + keypad digits (Alt+029), as scanners are configured to send them."""
        for char in text:
            self._type_char(char, controls, autorepeat)
        if suffix is not None:
            self.tap(_SUFFIX_KEYS[suffix], autorepeat=autorepeat)
        return self

    def tap(self, code: int, *modifiers: int, autorepeat: int = 0) -> KeyStream:
        """Press the modifiers, press and release `code` (with `autorepeat` repeats between),
        release the modifiers."""
        for modifier in modifiers:
            self._report(modifier, 1, "modifier")
        self._report(code, 1, "hold")
        for _ in range(autorepeat):
            self._report(code, 2, "hold", scan=False)
        self._report(code, 0, "between" if not modifiers else "modifier")
        for modifier in reversed(modifiers):
            self._report(modifier, 0, "between")
        return self

    def alt_code(self, digits: str) -> KeyStream:
        """Hold left Alt, type `digits` on the keypad, release Alt: Alt+029 types GS."""
        self._report(e.KEY_LEFTALT, 1, "modifier")
        for digit in digits:
            self.tap(_KEYPAD_DIGITS[digit])
        self._report(e.KEY_LEFTALT, 0, "between")
        return self

    def pause(self, seconds: float) -> KeyStream:
        self.clock += seconds
        return self

    def syn_dropped(self) -> KeyStream:
        """The kernel's buffer overflowed: SYN_DROPPED, then the stray rest of a report."""
        at = self._stamp()
        self.events += [
            InputEvent(*at, e.EV_SYN, e.SYN_DROPPED, 0),
            InputEvent(*at, e.EV_MSC, e.MSC_SCAN, 0x7001B),
            InputEvent(*at, e.EV_KEY, e.KEY_X, 1),
            InputEvent(*at, e.EV_SYN, e.SYN_REPORT, 0),
        ]
        self._advance("between")
        return self

    # -- internals --

    def _type_char(self, char: str, controls: ControlStyle, autorepeat: int) -> None:
        if char in "\r\n":
            self.tap(e.KEY_ENTER, autorepeat=autorepeat)
        elif char == "\t":
            self.tap(e.KEY_TAB, autorepeat=autorepeat)
        elif ord(char) < 0x20 or char == "\x7f":
            if controls == "alt-keypad":
                self.alt_code(f"{ord(char):03d}")
            else:
                self._control(char, autorepeat)
        elif char in self._strokes:
            for stroke in self._strokes[char]:
                self.tap(stroke.code, *_LEVEL_MODIFIERS[stroke.level], autorepeat=autorepeat)
        elif controls == "alt-keypad" and _cp1252(char) is not None:
            self.alt_code(f"0{_cp1252(char)}")
        else:
            raise ValueError(f"{char!r} cannot be typed on the {self._layout.name} layout")

    def _control(self, char: str, autorepeat: int) -> None:
        codes = sorted(self._layout.keys)
        for shift in (False, True):
            for code in codes:
                if self._layout.control_char(code, shift) == char:
                    held = (e.KEY_LEFTCTRL, e.KEY_LEFTSHIFT) if shift else (e.KEY_LEFTCTRL,)
                    self.tap(code, *held, autorepeat=autorepeat)
                    return
        raise ValueError(f"no Ctrl+key types {char!r} on the {self._layout.name} layout")

    def _report(self, code: int, value: int, pause: str, *, scan: bool = True) -> None:
        at = self._stamp()
        if scan and code in _HID_USAGE:
            self.events.append(InputEvent(*at, e.EV_MSC, e.MSC_SCAN, 0x70000 | _HID_USAGE[code]))
        self.events.append(InputEvent(*at, e.EV_KEY, code, value))
        self.events.append(InputEvent(*at, e.EV_SYN, e.SYN_REPORT, 0))
        self._advance(pause)

    def _stamp(self) -> tuple[int, int]:
        micros = round(self.clock * 1_000_000)
        return micros // 1_000_000, micros % 1_000_000

    def _advance(self, pause: str) -> None:
        if self.timing == "scanner":
            self.clock += self._rng.uniform(0.001, 0.004)
        elif pause == "hold":  # a finger on a key
            self.clock += self._rng.uniform(0.05, 0.12)
        elif pause == "modifier":  # shift down, then the key
            self.clock += self._rng.uniform(0.04, 0.1)
        else:  # looking for the next key
            self.clock += self._rng.uniform(0.08, 0.3)


def scan(
    text: str,
    layout: Layout | str = "us",
    *,
    suffix: Suffix = "enter",
    controls: ControlStyle = "ctrl",
    timing: Timing = "scanner",
    seed: int = 0,
) -> list[InputEvent]:
    """The events of one read of `text` (see `KeyStream.type`)."""
    stream = KeyStream(layout, timing, seed)
    return stream.type(text, suffix=suffix, controls=controls).events


def typeable(layout: Layout | str) -> str:
    """Every character `KeyStream` can type on this layout without Alt codes, sorted."""
    resolved = get_layout(layout) if isinstance(layout, str) else layout
    return "".join(sorted(_keystrokes(resolved)))


def _keystrokes(layout: Layout) -> dict[str, tuple[_Keystroke, ...]]:
    """How to type each character: one key if possible, else a dead key and space or a base."""
    single: dict[str, _Keystroke] = {}
    dead_accents: dict[str, _Keystroke] = {}
    order = {level: i for i, level in enumerate(LEVELS)}
    ranked = sorted(layout.characters(), key=lambda c: (c[1] in layout.keypad, order[c[2]], c[1]))
    for char, code, level in ranked:
        stroke = _Keystroke(code, level, layout.is_dead(code, level))
        if stroke.dead:
            dead_accents.setdefault(char, stroke)
        else:
            single.setdefault(char, stroke)
    strokes: dict[str, tuple[_Keystroke, ...]] = {c: (s,) for c, s in single.items()}
    space = single.get(" ")
    for accent, stroke in dead_accents.items():
        if accent not in strokes and space is not None:
            strokes[accent] = (stroke, space)  # a dead key then space types the accent itself
    for accent, stroke in dead_accents.items():
        for base, composed in _compositions(accent):
            if base in single:
                strokes.setdefault(composed, (stroke, single[base]))
    return strokes


def _compositions(accent: str) -> Iterator[tuple[str, str]]:
    """(base, accented) letters a dead key with this accent makes: ^ and e make ê."""
    mark = next((m for m, a in _ACCENT_OF_MARK.items() if a == accent), None)
    for base in "aeiouyAEIOUYnN" if mark is not None else "":
        composed = unicodedata.normalize("NFC", base + (mark or ""))
        if len(composed) == 1:
            yield base, composed


def _cp1252(char: str) -> int | None:
    try:
        encoded = char.encode("cp1252")
    except UnicodeEncodeError:
        return None
    return encoded[0] if len(encoded) == 1 and encoded[0] >= 0x80 else None


class ReplayDevice:
    """Stands in for `evdev.InputDevice`: `send()` queues events and makes the descriptor
    readable; after `unplug()` every read fails with ENODEV and the descriptor stays readable,
    as a vanished evdev node does."""

    def __init__(self, name: str = "sim scanner") -> None:
        self.name = name
        self._read_end, self._write_end = os.pipe()
        os.set_blocking(self._read_end, False)
        self.fd = self._read_end
        self._queue: deque[InputEvent] = deque()
        self.reads = 0  # read() calls, to prove the driver does not spin on a dead node
        self.grabbed = False
        self.closed = False
        self.gone = False
        self.grab_error: OSError | None = None  # e.g. EBUSY: another program grabbed it

    def send(self, events: Iterable[InputEvent]) -> None:
        self._queue.extend(events)
        os.write(self._write_end, b"!")

    def unplug(self) -> None:
        self.gone = True
        os.write(self._write_end, b"!")

    def grab(self) -> None:
        if self.gone:
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        if self.grab_error is not None:
            raise self.grab_error
        self.grabbed = True

    def ungrab(self) -> None:
        if self.gone:
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        self.grabbed = False

    def read(self) -> Iterator[InputEvent]:
        self.reads += 1
        if self.gone:
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        try:
            while os.read(self._read_end, 4096):
                pass
        except BlockingIOError:
            pass
        if not self._queue:
            raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))
        events = list(self._queue)
        self._queue.clear()
        return iter(events)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._read_end)
            os.close(self._write_end)
