"""A batch body the wire format refuses, told to the admins like any other refused batch: an
alert naming the station (its row) and the event at fault, so no refusal is silent upstream."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

from edge.api.errors import validation_details, validation_message
from edge.upstream.ingest import InvalidBatch

MAX_ALERT_DETAILS = 3


def wire_refusal(raw: bytes, exc: ValidationError) -> InvalidBatch:
    """The refusal as an `InvalidBatch`: what was wrong, and the seq of the event it was in
    (read from the body, when the body parses that far)."""
    details = validation_details(exc.errors())
    message = validation_message(details[:MAX_ALERT_DETAILS])
    index = next((i for i in map(_event_index, (d["loc"] for d in details)) if i is not None), None)
    seq = _seq_of(raw, index) if index is not None else None
    return InvalidBatch(f"event {seq}: {message}" if seq is not None else message, seq)


def _event_index(loc: list[Any]) -> int | None:
    """The position in the batch a pydantic error points at (`loc` ["events", i, …])."""
    if len(loc) >= 2 and loc[0] == "events" and isinstance(loc[1], int):
        return loc[1]
    return None


def _seq_of(raw: bytes, index: int) -> int | None:
    try:
        seq = orjson.loads(raw)["events"][index]["seq"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None
