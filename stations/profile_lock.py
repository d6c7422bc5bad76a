"""Which parts of a station profile only the file on the station may set.

A field marked `ROOT_ONLY` (`drivers.profile`) names what the station runs, reads or sends
custody to: a tool or its command line, a file or folder, a network address. So do a device's
driver options (the extra keys of a `[devices.<slot>]` table: a cradle's `adb`, a camera's
`source` or `blob_dir`, whatever option a third-party driver adds), and a device slot as a
whole when it is new. An HTTP request may change the rest (thresholds, workflows, patterns,
enabling a slot root configured); `locked_changes` names whatever else it tried to change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from drivers.profile import ROOT_ONLY, DeviceSlot, StationProfile

# TOML spells the station's sections at the top level: `[bus]`, `[devices.<slot>]`.
_TOP_LEVEL: dict[type[BaseModel], str] = {StationProfile: ""}


def is_root_only(info: FieldInfo) -> bool:
    return any(item is ROOT_ONLY for item in info.metadata)


def locked_changes(current: BaseModel, proposed: BaseModel, where: str = "") -> list[str]:
    """Dotted TOML names of the root-only values `proposed` sets differently from `current`."""
    changes: list[str] = []
    for name, info in type(proposed).model_fields.items():
        old, new = getattr(current, name), getattr(proposed, name)
        path = f"{where}{name}"
        if is_root_only(info):
            if _plain(old) != _plain(new):
                changes.append(path)
        elif isinstance(new, BaseModel) and isinstance(old, BaseModel):
            changes += locked_changes(old, new, _TOP_LEVEL.get(type(new), f"{path}."))
        elif isinstance(new, tuple) and all(isinstance(item, DeviceSlot) for item in new):
            changes += _slot_changes(old, new, f"{path}.")
    old_extra, new_extra = current.model_extra or {}, proposed.model_extra or {}
    for key in sorted(set(old_extra) | set(new_extra)):
        if _plain(old_extra.get(key)) != _plain(new_extra.get(key)):
            changes.append(f"{where}{key}")
    return changes


def _slot_changes(
    current: tuple[DeviceSlot, ...], proposed: tuple[DeviceSlot, ...], where: str
) -> list[str]:
    """Per slot id; a new slot is root-only whole, a removed one only stops a device."""
    before = {slot.id: slot for slot in current}
    changes: list[str] = []
    for slot in proposed:
        if slot.id not in before:
            changes.append(f"{where}{slot.id}")
        else:
            changes += locked_changes(before[slot.id], slot, f"{where}{slot.id}.")
    return changes


def root_only_fields(model: type[BaseModel], where: str = "") -> Iterator[str]:
    """Every root-only field a model declares, as dotted TOML names (`devices.*.path`)."""
    for name, info in model.model_fields.items():
        path = f"{where}{name}"
        if is_root_only(info):
            yield path
            continue
        for inner in _models_in(info.annotation):
            prefix = f"{path}.*." if inner is DeviceSlot else f"{path}."
            yield from root_only_fields(inner, _TOP_LEVEL.get(inner, prefix))
    if model.model_config.get("extra") == "allow":
        yield f"{where}*"  # every extra key: a driver's options


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    elif get_origin(annotation) is not None:
        for arg in get_args(annotation):
            yield from _models_in(arg)


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else _json(value)


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
