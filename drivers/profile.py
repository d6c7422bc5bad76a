"""The station profile (TOML): which devices sit in which named slot, and how to reach them.

Devices bind to slots by stable paths (`/dev/serial/by-id/…`, `/dev/input/by-id/…`,
`/dev/v4l/by-id/…`), never by `/dev/ttyUSB0` order, so a replug or a reboot cannot swap the
dock scale with the bench scale.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from edge.bus.topics import DEVICE_ID
from edge.journal.errors import JournalInputError
from edge.journal.events import check_station_id

Options = TypeVar("Options", bound=BaseModel)


class ProfileError(ValueError):
    """The profile cannot be used; the message names the file, the slot and the problem."""


class RootOnly:
    """Field metadata: the value names what the station runs, reads or sends custody to (a
    program, a file or folder, a network address), so only the profile file on the station sets
    it, never an HTTP request (`stations.profile_lock`). A model's extra keys (a device's driver
    options) count as root-only too."""

    def __repr__(self) -> str:
        return "ROOT_ONLY"


ROOT_ONLY: Final = RootOnly()


class DeviceSlot(BaseModel):
    """One `[devices.<id>]` table. Options beyond `kind` and `path` belong to the driver."""

    model_config = ConfigDict(extra="allow", frozen=True)
    id: str
    kind: Annotated[str, ROOT_ONLY] = Field(min_length=1)
    path: Annotated[str | None, ROOT_ONLY] = None
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _device_id(cls, value: str) -> str:
        if not DEVICE_ID.fullmatch(value):
            raise ValueError("slot names are 1-63 of a-z, 0-9, '_' or '-', starting alphanumeric")
        return value

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class BusSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # An address or host name, nothing else: it is written into the broker's config file.
    host: Annotated[str, ROOT_ONLY] = Field(
        "127.0.0.1", pattern=r"^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$"
    )
    port: Annotated[int, ROOT_ONLY] = Field(1883, ge=1, le=65535)


class StationProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    site: str
    station: str
    role: str = "dock"
    bus: BusSettings = BusSettings()
    devices: tuple[DeviceSlot, ...] = ()

    @field_validator("site", "station")
    @classmethod
    def _ids(cls, value: str, info: ValidationInfo) -> str:
        try:
            return check_station_id(str(info.field_name), value)
        except JournalInputError as exc:
            raise ValueError(str(exc)) from None

    def device(self, device_id: str) -> DeviceSlot:
        for slot in self.devices:
            if slot.id == device_id:
                return slot
        raise ProfileError(f"no device slot {device_id!r} in the profile")


def parse_profile(data: dict[str, Any], source: str = "profile") -> StationProfile:
    station = data.get("station", {})
    devices = data.get("devices", {})
    if not isinstance(station, dict) or not isinstance(devices, dict):
        raise ProfileError(f"{source}: [station] and [devices.<slot>] must be tables")
    try:
        return StationProfile.model_validate(
            {
                **station,
                "bus": data.get("bus", {}),
                "devices": [
                    {**slot, "id": slot_id} if isinstance(slot, dict) else slot
                    for slot_id, slot in devices.items()
                ],
            }
        )
    except ValidationError as exc:
        raise ProfileError(f"{source}: {_problems(exc)}") from None


def slot_options(model: type[Options], slot: DeviceSlot, **fixed: Any) -> Options:
    """A driver's options model from its slot (plus `fixed` fields such as the path); a
    mistake becomes a `ProfileError` naming the slot and every problem."""
    try:
        return model.model_validate({**fixed, **slot.options})
    except ValidationError as exc:
        raise ProfileError(f"device {slot.id!r}: {_problems(exc)}") from None


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def load_profile(path: Path) -> StationProfile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile {path} is not valid TOML: {exc}") from None
    return parse_profile(data, str(path))
