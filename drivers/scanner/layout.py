"""What a keyboard layout is (key code → character per level), and finding one by name.

A layout is data: one module under `drivers.scanner.layouts` holding `LAYOUT = Layout(...)`.
Scanners emulate the Windows layouts their manuals name, so the tables follow Windows.
"""

from __future__ import annotations

import importlib
import pkgutil
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from evdev import ecodes as e

Level = Literal["plain", "shift", "altgr", "shift_altgr"]
LEVELS: tuple[Level, ...] = ("plain", "shift", "altgr", "shift_altgr")

# Keypad keys with Num Lock on, the same on every layout unless a layout says otherwise.
KEYPAD: dict[int, str] = {
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
    e.KEY_KPDOT: ".",
    e.KEY_KPSLASH: "/",
    e.KEY_KPASTERISK: "*",
    e.KEY_KPMINUS: "-",
    e.KEY_KPPLUS: "+",
}

# Ctrl on the US positions of [ \ ] gives ESC FS GS on every layout (as Linux console keymaps
# do); GS is what GS1 scanners send for FNC1.
CONTROL_BY_POSITION: dict[int, str] = {
    e.KEY_LEFTBRACE: "\x1b",
    e.KEY_BACKSLASH: "\x1c",
    e.KEY_RIGHTBRACE: "\x1d",
}
_CONTROL_BY_CHARACTER = {"@": "\x00", "[": "\x1b", "\\": "\x1c", "]": "\x1d", "^": "\x1e"}
_CONTROL_BY_CHARACTER |= {"_": "\x1f", "?": "\x7f"}

# Spacing accent (what a dead key types before a space) → combining mark, for composing.
_COMBINING = {"^": "\u0302", "`": "\u0300", "´": "\u0301", "¨": "\u0308", "~": "\u0303"}


class LayoutError(LookupError):
    """No layout by that name, or a layout module without a `LAYOUT`."""


@dataclass(frozen=True)
class Layout:
    """Key code → (plain, shift, altgr, shift+altgr) characters; "" where a level types nothing."""

    name: str
    description: str
    keys: Mapping[int, tuple[str, ...]]
    dead: frozenset[tuple[int, Level]] = frozenset()  # (key, level) pairs that are dead keys
    keypad: Mapping[int, str] = field(default_factory=lambda: dict(KEYPAD))
    control: Mapping[int, str] = field(default_factory=dict)  # Ctrl+key overrides

    @cached_property
    def has_altgr(self) -> bool:
        """Whether right Alt is AltGr here (on a US layout it is a second Alt)."""
        return any(len(levels) > 2 and any(levels[2:]) for levels in self.keys.values())

    def char(self, code: int, level: Level) -> str | None:
        if code in self.keypad:
            return self.keypad[code] if level in ("plain", "shift") else None
        levels = self.keys.get(code, ())
        index = LEVELS.index(level)
        return (levels[index] or None) if index < len(levels) else None

    def is_dead(self, code: int, level: Level) -> bool:
        return (code, level) in self.dead

    def is_letter(self, code: int) -> bool:
        """A key Caps Lock acts on: its shift level is the upper case of its plain level."""
        plain, shifted = self.char(code, "plain"), self.char(code, "shift")
        return plain is not None and plain.isalpha() and shifted == plain.upper() != plain

    def control_char(self, code: int, shift: bool) -> str | None:
        """What Ctrl+key types: letters → 0x01–0x1a, [ \\ ] positions → ESC FS GS, Ctrl+^ → RS."""
        if code in self.control:
            return self.control[code]
        plain = self.char(code, "plain") or ""
        if "a" <= plain <= "z" and self.is_letter(code):
            return chr(ord(plain) & 0x1F)
        if code in CONTROL_BY_POSITION:
            return CONTROL_BY_POSITION[code]
        typed = self.char(code, "shift" if shift else "plain")
        return _CONTROL_BY_CHARACTER.get(typed) if typed is not None else None

    def characters(self) -> Iterator[tuple[str, int, Level]]:
        """Every (character, key, level) this layout can type with one key, dead keys included."""
        for code, levels in self.keys.items():
            for level, char in zip(LEVELS, levels, strict=False):
                if char:
                    yield char, code, level
        for code, char in self.keypad.items():
            yield char, code, "plain"


def compose(accent: str, base: str) -> str | None:
    """A dead key's accent on the next character (^ then e → ê), or None if they don't combine."""
    mark = _COMBINING.get(accent)
    if mark is None:
        return None
    composed = unicodedata.normalize("NFC", base + mark)
    return composed if len(composed) == 1 else None


def get_layout(name: str) -> Layout:
    """A built-in layout by short name ("de"), or any module path holding a `LAYOUT`."""
    module_name = name if "." in name else f"drivers.scanner.layouts.{name}"
    if not name.replace(".", "").replace("_", "").isalnum():
        raise LayoutError(f"{name!r} is not a layout name")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        known = ", ".join(available_layouts())
        raise LayoutError(f"no keyboard layout {name!r} (built in: {known})") from exc
    layout = getattr(module, "LAYOUT", None)
    if not isinstance(layout, Layout):
        raise LayoutError(f"module {module_name} has no LAYOUT = Layout(...)")
    return layout


def available_layouts() -> list[str]:
    """Names of the built-in layouts: one module each in drivers.scanner.layouts."""
    from drivers.scanner import layouts

    return sorted(info.name for info in pkgutil.iter_modules(layouts.__path__))
