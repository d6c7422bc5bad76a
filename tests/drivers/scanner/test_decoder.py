"""The key decoder on hand-written event streams: modifiers, terminators, resync, refusals."""

from __future__ import annotations

import pytest
from evdev import ecodes as e

from drivers.scanner import DecodedLine, DecodeError, KeyDecoder, get_layout
from drivers.scanner.decoder import Terminator
from drivers.sim.keystreams import KeyStream
from tests.drivers.scanner.support import Keys, decode, texts

GS = "\x1d"


def test_both_shift_keys_shift_and_releasing_them_unshifts() -> None:
    keys = Keys().down(e.KEY_LEFTSHIFT).tap(e.KEY_A).up(e.KEY_LEFTSHIFT)
    keys.down(e.KEY_RIGHTSHIFT).tap(e.KEY_B, e.KEY_1).up(e.KEY_RIGHTSHIFT)
    keys.tap(e.KEY_C, e.KEY_ENTER)
    assert texts(decode(keys.events)) == ["AB!c"]


def test_caps_lock_toggles_and_acts_on_letters_only() -> None:
    keys = Keys().tap(e.KEY_CAPSLOCK, e.KEY_A, e.KEY_1, e.KEY_SEMICOLON)
    keys.down(e.KEY_LEFTSHIFT).tap(e.KEY_B, e.KEY_1).up(e.KEY_LEFTSHIFT)  # shift + caps: lower
    keys.tap(e.KEY_CAPSLOCK, e.KEY_C, e.KEY_ENTER)
    assert texts(decode(keys.events)) == ["A1;b!c"]


def test_caps_lock_on_german_umlauts_and_not_on_sharp_s() -> None:
    keys = Keys().tap(e.KEY_CAPSLOCK, e.KEY_APOSTROPHE, e.KEY_MINUS, e.KEY_Y, e.KEY_ENTER)
    assert texts(decode(keys.events, "de")) == ["Äß" + "Z"]


def test_altgr_types_the_third_level() -> None:
    keys = Keys().down(e.KEY_RIGHTALT).tap(e.KEY_Q, e.KEY_E, e.KEY_8, e.KEY_102ND)
    keys.up(e.KEY_RIGHTALT).tap(e.KEY_Q, e.KEY_ENTER)
    assert texts(decode(keys.events, "de")) == ["@€[|q"]


def test_ctrl_and_left_alt_together_are_altgr_as_on_windows() -> None:
    keys = Keys().down(e.KEY_LEFTCTRL, e.KEY_LEFTALT).tap(e.KEY_Q, e.KEY_0)
    keys.up(e.KEY_LEFTALT, e.KEY_LEFTCTRL).tap(e.KEY_ENTER)
    assert texts(decode(keys.events, "de")) == ["@}"]


@pytest.mark.parametrize(
    ("layout", "code", "expected"),
    [
        ("us", e.KEY_RIGHTBRACE, GS),  # Ctrl+] : FNC1 from a GS1 scanner
        ("de", e.KEY_RIGHTBRACE, GS),  # the same key position on every layout
        ("fr", e.KEY_RIGHTBRACE, GS),
        ("us", e.KEY_D, "\x04"),  # EOT
        ("us", e.KEY_LEFTBRACE, "\x1b"),
        ("uk", e.KEY_102ND, "\x1c"),  # the UK \ key: Ctrl+\ is FS
        ("de", e.KEY_Z, "\x19"),  # the German y key: Ctrl+Y
        ("fr", e.KEY_Q, "\x01"),  # the French a key: Ctrl+A
    ],
)
def test_ctrl_key_types_a_control_character(layout: str, code: int, expected: str) -> None:
    keys = Keys().tap(e.KEY_1).down(e.KEY_LEFTCTRL).tap(code).up(e.KEY_LEFTCTRL)
    keys.tap(e.KEY_2 if layout != "fr" else e.KEY_Z, e.KEY_ENTER)
    second = "2" if layout != "fr" else "w"
    first = "1" if layout != "fr" else "&"
    assert texts(decode(keys.events, layout)) == [first + expected + second]


