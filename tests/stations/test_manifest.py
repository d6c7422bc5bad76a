"""Manifest import: CSV and JSON, every refusal with its position, round trips, changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stations.catalogue import Catalogue, WeightBand
from stations.condition import BatteryBand, DeclaredCondition, Screen
from stations.manifest import (
    ExpectedReturn,
    ManifestError,
    ReturnStatus,
    detect_format,
    manifest_changes,
    parse_manifest,
)

CATALOGUE = Catalogue.builtin()
IMEI = "490154203237518"  # valid Luhn check digit
OTHER_IMEI = "356938035643809"

HEADER = (
    "return_id,label_codes,customer_ref,make,model,storage,colour,declared_imei,"
    "screen,body,battery,function,accessories,quote,currency,status,expires_at,"
    "weight_min_grams,weight_max_grams,packaging"
)
ROW_1 = (
    "RET-2026-000001,1Z999AA10123456784|RET-2026-000001,CUST-77,Apple,iPhone 13,128 gb,Midnight,"
    f"{IMEI},minor_scratches,,87%,all_working,,123.45,eur,accepted,2026-03-01T01:00:00+01:00,,,"
)
ROW_2 = "RET-2026-000002,JJD0002,CUST-78,Google,Pixel 8,,,,,,,,,80,GBP,in_transit,,300,450,"


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode("utf-8")


def problems(exc: pytest.ExceptionInfo[ManifestError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_csv_rows_become_expected_returns() -> None:
    first, second = parse_manifest(csv_bytes(ROW_1, ROW_2), "csv", CATALOGUE)
    assert first.return_id == "RET-2026-000001"
    assert first.label_codes == ("1Z999AA10123456784", "RET-2026-000001")
    assert first.storage == "128GB"
    assert first.declared_imei == IMEI
    assert first.declared_condition == DeclaredCondition(
        screen=Screen.MINOR_SCRATCHES, battery=BatteryBand.GOOD, function="all_working"
    )
    assert first.quote == Decimal("123.45")
    assert first.currency == "EUR"
    assert first.status is ReturnStatus.ACCEPTED
    assert first.expires_at == datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    # Filled from the catalogue: iPhone 13 (174 g) in the default mailer-box.
    assert first.weight_band == WeightBand(
        min_grams=Decimal("297.8"), max_grams=Decimal("465.7"), source="catalogue"
    )
    assert second.weight_band == WeightBand(
        min_grams=Decimal(300), max_grams=Decimal(450), source="manifest"
    )
    assert second.declared_condition == DeclaredCondition()
    assert second.storage is None and second.colour is None and second.declared_imei is None


def test_unknown_model_gets_the_default_band() -> None:
    row = "R-9,L-9,C-9,Nokia,3310,,,,,,,,,5,EUR,accepted,,,,padded-envelope"
    (record,) = parse_manifest(csv_bytes(row), "csv", CATALOGUE)
    assert record.weight_band is not None and record.weight_band.source == "default"
    assert record.packaging == "padded-envelope"


def test_columns_may_come_in_any_order_and_optional_ones_may_be_left_out() -> None:
    data = b"status,currency,quote,model,make,customer_ref,label_codes,return_id\n"
    data += b"accepted,USD,10,iPhone 14,Apple,C1,L1,R1\n"
    (record,) = parse_manifest(data, "csv", CATALOGUE)
    assert (record.return_id, record.quote, record.currency) == ("R1", Decimal(10), "USD")


def test_semicolon_separated_csv_from_a_spreadsheet() -> None:
    data = csv_bytes(ROW_2.replace(",", ";"), header=HEADER.replace(",", ";"))
    (record,) = parse_manifest(data, "csv", CATALOGUE)
    assert record.return_id == "RET-2026-000002"


def test_utf8_bom_and_blank_lines_are_accepted() -> None:
    data = b"\xef\xbb\xbf" + csv_bytes(ROW_1, "", ROW_2)
    assert [r.return_id for r in parse_manifest(data, "csv", CATALOGUE)] == [
        "RET-2026-000001",
        "RET-2026-000002",
    ]


def test_csv_line_numbers_count_quoted_newlines() -> None:
    quoted = 'R-1,"L-1",C-1,Apple,"iPhone\n13",,,,,,,,,1,EUR,accepted,,,,'
    bad = "R-2,L-2,C-2,Apple,iPhone 13,,,,,,,,,x,EUR,accepted,,,,"
    with pytest.raises(ManifestError) as exc:
        parse_manifest(csv_bytes(quoted, bad), "csv", CATALOGUE)
    assert problems(exc)[-1].startswith("line 4: quote:")


def json_record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "return_id": "R-1",
        "label_codes": ["L-1"],
        "customer_ref": "C-1",
        "make": "Apple",
        "model": "iPhone 15",
        "quote": "250.00",
        "currency": "EUR",
        "status": "accepted",
    }
    record.update(overrides)
    return record


def test_json_list_and_envelope_give_the_same_records() -> None:
    records = [
        json_record(battery=79, screen="cracked"),
        json_record(return_id="R-2", label_codes=["L-2"], quote=99),
    ]
    plain = parse_manifest(json.dumps(records).encode(), "json", CATALOGUE)
    wrapped = parse_manifest(json.dumps({"returns": records}).encode(), "json", CATALOGUE)
    assert plain == wrapped
    assert plain[0].declared_condition == DeclaredCondition(
        screen=Screen.CRACKED, battery=BatteryBand.POOR
    )
    assert plain[1].quote == Decimal(99)


def test_every_bad_record_is_listed_with_position_field_and_reason() -> None:
    rows = [
        ROW_1,
        "RET-2026-000003,JJD3,C-3,Apple,iPhone 13,,,490154203237519,,,,,,12.345,EUR,accepted,,,,",
        "RET-2026-000001,JJD4,C-4,Apple,iPhone 13,,,,,,,,,abc,EURO,shipped,2026-03-01T00:00:00,,,",
        "RET-2026-000005,1Z999AA10123456784,C-5,Apple,iPhone 13,,,4901542032375,,,,,,1,EUR,"
        "accepted,,,,",
    ]
    with pytest.raises(ManifestError) as exc:
        parse_manifest(csv_bytes(*rows), "csv", CATALOGUE, source="returns.csv")
    assert problems(exc) == [
        "line 3: declared_imei: IMEI check digit wrong",
        "line 3: quote: must be an amount such as \"123.45\": digits, '.' and at most "
        "2 decimals, below 10^9",
        "line 4: return_id: return 'RET-2026-000001' is already listed at line 2",
        "line 4: quote: must be an amount such as \"123.45\": digits, '.' and at most "
        "2 decimals, below 10^9",
        "line 4: currency: currency is an ISO 4217 code such as EUR or USD",
        "line 4: status: Input should be 'accepted', 'in_transit', 'received', 'cancelled' "
        "or 'expired'",
        "line 4: expires_at: expires_at needs a timezone, e.g. 2026-03-01T00:00:00Z",
        "line 5: label_codes: label '1Z999AA10123456784' is also claimed by return "
        "'RET-2026-000001' at line 2",
        "line 5: declared_imei: IMEI must be 15 digits, got 13",
    ]
    assert str(exc.value).startswith("returns.csv: 9 problems\n  line 3: declared_imei:")


@pytest.mark.parametrize(
    ("quote", "reason"),
    [
        (1e20, "a number with a fraction or exponent (1e+20) is refused: money is never a float"),
        (12.5, "a number with a fraction or exponent (12.5) is refused"),
        ("abc", 'must be an amount such as "123.45"'),
        ("1e20", 'must be an amount such as "123.45"'),
        ("-5", 'must be an amount such as "123.45"'),
        ("1,50", 'must be an amount such as "123.45"'),
        (True, "not true/false"),
        (10**12, "below 10^9"),
    ],
)
def test_bad_quotes_in_json(quote: object, reason: str) -> None:
    data = json.dumps([json_record(quote=quote)]).encode()
    with pytest.raises(ManifestError) as exc:
        parse_manifest(data, "json", CATALOGUE)
    (problem,) = exc.value.problems
    assert (problem.position, problem.field) == ("record 0", "quote")
    assert reason in problem.reason


@pytest.mark.parametrize(
    ("imei", "reason"),
    [
        ("490154203237519", "IMEI check digit wrong"),
        ("49015420323751", "IMEI must be 15 digits, got 14"),
        ("4901542032375181", "IMEI must be 15 digits, got 16"),
        ("49015420323751X", "IMEI must be digits only"),
    ],
)
def test_bad_imei(imei: str, reason: str) -> None:
    data = json.dumps([json_record(declared_imei=imei)]).encode()
    with pytest.raises(ManifestError) as exc:
        parse_manifest(data, "json", CATALOGUE)
    assert problems(exc) == [f"record 0: declared_imei: {reason}"]


def test_imei_separators_are_dropped() -> None:
    data = json.dumps([json_record(declared_imei="49-015420-323751-8")]).encode()
    assert parse_manifest(data, "json", CATALOGUE)[0].declared_imei == IMEI


def test_stray_csv_column_is_named() -> None:
    with pytest.raises(ManifestError) as exc:
        parse_manifest(csv_bytes(ROW_2 + ",x", header=HEADER + ",Grade"), "csv", CATALOGUE)
    assert problems(exc) == [
        f"line 1: unknown column(s): 'grade'; known: {HEADER.replace(',', ', ')}"
    ]


def test_missing_and_repeated_columns() -> None:
    with pytest.raises(ManifestError) as exc:
        parse_manifest(b"return_id,make,make\nR1,Apple,Apple\n", "csv", CATALOGUE)
    assert problems(exc) == [
        "line 1: column(s) named twice: make",
        "line 1: missing column(s): label_codes, customer_ref, model, quote, currency, status",
    ]


def test_row_with_the_wrong_number_of_fields() -> None:
    with pytest.raises(ManifestError) as exc:
        parse_manifest(csv_bytes(ROW_2 + ",extra"), "csv", CATALOGUE)
    assert problems(exc) == ["line 2: has 21 fields, the header has 20"]


def test_empty_required_cell() -> None:
    with pytest.raises(ManifestError) as exc:
        parse_manifest(csv_bytes(ROW_2.replace("CUST-78", "")), "csv", CATALOGUE)
    assert problems(exc) == ["line 2: customer_ref: required, but missing or empty"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the manifest is empty"),
        (b"\xef\xbb\xbf \n", "the manifest is empty"),
        (
            b"return_id\nR-\xe9\n",
            "not UTF-8 text (byte 0xe9 at offset 12); export the file as UTF-8",
        ),
    ],
)
def test_unreadable_files(data: bytes, reason: str) -> None:
    with pytest.raises(ManifestError) as exc:
        parse_manifest(data, "csv", CATALOGUE)
    assert problems(exc) == [f"file: {reason}"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[{", "not valid JSON"),
        ('{"items": []}', "unknown key(s): items"),
        ("42", 'expected a list of returns or {"returns": [...]}'),
        ('[{"quote": NaN}]', "NaN is not a number"),
        ('[{"quote": "1", "quote": "2"}]', "key 'quote' appears twice"),
    ],
)
def test_bad_json_documents(text: str, reason: str) -> None:
    with pytest.raises(ManifestError) as exc:
        parse_manifest(text.encode(), "json", CATALOGUE)
    assert reason in problems(exc)[0]


def test_json_record_problems() -> None:
    data = json.dumps(
        [
            "not an object",
            json_record(return_id="R 1", label_codes="L-1", colour_name="red"),
        ]
    ).encode()
    with pytest.raises(ManifestError) as exc:
        parse_manifest(data, "json", CATALOGUE)
    assert problems(exc) == ["record 0: is not an object"]
    with pytest.raises(ManifestError) as exc:
        parse_manifest(json.dumps(json.loads(data)[1:]).encode(), "json", CATALOGUE)
    assert problems(exc) == [
        "record 0: unknown field(s): 'colour_name'",
        "record 0: return_id: String should match pattern '^[A-Za-z0-9._-]{1,64}$'",
        "record 0: label_codes: label_codes is a list of label texts",
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"label_codes": []}, "label_codes", "at least 1 item"),
        ({"label_codes": ["A", " A "]}, "label_codes", "label code 'A' is listed twice"),
        ({"label_codes": ["A\tB"]}, "label_codes", "control characters"),
        ({"weight_min_grams": "300"}, "weight_min_grams", "give both"),
        (
            {"weight_min_grams": 300.5, "weight_max_grams": 400},
            "weight_min_grams",
            "decimal string",
        ),
        (
            {"weight_min_grams": "500", "weight_max_grams": "400"},
            "weight_min_grams",
            "above its maximum",
        ),
        ({"packaging": "crate"}, "packaging", "unknown packaging 'crate'"),
        (
            {"packaging": "crate", "weight_min_grams": "1", "weight_max_grams": "2"},
            "packaging",
            "unknown packaging 'crate'",
        ),
        ({"storage": "lots"}, "storage", "storage is a size such as 128GB"),
        ({"battery": 120}, "battery", "0-100"),
        ({"screen": "shattered"}, "screen", "Input should be 'flawless'"),
        ({"expires_at": 1767225600}, "expires_at", "timestamp such as"),
    ],
)
def test_field_rules(overrides: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(ManifestError) as exc:
        parse_manifest(json.dumps([json_record(**overrides)]).encode(), "json", CATALOGUE)
    (problem,) = exc.value.problems
    assert problem.field == field
    assert reason in problem.reason


def test_detect_format() -> None:
    assert detect_format("returns.JSON", b"") == "json"
    assert detect_format("returns.csv", b"[") == "csv"
    assert detect_format("upload", b'\xef\xbb\xbf  [{"a": 1}]') == "json"
    assert detect_format("upload", b"return_id,make\n") == "csv"
    with pytest.raises(ManifestError, match="export as CSV"):
        detect_format("returns.xlsx", b"PK\x03\x04")


def test_record_round_trip_is_plain_json() -> None:
    (record,) = parse_manifest(csv_bytes(ROW_1), "csv", CATALOGUE)
    stored = record.to_record()
    text = json.dumps(stored)

    def no_float(value: str) -> object:
        raise AssertionError(f"float {value} in a stored record")

    assert ExpectedReturn.from_record(json.loads(text, parse_float=no_float)) == record
    assert stored["quote"] == "123.45"
    assert stored["expires_at"] == "2026-03-01T00:00:00.000000Z"
    assert stored["label_codes"] == ["1Z999AA10123456784", "RET-2026-000001"]
    assert stored["weight_band"] == {
        "min_grams": "297.8",
        "max_grams": "465.7",
        "source": "catalogue",
    }
    assert stored["declared_condition"] == {
        "screen": "minor_scratches",
        "body": None,
        "battery": "good",
        "function": "all_working",
        "accessories": None,
    }


def test_from_record_refuses_a_float_quote() -> None:
    (record,) = parse_manifest(csv_bytes(ROW_2), "csv", CATALOGUE)
    stored = {**record.to_record(), "quote": 80.0}
    with pytest.raises(ManifestError, match="money is never a float"):
        ExpectedReturn.from_record(stored)


def test_reimporting_the_same_file_changes_nothing() -> None:
    data = csv_bytes(ROW_1, ROW_2)
    first = parse_manifest(data, "csv", CATALOGUE)
    created = manifest_changes({}, first)
    assert [(c.change, c.return_id, c.fields) for c in created] == [
        ("created", "RET-2026-000001", ()),
        ("created", "RET-2026-000002", ()),
    ]
    current = {r.return_id: r for r in first}
    assert manifest_changes(current, parse_manifest(data, "csv", CATALOGUE)) == []


def test_changed_fields_are_named() -> None:
    current = {r.return_id: r for r in parse_manifest(csv_bytes(ROW_1, ROW_2), "csv", CATALOGUE)}
    changed_row = ROW_2.replace(",80,GBP,in_transit,", ",75.50,GBP,received,")
    new_row = "R-3,L-3,C-3,Apple,iPhone 15,,,,,,,,,1,EUR,accepted,,,,"
    changes = manifest_changes(
        current, parse_manifest(csv_bytes(changed_row, new_row), "csv", CATALOGUE)
    )
    assert [(c.change, c.return_id, c.fields) for c in changes] == [
        ("updated", "RET-2026-000002", ("quote", "status")),
        ("created", "R-3", ()),
    ]
    payload = changes[0].to_payload()
    assert payload["change"] == "updated" and payload["fields"] == ["quote", "status"]
    assert isinstance(payload["record"], dict) and payload["record"]["quote"] == "75.50"


def test_duplicate_ids_in_incoming_changes_are_refused() -> None:
    (record,) = parse_manifest(csv_bytes(ROW_2), "csv", CATALOGUE)
    with pytest.raises(ManifestError, match="appears twice"):
        manifest_changes({}, [record, record])


label_text = st.text(
    alphabet=st.characters(
        categories=("L", "N", "P", "S"), max_codepoint=0x2FF, exclude_characters="|"
    ),
    min_size=1,
    max_size=20,
)


@given(
    quote=st.decimals(
        min_value=0, max_value=10**8, places=2, allow_nan=False, allow_infinity=False
    ),
    labels=st.lists(label_text, min_size=1, max_size=4, unique=True),
    battery=st.none() | st.integers(min_value=0, max_value=100),
    imei=st.sampled_from([None, IMEI, OTHER_IMEI]),
)
def test_any_valid_record_survives_the_storage_round_trip(
    quote: Decimal, labels: list[str], battery: int | None, imei: str | None
) -> None:
    record = ExpectedReturn.model_validate(
        json_record(
            quote=str(quote),
            label_codes=labels,
            declared_imei=imei,
            declared_condition={"battery": battery},
        )
    )
    again = ExpectedReturn.from_record(json.loads(json.dumps(record.to_record())))
    assert again == record
    assert manifest_changes({record.return_id: record}, [again]) == []
