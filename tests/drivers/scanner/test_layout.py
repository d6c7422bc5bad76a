"""Layouts as data: every built-in layout round-trips all printable ASCII through the decoder."""

from __future__ import annotations

import pytest
from evdev import ecodes as e
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scanner import KeyDecoder, LayoutError, available_layouts, get_layout
from drivers.scanner.layout import Layout
from drivers.sim.keystreams import KeyStream, scan, typeable
from tests.drivers.scanner.support import Keys, decode, texts

LAYOUTS = ["us", "uk", "de", "fr"]
PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))


def test_the_built_in_layouts_are_found_by_name() -> None:
    assert set(LAYOUTS) <= set(available_layouts())
    for name in LAYOUTS:
        layout = get_layout(name)
        assert isinstance(layout, Layout) and layout.name == name


def test_a_layout_can_be_named_by_module_path() -> None:
    assert get_layout("drivers.scanner.layouts.de") is get_layout("de")


@pytest.mark.parametrize("name", ["xx", "../us", ""])
def test_an_unknown_layout_is_refused_with_the_known_ones_named(name: str) -> None:
    with pytest.raises(LayoutError):
        get_layout(name)
    with pytest.raises(LayoutError, match="us"):
        get_layout("xx")


@pytest.mark.parametrize("name", LAYOUTS)
def test_every_printable_ascii_character_round_trips(name: str) -> None:
    assert texts(decode(scan(PRINTABLE_ASCII, name), name)) == [PRINTABLE_ASCII]


@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("controls", ["ctrl", "alt-keypad"])
def test_group_separators_round_trip_as_ctrl_or_alt_codes(name: str, controls: str) -> None:
    text = "]C110ABC123\x1d0109506000134352"
    events = scan(text, name, controls=controls)  # type: ignore[arg-type]
    assert texts(decode(events, name)) == [text]


@pytest.mark.parametrize("name", LAYOUTS)
def test_human_typing_decodes_the_same_text(name: str) -> None:
    text = "Return 42/B"
    assert texts(decode(scan(text, name, timing="human"), name)) == [text]


@pytest.mark.parametrize("name", LAYOUTS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_typeable_text_round_trips(name: str, data: st.DataObject) -> None:
    alphabet = typeable(name) + "\x1d"
    text = data.draw(st.text(alphabet=alphabet, min_size=1, max_size=40))
    assert texts(decode(scan(text, name), name)) == [text]


@pytest.mark.parametrize(
    ("name", "held", "code", "expected"),
    [
        ("us", e.KEY_LEFTSHIFT, e.KEY_2, "@"),
        ("uk", e.KEY_LEFTSHIFT, e.KEY_2, '"'),
        ("uk", e.KEY_LEFTSHIFT, e.KEY_APOSTROPHE, "@"),
        ("uk", None, e.KEY_BACKSLASH, "#"),
        ("uk", e.KEY_LEFTSHIFT, e.KEY_3, "£"),
        ("de", None, e.KEY_Y, "z"),
        ("de", None, e.KEY_Z, "y"),
        ("de", e.KEY_RIGHTALT, e.KEY_MINUS, "\\"),
        ("de", e.KEY_LEFTSHIFT, e.KEY_7, "/"),
        ("de", None, e.KEY_KPDOT, ","),
        ("fr", None, e.KEY_Q, "a"),
        ("fr", None, e.KEY_1, "&"),
        ("fr", e.KEY_LEFTSHIFT, e.KEY_1, "1"),
        ("fr", None, e.KEY_M, ","),
        ("fr", e.KEY_RIGHTALT, e.KEY_0, "@"),
    ],
)
def test_keys_that_tell_the_layouts_apart(
    name: str, held: int | None, code: int, expected: str
) -> None:
    keys = Keys()
    if held is not None:
        keys.down(held)
    keys.tap(code)
    if held is not None:
        keys.up(held)
    keys.tap(e.KEY_ENTER)
    assert texts(decode(keys.events, name)) == [expected]


def test_a_new_layout_is_just_data() -> None:
    dvorak_row = Layout(
        name="dvorak-test",
        description="three keys of Dvorak",
        keys={e.KEY_Q: ("'", '"'), e.KEY_W: (",", "<"), e.KEY_E: (".", ">")},
    )
    keys = Keys().tap(e.KEY_Q, e.KEY_W).down(e.KEY_LEFTSHIFT).tap(e.KEY_E)
    keys.up(e.KEY_LEFTSHIFT).tap(e.KEY_ENTER)
    assert texts(KeyDecoder(dvorak_row).feed_all(keys.events)) == ["',>"]
    assert texts(KeyDecoder(dvorak_row).feed_all(KeyStream(dvorak_row).type("',>").events)) == [
        "',>"
    ]