def test_ctrl_shift_6_is_record_separator() -> None:
    keys = Keys().down(e.KEY_LEFTCTRL, e.KEY_LEFTSHIFT).tap(e.KEY_6)
    keys.up(e.KEY_LEFTSHIFT, e.KEY_LEFTCTRL).tap(e.KEY_ENTER)
    assert texts(decode(keys.events)) == ["\x1e"]


def test_ctrl_m_and_ctrl_j_end_the_line_when_enter_terminates() -> None:
    keys = Keys().tap(e.KEY_A).down(e.KEY_LEFTCTRL).tap(e.KEY_M).up(e.KEY_LEFTCTRL)
    keys.tap(e.KEY_B).down(e.KEY_LEFTCTRL).tap(e.KEY_J).up(e.KEY_LEFTCTRL)
    assert texts(decode(keys.events)) == ["a", "b"]


def test_ctrl_m_is_a_carriage_return_in_the_data_when_tab_terminates() -> None:
    keys = Keys().tap(e.KEY_A).down(e.KEY_LEFTCTRL).tap(e.KEY_M).up(e.KEY_LEFTCTRL)
    keys.tap(e.KEY_B, e.KEY_TAB)
    assert texts(decode(keys.events, terminator="tab")) == ["a\rb"]


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("029", GS),  # what GS1 scanners send for FNC1 in Alt mode
        ("29", GS),
        ("0029", GS),
        ("065", "A"),
        ("0128", "€"),  # leading zero: code page 1252
        ("130", "é"),  # no leading zero: code page 437
        ("321", "A"),  # wraps at 256, as Windows does
    ],
)
def test_alt_and_keypad_digits_type_that_character_code(digits: str, expected: str) -> None:
    keys = Keys().tap(e.KEY_X).down(e.KEY_LEFTALT)
    keys.tap(*(getattr(e, f"KEY_KP{d}") for d in digits)).up(e.KEY_LEFTALT)
    keys.tap(e.KEY_Y, e.KEY_ENTER)
    assert texts(decode(keys.events)) == [f"x{expected}y"]


def test_right_alt_is_plain_alt_on_a_layout_without_altgr() -> None:
    keys = Keys().down(e.KEY_RIGHTALT).tap(e.KEY_KP2, e.KEY_KP9).up(e.KEY_RIGHTALT)
    keys.tap(e.KEY_ENTER)
    assert texts(decode(keys.events, "us")) == [GS]


def test_key_repeat_is_ignored() -> None:
    keys = Keys().down(e.KEY_A).repeat(e.KEY_A, 5).up(e.KEY_A)
    keys.down(e.KEY_LEFTSHIFT).repeat(e.KEY_LEFTSHIFT, 3).tap(e.KEY_B).up(e.KEY_LEFTSHIFT)
    keys.down(e.KEY_ENTER).repeat(e.KEY_ENTER, 2).up(e.KEY_ENTER)
    assert texts(decode(keys.events)) == ["aB"]


@pytest.mark.parametrize(
    ("terminator", "key"),
    [("enter", e.KEY_ENTER), ("enter", e.KEY_KPENTER), ("tab", e.KEY_TAB)],
)
def test_each_terminator_key_ends_a_line(terminator: Terminator, key: int) -> None:
    keys = Keys().tap(e.KEY_1, e.KEY_2, key, e.KEY_3, key)
    assert texts(decode(keys.events, terminator=terminator)) == ["12", "3"]


def test_enter_is_data_when_tab_terminates() -> None:
    keys = Keys().tap(e.KEY_1, e.KEY_ENTER, e.KEY_2, e.KEY_TAB)
    assert texts(decode(keys.events, terminator="tab")) == ["1\r2"]


