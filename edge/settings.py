"""Station settings from the environment (EDGE_*), overridable by CLI options."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path("var/station")


@dataclass(frozen=True)
class StationSettings:
    data_dir: Path
    site: str | None
    station: str | None

    @classmethod
    def from_env(cls) -> StationSettings:
        return cls(
            data_dir=Path(os.environ.get("EDGE_DATA_DIR", DEFAULT_DATA_DIR)),
            site=os.environ.get("EDGE_SITE") or None,
            station=os.environ.get("EDGE_STATION") or None,
        )
