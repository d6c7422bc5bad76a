"""Canonical bytes: RFC 8785's own example, and our fast path equal to the rfc8785 reference."""

from __future__ import annotations

import math

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.journal.errors import JournalInputError
from edge.journal.events import canonical_bytes, event_bytes, is_plain

# RFC 8785 section 3.2.2 input and section 3.2.3 output.
RFC_INPUT = {
    "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": '\u20ac$\u000f\nA\'B"\\\\"/',
    "literals": [None, True, False],
}
RFC_OUTPUT = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
)


def test_rfc_8785_example() -> None:
    assert canonical_bytes(RFC_INPUT) == RFC_OUTPUT.encode()


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    # U+1D11E is a surrogate pair (D834 DD1E) in UTF-16, so it sorts before U+E000.
    assert canonical_bytes({"\ue000": 1, "\U0001d11e": 2}) == '{"𝄞":2,"\ue000":1}'.encode()


def _reference(value: object) -> bytes | None:
    try:
        return bytes(rfc8785.dumps(value))
    except Exception:
        return None


def _ours(value: object) -> bytes | None:
    try:
        return canonical_bytes(value)
    except JournalInputError:
        return None


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()))
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.text(
                st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()),
                max_size=6,
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=1500, deadline=None)
@given(json_values)
def test_fast_path_equals_the_reference_or_both_refuse(value: object) -> None:
    assert _ours(value) == _reference(value)


@pytest.mark.parametrize(
    "value",
    [
        2**53 - 1,
        -(2**53 - 1),
        2**53,
        -(2**53),
        "\ud800",
        {"\ud800": 1},
        {"a": math.nan},
        1.0,
        -0.0,
        1e21,
        1e-7,
    ],
)
def test_boundaries_match_the_reference(value: object) -> None:
    assert _ours(value) == _reference(value)


@settings(max_examples=800, deadline=None)
@given(json_values)
def test_what_the_journal_stores_reads_back_to_the_same_bytes(value: object) -> None:
    """Whatever event_bytes accepts, verify (parse, re-canonicalise) must reproduce exactly."""
    body = {"seq": 1, "payload": value}
    try:
        data = event_bytes(body, plain=is_plain(body))
    except JournalInputError:
        return
    import json

    assert canonical_bytes(json.loads(data)) == data


def test_a_float_rfc8785_writes_as_a_huge_integer_is_refused() -> None:
    with pytest.raises(JournalInputError, match="does not read back"):
        event_bytes({"payload": {"grams": 1e20}}, plain=False)
    assert event_bytes({"payload": {"ratio": 0.25}}, plain=False) == b'{"payload":{"ratio":0.25}}'