def test_idle_gap_ends_a_line_when_no_terminator_is_configured() -> None:
    decoder = KeyDecoder(get_layout("us"), "idle", idle_gap=0.08)
    first = Keys().tap(e.KEY_A, e.KEY_B).wait(0.2).tap(e.KEY_C, e.KEY_D)
    assert texts(decoder.feed_all(first.events)) == ["ab"]  # the gap ended the first burst
    assert decoder.waiting
    assert texts(decoder.silence()) == ["cd"]  # the shell saw no key for idle_gap
    assert not decoder.waiting
    assert decoder.silence() == []


def test_silence_does_not_end_a_line_when_a_terminator_is_configured() -> None:
    decoder = KeyDecoder(get_layout("us"), "enter")
    assert decoder.feed_all(Keys().tap(e.KEY_A).events) == []
    assert decoder.silence() == []
    assert texts(decoder.feed_all(Keys(start=200).tap(e.KEY_B, e.KEY_ENTER).events)) == ["ab"]


def test_syn_dropped_mid_code_reports_a_drop_and_never_a_corrupted_code() -> None:
    keys = Keys().tap(e.KEY_1, e.KEY_2)
    keys.raw(e.EV_SYN, e.SYN_DROPPED, 0).raw(e.EV_KEY, e.KEY_X, 1).raw(e.EV_SYN, e.SYN_REPORT, 0)
    keys.tap(e.KEY_3, e.KEY_4, e.KEY_ENTER)  # the rest of the damaged scan
    keys.wait(0.5).tap(e.KEY_5, e.KEY_6, e.KEY_ENTER)  # the next scan
    decoded = decode(keys.events)
    assert isinstance(decoded[0], DecodeError)
    assert "SYN_DROPPED" in decoded[0].reason
    assert decoded[0].partial == b"12"
    assert texts(decoded[1:]) == ["56"]


def test_events_after_syn_dropped_are_discarded_up_to_the_next_report() -> None:
    keys = Keys().raw(e.EV_SYN, e.SYN_DROPPED, 0).wait(1.0)  # long enough to end a burst
    keys.raw(e.EV_KEY, e.KEY_X, 1).raw(e.EV_KEY, e.KEY_X, 0).raw(e.EV_SYN, e.SYN_REPORT, 0)
    keys.tap(e.KEY_B, e.KEY_ENTER)
    decoded = decode(keys.events)
    assert isinstance(decoded[0], DecodeError) and decoded[0].partial == b""
    assert texts(decoded[1:]) == ["b"]


def test_syn_dropped_resets_held_modifiers() -> None:
    keys = Keys().down(e.KEY_LEFTSHIFT).tap(e.KEY_A)
    keys.raw(e.EV_SYN, e.SYN_DROPPED, 0).raw(e.EV_SYN, e.SYN_REPORT, 0)
    keys.wait(0.5).tap(e.KEY_B, e.KEY_ENTER).up(e.KEY_LEFTSHIFT)  # shift's press was lost
    decoded = decode(keys.events)
    assert isinstance(decoded[0], DecodeError)
    assert texts(decoded[1:]) == ["b"]


def test_syn_dropped_in_a_recorded_stream_resyncs_on_the_next_scan() -> None:
    stream = KeyStream("de").type("ABC", suffix=None).syn_dropped().type("DEF")
    stream.pause(1.0).type("GHI-2")
    decoded = decode(stream.events, "de")
    assert [type(d) for d in decoded] == [DecodeError, DecodedLine]
    assert texts(decoded[1:]) == ["GHI-2"]


def test_a_key_the_layout_does_not_have_makes_the_line_an_error() -> None:
    keys = Keys().tap(e.KEY_A, e.KEY_102ND, e.KEY_B, e.KEY_ENTER, e.KEY_C, e.KEY_ENTER)
    decoded = decode(keys.events, "us")
    assert isinstance(decoded[0], DecodeError)
    assert "KEY_102ND" in decoded[0].reason
    assert texts(decoded[1:]) == ["c"]


