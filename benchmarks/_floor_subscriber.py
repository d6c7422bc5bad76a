"""The floor's bare hub, its own process: paho QoS 1 subscriber that commits one INSERT per message
(WAL, synchronous=FULL, the journal's table shape) and prints `time.perf_counter()` after each
commit. Usage: _floor_subscriber.py PORT USER PASSWORD TOPIC DB."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BARE_SCHEMA

from edge.bus.payloads import now


def main() -> None:
    port, user, password, topic, db = sys.argv[1:6]
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.executescript(BARE_SCHEMA)
    subscribed = threading.Event()

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        digest = hashlib.sha256(message.payload).digest()
        conn.execute(
            "INSERT INTO events (event_id, type, subject, ts, body, hash, nodes)"
            " VALUES (?, 'label.scanned', 'R-000001', ?, ?, ?, ?)",
            (secrets.token_hex(16), now().isoformat(), message.payload, digest, digest),
        )
        print(time.perf_counter(), flush=True)

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"edge-floor-{secrets.token_hex(4)}",  # the broker takes edge-… ids only
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.username_pw_set(user, password)
    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect("127.0.0.1", int(port))
    client.subscribe(topic, qos=1)
    client.loop_start()
    if not subscribed.wait(10):
        sys.exit("floor subscriber: no SUBACK")
    print("ready", flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
    client.disconnect()
    client.loop_stop()
    conn.close()


if __name__ == "__main__":
    main()
