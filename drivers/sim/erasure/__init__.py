"""A stand-in mobile-erasure CLI (`edge-sim-erase`) for the erasure station's tests and demo.

Name `TOOL` in the station's erasure config (or put `SIM_DIR` first on PATH) and choose its
behaviour with $EDGE_SIM_ERASE: ok (default), fail (the erase exits 3), verify_fail (the erase
succeeds, the verify exits 4), hang (the erase never finishes), garbage (binary output, exit 0,
no result line) or flood (8 MiB of output). $EDGE_SIM_ERASE_LOG names a JSON-lines file each call
is appended to ({"pid", "argv", "scenario"}).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stations.erasure_tool import ErasureToolConfig

SIM_DIR = Path(__file__).resolve().parent
TOOL = SIM_DIR / "edge-sim-erase"
SCENARIOS = ("ok", "fail", "verify_fail", "hang", "garbage", "flood")
SCENARIO_ENV = "EDGE_SIM_ERASE"
LOG_ENV = "EDGE_SIM_ERASE_LOG"


def example_config(**overrides: Any) -> ErasureToolConfig:
    """An erasure config that runs the stand-in, as a station profile would describe a real tool."""
    fields: dict[str, Any] = {
        "command": [str(TOOL), "erase", "--serial", "{serial}", "--method", "purge"],
        "verify_command": [str(TOOL), "verify", "--serial", "{serial}"],
        "version_command": [str(TOOL), "--version"],
        "tool_name": "edge-sim-erase",
        "method": "Purge",
        "technique": "factory reset + crypto erase",
        "verification_method": "quick-sampling",
        "verify_pass_pattern": r"^RESULT: PASS\b",
        "media_type": "flash/eMMC",
        "timeout_s": 60.0,
    }
    fields.update(overrides)
    return ErasureToolConfig.model_validate(fields)
