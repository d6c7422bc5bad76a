"""Serial scales: protocols (pure parsers), the stable-weight rule, and the port adapter."""

from drivers.scale.acceptance import StableWeightFilter
from drivers.scale.continuous import Continuous
from drivers.scale.mtsics import MtSics
from drivers.scale.protocol import CommandResult, Info, ScaleProtocol, SerialSettings
from drivers.scale.reading import (
    STATE_PRECEDENCE,
    FrameError,
    ScaleReading,
    ScaleState,
    to_grams,
)
from drivers.scale.toledo8217 import Toledo8217

__all__ = [
    "STATE_PRECEDENCE",
    "CommandResult",
    "Continuous",
    "FrameError",
    "Info",
    "MtSics",
    "ScaleProtocol",
    "ScaleReading",
    "ScaleState",
    "SerialSettings",
    "StableWeightFilter",
    "Toledo8217",
    "to_grams",
]
