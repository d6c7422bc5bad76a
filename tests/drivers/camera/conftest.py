"""Camera tests: label scenes drawn by drivers/sim, expectations taken from what was drawn."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.camera import zbar_available

needs_zbar = pytest.mark.skipif(
    not zbar_available(), reason="pyzbar needs libzbar (Debian package libzbar0)"
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20260)
