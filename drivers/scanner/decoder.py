"""Keyboard-wedge key events → lines of text: the pure state machine.

Feed it evdev events with their kernel time stamps; it returns finished lines (UTF-8 bytes
with the timing of their key presses) or a `DecodeError` for a line it could not decode
faithfully. It never guesses: an unmapped key, an Alt shortcut or lost events make the whole
line an error. No I/O and no clock: the shell calls `silence()` when it has seen no key for
`idle_gap` seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from evdev import InputEvent
from evdev import ecodes as e

from drivers.scanner.layout import Layout, Level, compose
from drivers.scanner.timing import KeyTiming

Terminator = Literal["enter", "tab", "idle"]

_SHIFTS = frozenset({e.KEY_LEFTSHIFT, e.KEY_RIGHTSHIFT})
_CTRLS = frozenset({e.KEY_LEFTCTRL, e.KEY_RIGHTCTRL})
_METAS = frozenset({e.KEY_LEFTMETA, e.KEY_RIGHTMETA})
_MODIFIERS = _SHIFTS | _CTRLS | _METAS | {e.KEY_LEFTALT, e.KEY_RIGHTALT}
_IGNORED = frozenset({e.KEY_NUMLOCK, e.KEY_SCROLLLOCK})
_SPECIAL = {e.KEY_ENTER: "\r", e.KEY_KPENTER: "\r", e.KEY_TAB: "\t"}
_TERMINATOR_CHARS: dict[Terminator, frozenset[str]] = {
    "enter": frozenset("\r\n"),  # Enter, keypad Enter, and Ctrl+M / Ctrl+J suffixes
    "tab": frozenset("\t"),
    "idle": frozenset(),
}
_KP_DIGITS = {
    e.KEY_KP0: "0",
    e.KEY_KP1: "1",
    e.KEY_KP2: "2",
    e.KEY_KP3: "3",
    e.KEY_KP4: "4",
    e.KEY_KP5: "5",
    e.KEY_KP6: "6",
    e.KEY_KP7: "7",
    e.KEY_KP8: "8",
    e.KEY_KP9: "9",
}

DROPPED = "the kernel dropped input events (SYN_DROPPED); the code being typed was discarded"


@dataclass(frozen=True)
class DecodedLine:
    """One terminated line, exactly as typed (terminator removed)."""

    data: bytes
    timing: KeyTiming
    events: tuple[InputEvent, ...] = ()  # the line's key presses and releases, for calibration


@dataclass(frozen=True)
class DecodeError:
    """A line that cannot be trusted; `partial` is what had been decoded, for the log only."""

    reason: str
    partial: bytes
    timing: KeyTiming | None
    events: tuple[InputEvent, ...] = ()


Decoded = DecodedLine | DecodeError


def key_name(code: int) -> str:
    name = e.KEY.get(code, f"key {code}")
    return name if isinstance(name, str) else str(name[0])


def alt_code_char(digits: str) -> str | None:
    """What Alt + keypad digits type, as Windows does: ASCII below 128; above, code page 1252
    with a leading 0 (Alt+0128 = €) or 437 without; numbers wrap at 256."""
    number = int(digits) % 256
    if number < 128:
        return chr(number)
    try:
        return bytes([number]).decode("cp1252" if digits.startswith("0") else "cp437")
    except UnicodeDecodeError:  # a hole in code page 1252 (0x81, 0x8d, …)
        return None


@dataclass
class KeyDecoder:
    layout: Layout
    terminator: Terminator = "enter"
    idle_gap: float = 0.08  # seconds without a key that end a line ("idle") or a damaged burst
    max_length: int = 4096  # characters; a longer line is an error, not a code
    _held: set[int] = field(default_factory=set)
    _caps_lock: bool = False
    _text: list[str] = field(default_factory=list)
    _presses: list[float] = field(default_factory=list)
    _events: list[InputEvent] = field(default_factory=list)
    _problem: str | None = None
    _dead: str | None = None  # accent of a dead key waiting for the next character
    _alt_digits: str | None = None  # keypad digits typed while Alt is held
    _discarding: bool = False  # after SYN_DROPPED, until the next SYN_REPORT
    _skipping: bool = False  # the rest of a damaged burst, until a terminator or a gap
    _last_press: float | None = None

    @property
    def waiting(self) -> bool:
        """A line or a damaged burst is open: the shell should call `silence()` after a gap."""
        return bool(self._presses) or self._skipping

    def feed_all(self, events: Iterable[InputEvent]) -> list[Decoded]:
        return [out for event in events for out in self.feed(event)]

    def feed(self, event: InputEvent) -> list[Decoded]:
        if event.type == e.EV_SYN:
            if event.code == e.SYN_DROPPED:
                return self._dropped(event.timestamp())
            if event.code == e.SYN_REPORT:
                self._discarding = False
            return []
        if self._discarding or event.type != e.EV_KEY or event.value == 2:  # 2: autorepeat
            return []
        if event.value == 0:
            return self._release(event)
        return self._press(event)

    def silence(self) -> list[Decoded]:
        """No key for `idle_gap` seconds: ends an idle-terminated line and any damaged burst."""
        self._skipping = False
        if self.terminator != "idle":
            return []
        if self._has_content():
            return self._end_line()
        self._clear_line()  # only modifiers were pressed
        return []

    def finish(self) -> list[Decoded]:
        """End of input: whatever was typed becomes a line, whatever the terminator setting."""
        self._skipping = False
        if self._has_content():
            return self._end_line()
        self._clear_line()
        return []

    def abandon(self, reason: str) -> list[Decoded]:
        """The input went away mid-line: the partial line as an error, never a code; reset."""
        out: list[Decoded] = []
        if self._has_content():
            partial = "".join(self._text).encode()
            timing = KeyTiming.from_presses(self._presses)
            out.append(DecodeError(reason, partial, timing, tuple(self._events)))
        self.reset()
        return out

    def reset(self) -> None:
        """Forget everything, held modifiers and Caps Lock included (a new device session)."""
        self._held.clear()
        self._caps_lock = False
        self._clear_line()
        self._discarding = self._skipping = False
        self._last_press = None

    # -- internals --

    def _dropped(self, at: float) -> list[Decoded]:
        partial = "".join(self._text).encode()
        timing = KeyTiming.from_presses(self._presses) if self._presses else None
        events = tuple(self._events)
        self.reset()
        self._discarding = self._skipping = True
        self._last_press = at
        return [DecodeError(DROPPED, partial, timing, events)]

    def _press(self, event: InputEvent) -> list[Decoded]:
        at, code = event.timestamp(), event.code
        after_gap = self._last_press is not None and at - self._last_press >= self.idle_gap
        self._last_press = at
        if self._skipping:
            if not after_gap:
                self._track_modifier(code)
                if _SPECIAL.get(code, "") in _TERMINATOR_CHARS[self.terminator]:
                    self._skipping = False  # the damaged code ends here; its terminator too
                return []
            self._skipping = False
        out: list[Decoded] = []
        if after_gap and self.terminator == "idle" and self._presses:
            out += self._end_line() if self._has_content() else self._cleared()
        self._presses.append(at)
        if len(self._events) < 8 * self.max_length:
            self._events.append(event)
        if self._track_modifier(code) or code in _IGNORED:
            return out
        if self._alt_held() and not self._ctrl_held() and code in _KP_DIGITS:
            self._alt_digits = (self._alt_digits or "") + _KP_DIGITS[code]
            return out
        if code == e.KEY_BACKSPACE:
            if self._text:
                self._text.pop()
            return out
        typed = self._translate(code)
        if typed is None:
            return out
        char, dead = typed
        return out + self._type(char, dead)

    def _release(self, event: InputEvent) -> list[Decoded]:
        code = event.code
        if self._presses and len(self._events) < 8 * self.max_length:
            self._events.append(event)
        if code not in self._held:
            return []  # a key pressed before a resync, or not a modifier
        self._held.discard(code)
        if self._alt_digits is None or self._alt_held():
            return []
        digits, self._alt_digits = self._alt_digits, None
        if not digits:
            return []
        char = alt_code_char(digits)
        if char is None:
            self._fail(f"Alt+{digits} on the keypad types no character")
            return []
        return self._type(char, dead=False)

    def _track_modifier(self, code: int) -> bool:
        if code == e.KEY_CAPSLOCK:
            self._caps_lock = not self._caps_lock
            return True
        if code not in _MODIFIERS:
            return False
        self._held.add(code)
        if code == e.KEY_LEFTALT or (code == e.KEY_RIGHTALT and not self.layout.has_altgr):
            self._alt_digits = ""
        return True

    def _alt_held(self) -> bool:
        return e.KEY_LEFTALT in self._held or (
            e.KEY_RIGHTALT in self._held and not self.layout.has_altgr
        )

    def _ctrl_held(self) -> bool:
        return bool(self._held & _CTRLS)

    def _translate(self, code: int) -> tuple[str, bool] | None:
        """(character, is a dead key) for a key press with the held modifiers, or None."""
        if code in _SPECIAL:
            return _SPECIAL[code], False
        name = key_name(code)
        shift = bool(self._held & _SHIFTS)
        ctrl = self._ctrl_held()
        altgr = self.layout.has_altgr and (
            e.KEY_RIGHTALT in self._held or (ctrl and e.KEY_LEFTALT in self._held)
        )
        level: Level
        if altgr:
            level = "shift_altgr" if shift else "altgr"
        elif ctrl:
            control = self.layout.control_char(code, shift)
            if control is None:
                self._fail(f"Ctrl+{name} types no control character")
                return None
            return control, False
        elif self._alt_held() or self._held & _METAS:
            self._fail(f"Alt or Meta + {name} is a shortcut, not a character")
            return None
        else:
            caps = self._caps_lock and self.layout.is_letter(code)
            level = "shift" if shift != caps else "plain"
        char = self.layout.char(code, level)
        if char is None:
            self._fail(f"{name} ({level}) types nothing on the {self.layout.name} layout")
            return None
        return char, self.layout.is_dead(code, level)

    def _type(self, char: str, dead: bool) -> list[Decoded]:
        if self._dead is not None:
            accent, self._dead = self._dead, None
            if char == " ":
                return self._append(accent)
            composed = None if dead else compose(accent, char)
            if composed is not None:
                return self._append(composed)
            self._append(accent)  # Windows types the accent, then the key
        if dead:
            self._dead = char
            return []
        if char in _TERMINATOR_CHARS[self.terminator]:
            return self._end_line()
        return self._append(char)

    def _append(self, char: str) -> list[Decoded]:
        if len(self._text) >= self.max_length:
            self._fail(f"line longer than {self.max_length} characters")
        else:
            self._text.append(char)
        return []

    def _fail(self, reason: str) -> None:
        if self._problem is None:
            self._problem = reason

    def _end_line(self) -> list[Decoded]:
        if self._dead is not None:
            self._text.append(self._dead)
        if self._alt_digits:
            self._fail(f"Alt+{self._alt_digits} on the keypad was not finished")
        data = "".join(self._text).encode()
        timing = KeyTiming.from_presses(self._presses)
        events, problem = tuple(self._events), self._problem
        self._clear_line()
        if problem is not None:
            return [DecodeError(problem, data, timing, events)]
        return [DecodedLine(data, timing, events)]

    def _has_content(self) -> bool:
        return bool(self._text) or self._problem is not None or self._dead is not None

    def _cleared(self) -> list[Decoded]:
        self._clear_line()
        return []

    def _clear_line(self) -> None:
        self._text.clear()
        self._presses.clear()
        self._events.clear()
        self._problem = self._dead = None
        if not self._alt_held():
            self._alt_digits = None
