"""A cradle's profile entry: which platforms to watch, which executables to run, time limits."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.cradle.report import Platform


class CradleProfile(BaseModel):
    """`[devices.NAME]` with `kind = "cradle"`; executables are names on PATH or full paths."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["cradle"] = "cradle"
    platforms: tuple[Platform, ...] = ("android", "ios")
    adb: str = "adb"
    idevice_id: str = "idevice_id"
    ideviceinfo: str = "ideviceinfo"
    idevicediagnostics: str = "idevicediagnostics"
    poll_interval: float = Field(default=1.0, gt=0)  # seconds between device listings
    list_timeout: float = Field(default=5.0, gt=0)  # for `adb devices -l`, `idevice_id -l`
    read_timeout: float = Field(default=15.0, gt=0)  # for each command that reads a phone