def test_alt_with_a_letter_is_a_shortcut_not_data() -> None:
    keys = Keys().down(e.KEY_LEFTALT).tap(e.KEY_F).up(e.KEY_LEFTALT).tap(e.KEY_ENTER)
    decoded = decode(keys.events)
    assert len(decoded) == 1 and isinstance(decoded[0], DecodeError)
    assert "shortcut" in decoded[0].reason


def test_function_keys_are_not_characters() -> None:
    decoded = decode(Keys().tap(e.KEY_F5, e.KEY_ENTER).events)
    assert isinstance(decoded[0], DecodeError) and "KEY_F5" in decoded[0].reason


@pytest.mark.parametrize(
    ("layout", "keys", "expected"),
    [
        ("de", Keys().tap(e.KEY_GRAVE, e.KEY_SPACE, e.KEY_ENTER), "^"),
        ("de", Keys().tap(e.KEY_GRAVE, e.KEY_E, e.KEY_ENTER), "ê"),
        ("de", Keys().tap(e.KEY_EQUAL, e.KEY_X, e.KEY_ENTER), "´x"),
        ("de", Keys().down(e.KEY_LEFTSHIFT).tap(e.KEY_EQUAL).up(e.KEY_LEFTSHIFT).tap(e.KEY_A)
         .tap(e.KEY_ENTER), "à"),
        ("fr", Keys().tap(e.KEY_LEFTBRACE, e.KEY_LEFTBRACE, e.KEY_ENTER), "^^"),
        ("fr", Keys().tap(e.KEY_LEFTBRACE, e.KEY_ENTER), "^"),
    ],
)  # fmt: skip
def test_dead_keys_compose_or_type_their_accent(layout: str, keys: Keys, expected: str) -> None:
    assert texts(decode(keys.events, layout)) == [expected]


def test_an_overlong_line_is_an_error_and_the_next_line_is_fine() -> None:
    keys = Keys().tap(*[e.KEY_A] * 9, e.KEY_ENTER, e.KEY_B, e.KEY_ENTER)
    decoded = decode(keys.events, max_length=5)
    assert isinstance(decoded[0], DecodeError) and "longer than 5" in decoded[0].reason
    assert texts(decoded[1:]) == ["b"]


def test_backspace_removes_the_last_character() -> None:
    keys = Keys().tap(e.KEY_A, e.KEY_B, e.KEY_BACKSPACE, e.KEY_C, e.KEY_ENTER)
    assert texts(decode(keys.events)) == ["ac"]


def test_events_other_than_keys_and_sync_are_ignored() -> None:
    keys = Keys().raw(e.EV_MSC, e.MSC_SCAN, 0x70004).tap(e.KEY_A)
    keys.raw(e.EV_LED, e.LED_NUML, 1).tap(e.KEY_ENTER)
    assert texts(decode(keys.events)) == ["a"]


def test_lines_carry_the_timing_of_their_key_presses() -> None:
    keys = Keys(start=10.0, step=0.005).tap(e.KEY_A, e.KEY_B, e.KEY_ENTER)
    (line,) = decode(keys.events)
    assert isinstance(line, DecodedLine)
    assert line.timing.presses == 3
    assert line.timing.median_gap == pytest.approx(0.010)  # press, release, press: 2 steps
    assert line.timing.duration == pytest.approx(0.020)


def test_finish_and_abandon_an_open_line() -> None:
    decoder = KeyDecoder(get_layout("us"))
    decoder.feed_all(Keys().tap(e.KEY_A).events)
    assert texts(decoder.finish()) == ["a"]
    decoder.feed_all(Keys(start=200).tap(e.KEY_B).events)
    (abandoned,) = decoder.abandon("unplugged")
    assert isinstance(abandoned, DecodeError) and abandoned.partial == b"b"
    assert decoder.abandon("again") == []
