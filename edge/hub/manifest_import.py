"""A manifest import (a file, the API, or the upstream's feed) as `manifest.synced` events.

Labels stay with one return, and a return the upstream's feed brought is the upstream's: a
local import may not change it (docs/manifest.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.hub.state import UPSTREAM_OWNER, HubState
from edge.journal import EventType
from stations.manifest import ExpectedReturn, manifest_changes
from stations.workflow import Outcome, WorkflowRefused


@dataclass(frozen=True)
class ManifestImport:
    """Expected returns from a file, the API or the upstream's feed (`source` "upstream")."""

    records: tuple[ExpectedReturn, ...]
    source: str
    operator: str


def manifest_outcome(item: ManifestImport, state: HubState) -> Outcome:
    """One `manifest.synced` per created or changed return; WorkflowRefused for a label held
    by another return or a local change to a return the upstream owns (nothing journalled)."""
    current = state.manifest_records()
    incoming = {record.return_id: record for record in item.records}
    from_upstream = item.source == UPSTREAM_OWNER
    taken: list[str] = []
    # The upstream owns the manifest: its feed takes a label a local return holds (journalled
    # with the return it came from), so no local import can stall the feed.
    moved: dict[str, dict[str, str]] = {}
    for record in item.records:
        for code in record.label_codes:
            holder = state.return_by_label(code)
            if holder is None or holder.return_id == record.return_id:
                continue
            if holder.return_id in incoming and code not in incoming[holder.return_id].label_codes:
                continue  # the same import may take the label from its holder (a label moved)
            if from_upstream and not state.upstream_owned([holder.return_id]):
                moved.setdefault(record.return_id, {})[code] = holder.return_id
                continue
            taken.append(f"{code} (held by {holder.return_id})")
    if taken:
        raise WorkflowRefused(
            "labels already belong to other returns: " + ", ".join(taken[:10]),
            code="label_taken",
        )
    changes = manifest_changes(current, item.records)
    if item.source != UPSTREAM_OWNER:
        owned = state.upstream_owned([c.return_id for c in changes])
        if owned:
            raise WorkflowRefused(
                f"returns owned by the upstream manifest cannot be changed here: "
                f"{', '.join(owned[:10])}{' …' if len(owned) > 10 else ''}; the upstream "
                "owns them, so change them there and the station gets the change",
                code="upstream_owned",
            )
    outcome = Outcome()
    for change in changes:
        payload: dict[str, Any] = {
            "change": change.change,
            "fields": list(change.fields),
            "source": item.source,
            "record": change.record.to_record(),
        }
        if change.record.return_id in moved:
            payload["labels_taken"] = moved[change.record.return_id]  # label → local return
        outcome.add(EventType.MANIFEST_SYNCED, change.record.return_id, item.operator, payload)
    count = len(outcome.events)
    outcome.message = f"{count} expected returns created or updated from {item.source}."
    return outcome
