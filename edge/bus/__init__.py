"""The station's MQTT bus: topic scheme, payloads, the paho client, outbox and broker."""

from edge.bus.broker import BrokerLayout, PrivateBroker, load_or_create_credentials
from edge.bus.client import BusClient, BusConfig, BusStats, Will
from edge.bus.dedupe import SeenReadings
from edge.bus.outbox import Outbox, OutboxEntry, OutboxError
from edge.bus.payloads import PayloadError, decode
from edge.bus.topics import TopicError, Topics

__all__ = [
    "BrokerLayout",
    "BusClient",
    "BusConfig",
    "BusStats",
    "Outbox",
    "OutboxEntry",
    "OutboxError",
    "PayloadError",
    "PrivateBroker",
    "SeenReadings",
    "TopicError",
    "Topics",
    "Will",
    "decode",
    "load_or_create_credentials",
]
