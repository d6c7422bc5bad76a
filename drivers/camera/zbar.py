"""libzbar through pyzbar's ctypes bindings, keeping what `pyzbar.decode` drops: the GS1 flag.

zbar reads FNC1 in first position (GS1-128, GS1 QR) as a symbol modifier (`ZBAR_MOD_GS1`, bit 0
of `zbar_symbol_get_modifiers`, zbar.h), not as data; `pyzbar.decode` never asks for it, so a
GS1-128 came back as plain Code 128 data. pyzbar also reads only the first channel of a colour
numpy array (blue, for OpenCV's BGR): callers pass one gray channel, and this module refuses
anything else.
"""

from __future__ import annotations

import ctypes
import functools
import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from drivers.camera.frames import Frame

log = logging.getLogger(__name__)

_MOD_GS1 = 1 << 0  # enum zbar_modifier_e: ZBAR_MOD_GS1 = 0
_CFG_ENABLE = 0
_CFG_X_DENSITY, _CFG_Y_DENSITY = 0x100, 0x101  # enum zbar_config_e: scan every n-th column/row
_Y800 = int.from_bytes(b"Y800", "little")  # 8-bit gray fourcc (pyzbar's "L800" is the same)


@dataclass(frozen=True, slots=True)
class ZbarSymbol:
    """One symbol libzbar decoded: its type name, data, GS1 flag, and location points."""

    type_name: str  # "CODE128", "QRCODE", …
    data: bytes
    gs1: bool  # FNC1 in first position
    points: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class _Zbar:
    wrapper: ModuleType
    symbol_types: dict[str, int]
    type_names: dict[int, str]
    get_type: Any
    get_modifiers: Any


def available() -> bool:
    """True when libzbar (Debian package libzbar0) could be loaded."""
    return _zbar() is not None


def scan(gray: Frame, symbol_types: tuple[str, ...], density: int = 1) -> list[ZbarSymbol]:
    """One 8-bit gray channel's symbols of the named types, scanning every `density`-th line."""
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"zbar needs one 8-bit gray channel, got shape {gray.shape} {gray.dtype}")
    zbar = _zbar()
    if zbar is None:
        return []
    w = zbar.wrapper
    pixels = np.ascontiguousarray(gray)  # zbar reads it in place: alive until the scan ends
    height, width = gray.shape
    scanner = w.zbar_image_scanner_create()
    image = w.zbar_image_create()
    try:
        w.zbar_image_scanner_set_config(scanner, 0, _CFG_ENABLE, 0)  # 0: every symbology
        for name in symbol_types:
            w.zbar_image_scanner_set_config(scanner, zbar.symbol_types[name], _CFG_ENABLE, 1)
        w.zbar_image_scanner_set_config(scanner, 0, _CFG_X_DENSITY, density)
        w.zbar_image_scanner_set_config(scanner, 0, _CFG_Y_DENSITY, density)
        w.zbar_image_set_format(image, _Y800)
        w.zbar_image_set_size(image, width, height)
        w.zbar_image_set_data(image, pixels.ctypes.data, pixels.nbytes, None)
        if w.zbar_scan_image(scanner, image) < 0:
            raise ValueError("zbar refused the image format")
        found: list[ZbarSymbol] = []
        symbol = w.zbar_image_first_symbol(image)
        while symbol:
            found.append(_symbol(zbar, symbol))
            symbol = w.zbar_symbol_next(symbol)
        return found
    finally:
        w.zbar_image_destroy(image)
        w.zbar_image_scanner_destroy(scanner)


def _symbol(zbar: _Zbar, symbol: Any) -> ZbarSymbol:
    w = zbar.wrapper
    type_number = int(zbar.get_type(symbol))
    data = ctypes.string_at(w.zbar_symbol_get_data(symbol), w.zbar_symbol_get_data_length(symbol))
    points = tuple(
        (int(w.zbar_symbol_get_loc_x(symbol, i)), int(w.zbar_symbol_get_loc_y(symbol, i)))
        for i in range(int(w.zbar_symbol_get_loc_size(symbol)))
    )
    gs1 = bool(int(zbar.get_modifiers(symbol)) & _MOD_GS1)
    return ZbarSymbol(
        zbar.type_names.get(type_number, f"TYPE{type_number}"), bytes(data), gs1, points
    )


@functools.cache
def _zbar() -> _Zbar | None:
    try:
        from pyzbar import wrapper
    except (ImportError, OSError) as exc:  # libzbar0 missing: zxing-cpp reads alone
        log.warning("pyzbar unavailable, install Debian package libzbar0 reason=%s", exc)
        return None
    try:
        symbol_pointer = ctypes.POINTER(wrapper.zbar_symbol)
        get_type = wrapper.zbar_function("zbar_symbol_get_type", ctypes.c_int, symbol_pointer)
        get_modifiers = wrapper.zbar_function(
            "zbar_symbol_get_modifiers", ctypes.c_uint, symbol_pointer
        )
        wrapper.load_libzbar()
    except (ImportError, OSError, AttributeError) as exc:
        log.warning("libzbar unusable, install Debian package libzbar0 reason=%s", exc)
        return None
    symbol_types = {member.name: int(member.value) for member in wrapper.ZBarSymbol}
    module: ModuleType = wrapper
    type_names = {number: name for name, number in symbol_types.items()}
    return _Zbar(module, symbol_types, type_names, get_type, get_modifiers)
