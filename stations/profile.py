"""The hub's half of a station profile: which workflows run, with which rules and tools.

The same TOML file holds the devices (`[station]`, `[bus]`, `[devices.*]`, read by
`drivers.profile`) and the hub's sections read here: `[hub]`, `[receiving]`, `[moves]`,
`[erasure.tools.<platform>]`, `[disposition]`, `[catalogue]`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from drivers.profile import ROOT_ONLY, ProfileError, StationProfile, parse_profile
from stations.erasure_tool import ErasureToolConfig

Workflow = Literal["receiving", "bench", "erasure", "moves"]
# The flows a scan can feed: the dock (receiving) or the bench (identify a device; the erasure
# station identifies as a bench does). Moves take bin and unit labels whatever the flow.
Flow = Literal["dock", "bench"]
FLOW_WORKFLOWS: dict[Flow, tuple[Workflow, ...]] = {
    "dock": ("receiving",),
    "bench": ("bench", "erasure"),
}
KIND_FLOWS: dict[str, Flow] = {"scale": "dock", "camera": "dock", "cradle": "bench"}
ROLE_WORKFLOWS: dict[str, tuple[Workflow, ...]] = {
    "dock": ("receiving", "moves"),
    "bench": ("bench", "moves"),
    "erasure": ("erasure", "moves"),
    "handheld-gateway": ("moves",),
}


class HubSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    api_host: Annotated[str, ROOT_ONLY] = Field(
        "127.0.0.1", pattern=r"^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$"
    )
    api_port: Annotated[int, ROOT_ONLY] = Field(8080, ge=1, le=65535)
    workflows: tuple[Workflow, ...] | None = None  # default: the role's
    # Scans while nobody is signed in at the station become exceptions instead of custody
    # attributed to no one.
    require_operator: bool = True
    # Which flow each device slot's readings feed (`[hub.feeds]`, slot = "dock" | "bench"):
    # needed for the scanners of a station that runs both; otherwise taken from the station's
    # one flow, or the slot's kind (scale and camera: dock, cradle: bench).
    feeds: dict[str, Flow] = Field(default_factory=dict)


class ReceivingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    camera: str | None = None
    weight_reuse_s: float = Field(20.0, ge=0, le=600)
    min_package_grams: float = Field(5.0, ge=0)


class MovesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    bin_pattern: str = r"^BIN-[A-Z0-9][A-Z0-9-]{0,30}$"


class ErasureSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tools: Annotated[dict[str, ErasureToolConfig], ROOT_ONLY] = Field(
        default_factory=dict
    )  # by platform
    media_type: str = "flash"


class DispositionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # TOML files, relative to the profile; default: the shipped rules, no demand
    rules: Annotated[str | None, ROOT_ONLY] = None
    demand: Annotated[str | None, ROOT_ONLY] = None


class CatalogueSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    override: Annotated[str | None, ROOT_ONLY] = None


class UpstreamSettings(BaseModel):
    """Where the station's journal goes (docs/replication.md); no url: it stays local."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: Annotated[str | None, ROOT_ONLY] = Field(None, pattern=r"^https?://[^\s]{1,300}$")
    # the upstream's cosigner key (name+id+key, or a file holding it, relative to the profile)
    vkey: Annotated[str | None, ROOT_ONLY] = None
    # a CA bundle for the upstream's TLS certificate (the site CA)
    ca: Annotated[str | None, ROOT_ONLY] = None
    batch_events: int = Field(500, ge=64, le=1000)  # the journal signs every 64 events
    sign_after_s: float = Field(2.0, ge=0, le=600)  # sign an unsigned tail after this long
    manifest_every_s: float = Field(30.0, ge=1, le=86_400)
    backoff_max_s: float = Field(60.0, ge=1, le=3600)


class HubProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    station: StationProfile
    hub: HubSettings = HubSettings()
    receiving: ReceivingSettings = ReceivingSettings()
    moves: MovesSettings = MovesSettings()
    erasure: ErasureSettings = ErasureSettings()
    disposition: DispositionSettings = DispositionSettings()
    catalogue: CatalogueSettings = CatalogueSettings()
    upstream: UpstreamSettings = UpstreamSettings()
    folder: Path = Path()

    @property
    def workflows(self) -> tuple[Workflow, ...]:
        if self.hub.workflows is not None:
            return self.hub.workflows
        return ROLE_WORKFLOWS.get(self.station.role, ("moves",))

    @property
    def flows(self) -> tuple[Flow, ...]:
        """The station's scan flows, in profile order; a station with neither identifies
        devices (as its scans always did)."""
        runs = self.workflows
        found = tuple(f for f, names in FLOW_WORKFLOWS.items() if any(n in runs for n in names))
        return found or ("bench",)

    def slot_flow(self, device_id: str) -> Flow | None:
        """The flow a device slot's readings feed; None for a slot the profile does not know
        on a station with two flows."""
        if device_id in self.hub.feeds:
            return self.hub.feeds[device_id]
        flows = self.flows
        if len(flows) == 1:
            return flows[0]
        kind = next((s.kind for s in self.station.devices if s.id == device_id), None)
        by_kind = KIND_FLOWS.get(kind or "")
        return by_kind if by_kind in flows else None

    def resolve(self, name: str | None) -> Path | None:
        """A file named in the profile, relative to the profile's folder."""
        if name is None:
            return None
        path = Path(name)
        return path if path.is_absolute() else self.folder / path


HUB_SECTIONS = ("hub", "receiving", "moves", "erasure", "disposition", "catalogue", "upstream")


def parse_hub_profile(data: dict[str, Any], source: str, folder: Path) -> HubProfile:
    station = parse_profile(data, source)
    unknown = set(data) - {"station", "bus", "devices", *HUB_SECTIONS}
    if unknown:
        raise ProfileError(f"{source}: unknown sections {', '.join(sorted(unknown))}")
    if station.role not in ROLE_WORKFLOWS:
        raise ProfileError(
            f"{source}: station.role {station.role!r} is not one of {', '.join(ROLE_WORKFLOWS)}"
        )
    try:
        profile = HubProfile.model_validate(
            {
                "station": station,
                "folder": folder,
                **{k: data[k] for k in HUB_SECTIONS if k in data},
            }
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ProfileError(f"{source}: {problems}") from None
    _check_feeds(profile, source)
    camera = profile.receiving.camera
    if camera is not None:
        slot = station.device(camera)  # ProfileError if the slot is missing
        if slot.kind != "camera":
            raise ProfileError(f"{source}: receiving.camera {camera!r} is a {slot.kind}")
    return profile


def _check_feeds(profile: HubProfile, source: str) -> None:
    """Every fed slot exists and feeds a flow the station runs; on a station with two flows
    every scanner says which it feeds (a typed IMEI must not reach the dock as a label)."""
    flows = profile.flows
    for slot_id, flow in profile.hub.feeds.items():
        profile.station.device(slot_id)  # ProfileError if the slot is missing
        if flow not in flows:
            raise ProfileError(
                f"{source}: hub.feeds.{slot_id} = {flow!r}, but this station's flows are "
                f"{', '.join(flows)}"
            )
    if len(flows) > 1:
        for slot in profile.station.devices:
            if profile.slot_flow(slot.id) is None:
                raise ProfileError(
                    f"{source}: the station runs {' and '.join(flows)}: say which one device "
                    f'{slot.id!r} ({slot.kind}) feeds, in [hub.feeds] ({slot.id} = "dock")'
                )


def load_hub_profile(path: Path) -> HubProfile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile {path} is not valid TOML: {exc}") from None
    return parse_hub_profile(data, str(path), path.parent)
