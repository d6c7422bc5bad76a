"""The demo: a whole station on simulated devices (`devices`), a reference upstream
(`upstream`), a shift through them (`shift`), and a person's hands on the devices while it
serves (`controls`)."""

from edge.demo.controls import ControlError, send_control
from edge.demo.devices import DemoStation, demo_station
from edge.demo.shift import DEMO_PIN, Serving, ShiftReport, run_shift
from edge.demo.upstream import DemoUpstream, demo_upstream

__all__ = [
    "DEMO_PIN",
    "ControlError",
    "DemoStation",
    "DemoUpstream",
    "Serving",
    "ShiftReport",
    "demo_station",
    "demo_upstream",
    "run_shift",
    "send_control",
]
