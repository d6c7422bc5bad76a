"""Barcode scanners: keyboard-wedge (evdev) and serial, decoded into `drivers.codes` codes."""

from drivers.scanner.calibration import (
    CALIBRATION_TEXT,
    CalibrationError,
    detect_layout,
    is_calibration,
)
from drivers.scanner.decoder import DecodedLine, DecodeError, KeyDecoder, Terminator
from drivers.scanner.evdev_driver import InputDeviceLike, WedgeScanner, open_evdev
from drivers.scanner.layout import Layout, LayoutError, available_layouts, get_layout
from drivers.scanner.output import ScanError, ScannerEvent, ScannerOutput, read_line
from drivers.scanner.profile import ScannerProfile, make_scanner
from drivers.scanner.serial_driver import SerialScanner
from drivers.scanner.serial_lines import LineFramer
from drivers.scanner.timing import InputKind, KeyTiming, classify

__all__ = [
    "CALIBRATION_TEXT",
    "CalibrationError",
    "DecodeError",
    "DecodedLine",
    "InputDeviceLike",
    "InputKind",
    "KeyDecoder",
    "KeyTiming",
    "Layout",
    "LayoutError",
    "LineFramer",
    "ScanError",
    "ScannerEvent",
    "ScannerOutput",
    "ScannerProfile",
    "SerialScanner",
    "Terminator",
    "WedgeScanner",
    "available_layouts",
    "classify",
    "detect_layout",
    "get_layout",
    "is_calibration",
    "make_scanner",
    "open_evdev",
    "read_line",
]
