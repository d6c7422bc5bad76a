"""Every size limit on what enters the station or the upstream, defined once.

The bus, the HTTP API, the journal and the upstream's ingest all import these, so whatever the
journal accepts the upstream accepts, and no entry is wider than the ones behind it.
"""

from __future__ import annotations

# A scanned or typed code (label, IMEI, serial, bin): the longest real symbol we meet is a GS1
# DataMatrix/QR with several AIs; 512 characters is well over any of them.
MAX_CODE_LENGTH = 512
# A name-like field of an event (subject, operator, station, site, device slot).
MAX_NAME_LENGTH = 200
# A person's free text (a note, a reason).
MAX_NOTE_LENGTH = 1000
# One custody event as stored (its canonical JSON, payload included).
MAX_EVENT_BYTES = 256 * 1024
# Events in one replication batch.
MAX_BATCH_EVENTS = 1000
# One MQTT payload a subscriber will parse (photos travel through the blob store, not the bus).
MAX_BUS_PAYLOAD_BYTES = 64 * 1024
# One HTTP request body, read before any parsing (JSON bodies: sign-in, scans, profile...).
MAX_JSON_BODY_BYTES = 1024 * 1024
# One uploaded blob (a photo, a diagnostics log, a certificate), streamed with its own cap.
MAX_BLOB_BYTES = 64 * 1024 * 1024
# A manifest import (CSV or JSON body) sent to the hub or the upstream.
MAX_MANIFEST_BODY_BYTES = 32 * 1024 * 1024
# Failed sign-in counts kept (one per client address and badge/operator id, one per address):
# beyond this the oldest are forgotten, so made-up badges cannot grow operators.db without end.
MAX_SIGN_IN_FAILURE_ROWS = 10_000
# One replication batch's request body at the upstream: every event at its largest, base64 in
# JSON (4/3), plus the checkpoint note. Only a known station's token gets it read.
MAX_BATCH_BODY_BYTES = MAX_BATCH_EVENTS * (MAX_EVENT_BYTES * 4 // 3 + 64) + 64 * 1024
# Blob bytes one station may have the upstream store (photos, logs, certificates its events
# name): what a leaked station token can cost in disk. A busy dock makes well under 1 GiB a day.
MAX_STATION_BLOB_BYTES = 1024**4
# Nesting of a custody event's payload (objects and lists inside each other); real payloads are
# three or four deep, and a bound keeps every reader's recursion (JSON, pydantic) far from its own.
MAX_PAYLOAD_DEPTH = 32
# One property list a phone tool prints (`ideviceinfo -x`, `idevicediagnostics ioregentry`),
# checked before parsing: real ones are tens of KB; a bound keeps a phone's answer out of memory.
MAX_TOOL_PLIST_BYTES = 1024 * 1024
# An Idempotency-Key header (the PWA's outbox sends 32 hex digits; UUIDs and ULIDs fit too).
MAX_IDEMPOTENCY_KEY_LENGTH = 128
# Idempotency keys the hub remembers (idempotency.db): beyond this the oldest are forgotten, so
# made-up keys cannot grow the file without end. A week of a busy dock is a few thousand.
MAX_IDEMPOTENCY_KEYS = 100_000
