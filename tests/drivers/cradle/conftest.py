"""Cradle tests: the stand-in tools first on PATH, a scenario file and a call log per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drivers.sim.cradle import SIM_DIR
from tests.drivers.cradle.bench import Bench


@pytest.fixture
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bench:
    scenario = tmp_path / "scenario.json"
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{SIM_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("EDGE_SIM_CRADLE", str(scenario))
    monkeypatch.setenv("EDGE_SIM_CRADLE_LOG", str(log))
    bench = Bench(scenario, log)
    bench.plug({})
    return bench
