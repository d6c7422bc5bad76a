"""The one rule for control characters (edge/characters.py) and the one escape for display."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.characters import CODE_SEPARATORS, check_code, check_text, escaped

_CONTROLS = {chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}


@given(st.text(st.characters(max_codepoint=0x2FF), max_size=20))
def test_a_code_is_refused_exactly_when_it_holds_a_control_other_than_a_separator(
    text: str,
) -> None:
    bad = [c for c in text if c in _CONTROLS and c not in CODE_SEPARATORS]
    if bad:
        with pytest.raises(ValueError, match=f"control character 0x{ord(bad[0]):02x}"):
            check_code(text)
    else:
        assert check_code(text) == text
    if any(c in _CONTROLS for c in text):
        with pytest.raises(ValueError, match="control character"):
            check_text(text)
    else:
        assert check_text(text) == text


@given(st.text(max_size=30))
def test_escaped_text_prints_and_keeps_what_printed(text: str) -> None:
    shown = escaped(text)
    assert shown.isprintable()
    if text.isprintable():
        assert shown == text


def test_escapes_read_as_what_they_stand_for() -> None:
    assert escaped("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert escaped("\u202eevil\u200b") == "\\u202eevil\\u200b"
    assert escaped("tab\there") == "tab\\x09here"
    assert escaped("[bold]Olga é 中") == "[bold]Olga é 中"
