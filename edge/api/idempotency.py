"""`Idempotency-Key` on the actions the screens send: the first answer to a key is kept
(edge.hub.idempotency) and given again to every resend of it, so an action the PWA's outbox
sends twice (the answer was lost on the way back) is journalled once. A resend with another
body, route or operator is refused (422 `idempotency_key_reused`)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from edge.api.errors import ApiError
from edge.api.models import ActionResult
from edge.api.services import HubServices
from edge.hub.idempotency import (
    IDEMPOTENCY_FILE,
    KEY_PATTERN,
    IdempotencyStore,
    KeyRecord,
    fingerprint,
    now,
)
from edge.hub.runtime import Hub, Keyed
from edge.operators import Principal
from stations.workflow import WorkflowInput, WorkflowRefused

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"  # on an answer given again from the record
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description="A key the client made for this action (8–128 of A-Z a-z 0-9 . _ : -); "
        "a resend with the same key gets the first answer and writes nothing",
    ),
]

_STORE_ATTR = "_idempotency_store"  # one store per hub, kept on it (a Hub is not hashable)
_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def store_for(hub: Hub) -> IdempotencyStore:
    found = getattr(hub, _STORE_ATTR, None)
    if not isinstance(found, IdempotencyStore):
        found = IdempotencyStore(hub.data_dir / IDEMPOTENCY_FILE)
        setattr(hub, _STORE_ATTR, found)
        weakref.finalize(hub, found.close)  # closed with the hub, not left to the collector
    return found


def _replay(record: KeyRecord) -> JSONResponse:
    assert record.status is not None and record.response is not None
    return JSONResponse(record.response, status_code=record.status, headers={REPLAYED: "true"})


def _recovered(hub: Hub, record: KeyRecord) -> dict[str, Any] | None:
    """A key started before the hub stopped: its events, if the journal has them."""
    events = [
        event.as_stored()
        for event in hub.journal.reader.events(record.journal_size + 1)
        if event.payload.get("idempotency_key") == record.key
    ]
    if not events:
        return None
    return {"message": "Done (recorded before the station restarted).", "events": events}


async def once(
    services: HubServices,
    key: str | None,
    who: Principal,
    route: str,
    body: BaseModel | None,
    item: WorkflowInput,
) -> ActionResult | JSONResponse:
    """Run `item` for this route, once per key (no key: every time)."""
    hub = services.hub
    if key is None:
        return ActionResult(**(await hub.handle(item)).as_json())
    if not KEY_PATTERN.fullmatch(key):
        raise ApiError(
            422,
            "invalid_idempotency_key",
            f"{HEADER}: 8 to 128 of the characters A-Z a-z 0-9 . _ : -",
        )
    store = store_for(hub)
    digest = fingerprint(route, who.operator_id, body.model_dump(mode="json") if body else None)
    lock = _locks.get(key)
    if lock is None:
        lock = _locks[key] = asyncio.Lock()
    async with lock:  # a resend while the first is still running waits for its answer
        size = await asyncio.to_thread(hub.journal.reader.size)
        record = await asyncio.to_thread(
            store.begin, key, digest, who.operator_id, route, size, now()
        )
        if record is not None:
            if record.fingerprint != digest:
                raise ApiError(
                    422,
                    "idempotency_key_reused",
                    f"{HEADER} {key} was used for another request "
                    f"({record.route} by {record.operator}): make a new key for a new action",
                )
            if record.status is not None:
                log.info("idempotent replay key=%s route=%s", key, route)
                return _replay(record)
            recovered = await asyncio.to_thread(_recovered, hub, record)
            if recovered is not None:
                await asyncio.to_thread(store.finish, key, 200, recovered)
                return JSONResponse(recovered, headers={REPLAYED: "true"})
        try:
            result = await hub.handle(Keyed(item, key))
        except WorkflowRefused as exc:
            answer = {"error": exc.code, "message": exc.message}
            await asyncio.to_thread(store.finish, key, exc.status, answer)
            raise
        except ApiError as exc:
            if exc.status < 500:
                answer = {"error": exc.code, "message": exc.message}
                await asyncio.to_thread(store.finish, key, exc.status, answer)
            else:
                await asyncio.to_thread(store.forget, key)
            raise
        except BaseException:
            await asyncio.to_thread(store.forget, key)
            raise
        done = ActionResult(**result.as_json())
        await asyncio.to_thread(store.finish, key, 200, done.model_dump(mode="json"))
        return done
