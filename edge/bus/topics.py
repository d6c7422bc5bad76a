"""The topic scheme: `edge/{site}/{station}/…`, built and parsed in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ReadingKind = Literal["scan", "weight", "photo", "diag", "reply"]
READING_KINDS: tuple[ReadingKind, ...] = ("scan", "weight", "photo", "diag", "reply")
DEVICE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
VERB = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class TopicError(ValueError):
    """A topic, device id or verb that does not fit the scheme."""


def check_device_id(device_id: str) -> str:
    """Device ids are profile slot names: lower-case, no MQTT wildcards or separators."""
    if not DEVICE_ID.fullmatch(device_id):
        raise TopicError(
            f"device id {device_id!r}: use 1-63 of a-z, 0-9, '_' or '-', starting alphanumeric"
        )
    return device_id


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    kind: str  # "status", "journal", "dev-status", a reading kind, or "cmd"
    device_id: str | None = None
    verb: str | None = None


@dataclass(frozen=True, slots=True)
class Topics:
    site: str
    station: str

    @property
    def root(self) -> str:
        return f"edge/{self.site}/{self.station}"

    @property
    def status(self) -> str:
        return f"{self.root}/status"

    @property
    def journal(self) -> str:
        return f"{self.root}/journal"

    @property
    def all_devices(self) -> str:
        return f"{self.root}/dev/#"

    def device_status(self, device_id: str) -> str:
        return f"{self.root}/dev/{check_device_id(device_id)}/status"

    def reading(self, device_id: str, kind: ReadingKind) -> str:
        return f"{self.root}/dev/{check_device_id(device_id)}/{kind}"

    def command(self, device_id: str, verb: str) -> str:
        if not VERB.fullmatch(verb):
            raise TopicError(f"command verb {verb!r}: use a-z, 0-9, '_' or '-'")
        return f"{self.root}/cmd/{check_device_id(device_id)}/{verb}"

    def commands_for(self, device_id: str) -> str:
        return f"{self.root}/cmd/{check_device_id(device_id)}/+"

    def parse(self, topic: str) -> ParsedTopic:
        """Split a topic of this station; `TopicError` for anything else."""
        prefix = self.root + "/"
        if not topic.startswith(prefix):
            raise TopicError(f"topic {topic!r} is not under {self.root}")
        parts = topic[len(prefix) :].split("/")
        device_ok = len(parts) == 3 and DEVICE_ID.fullmatch(parts[1]) is not None
        match parts:
            case ["status"]:
                return ParsedTopic("status")
            case ["journal"]:
                return ParsedTopic("journal")
            case ["dev", device_id, "status"] if device_ok:
                return ParsedTopic("dev-status", device_id)
            case ["dev", device_id, kind] if device_ok and kind in READING_KINDS:
                return ParsedTopic(kind, device_id)
            case ["cmd", device_id, verb] if device_ok and VERB.fullmatch(verb):
                return ParsedTopic("cmd", device_id, verb)
        raise TopicError(f"topic {topic!r} is not in the topic scheme")
