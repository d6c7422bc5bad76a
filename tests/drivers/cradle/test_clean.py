"""What the cradle publishes: shown as the CLI shows stored text, then bounded (pure)."""

from __future__ import annotations

from drivers.cradle.clean import clean_text, clean_values
from edge.characters import escaped


def test_clean_text_escapes_as_the_cli_does() -> None:
    name = "Bob\tiPhone\n\u202egnp.exe"  # a tab, a newline and a right-to-left override
    assert clean_text(name) == "Bob\\x09iPhone\\x0a\\u202egnp.exe"
    assert clean_text(name) == escaped(name)


def test_clean_text_escapes_then_cuts() -> None:
    shown = clean_text("\x00" * 100, limit=40)
    suffix = "…(100 characters)"
    assert shown == ("\\x00" * 6)[: 40 - len(suffix)] + suffix
    assert len(shown) == 40


def test_clean_values_keys_and_values() -> None:
    assert clean_values({"a\x1b": ["b\x7f", 3]}) == {"a\\x1b": ["b\\x7f", 3]}
