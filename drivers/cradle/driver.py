"""The cradle's I/O shell: poll adb and libimobiledevice for phones, read each once, report.

Every `poll_interval` it lists phones on each configured platform. A phone that appears is
announced (`DeviceStatus`), read once when it becomes readable (a `DeviceReport`), and
announced `gone` when it leaves. Phones that need the technician (USB debugging prompt, Trust
prompt) are retried on every poll until they can be read. The driver's own status (`online` /
`degraded` / `offline`) says which tools are missing or stuck.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from drivers.cradle.adb import AdbDevice, parse_devices, state_advice
from drivers.cradle.android import ANDROID_READS, android_report, shell_argv
from drivers.cradle.ios import (
    IDENTITY_KEYS,
    IosInfo,
    battery_argv,
    confirm_identity,
    find_my_argv,
    info_argv,
    info_text_argv,
    ios_report,
    read_info,
    read_info_text,
    value_argv,
)
from drivers.cradle.libimobiledevice import lockdown_error, parse_device_list
from drivers.cradle.plists import PlistRefused
from drivers.cradle.profile import CradleProfile
from drivers.cradle.report import CradleOutput, DeviceState, DeviceStatus, Platform
from drivers.cradle.runner import CommandResult, first_line, run_command

log = logging.getLogger(__name__)

StatusCallback = Callable[[str, str], None]  # (state, reason)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Phone:
    """What the driver knows of one attached phone."""

    platform: Platform
    device_id: str
    state: DeviceState | None = None
    message: str = ""
    done: bool = False  # read (or failed for good) during this attachment
    reading: asyncio.Task[None] | None = None


@dataclass
class CradleDriver:
    profile: CradleProfile
    on_output: Callable[[CradleOutput], None]
    on_status: StatusCallback
    clock: Callable[[], datetime] = _utc_now
    _stopped: asyncio.Event = field(default_factory=asyncio.Event)
    _phones: dict[tuple[Platform, str], _Phone] = field(default_factory=dict)
    _state: str = ""
    _reason: str = ""

    async def run(self) -> None:
        """Until stop(): poll, wait, poll again."""
        try:
            while not self._stopped.is_set():
                try:
                    await self.poll()
                except Exception as exc:  # a surprise in one poll must not end the driver
                    log.exception("cradle poll failed")
                    self._driver_status("degraded", f"polling failed: {exc!r}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), self.profile.poll_interval)
        finally:
            await self._cancel_reads()

    def stop(self) -> None:
        self._stopped.set()

    async def poll(self) -> None:
        """List phones on every platform once; announce changes; start reading new phones."""
        problems: list[str] = []
        for platform in self.profile.platforms:
            listed = await (self._list_android() if platform == "android" else self._list_ios())
            if isinstance(listed, str):
                problems.append(listed)  # phones already known stay as they were
                continue
            seen = {device_id for device_id, _ in listed}
            for key in [k for k in self._phones if k[0] == platform and k[1] not in seen]:
                await self._gone(self._phones.pop(key))
            for device_id, adb_state in listed:
                phone = self._phones.setdefault((platform, device_id), _Phone(platform, device_id))
                self._consider(phone, adb_state)
        if not problems:
            self._driver_status("online", f"watching {', '.join(self.profile.platforms)}")
        elif len(problems) < len(self.profile.platforms):
            self._driver_status("degraded", "; ".join(problems))
        else:
            self._driver_status("offline", "; ".join(problems))

    async def wait_for_reads(self) -> None:
        """Until every read in flight has finished (for tests and an orderly stop)."""
        tasks = [p.reading for p in self._phones.values() if p.reading is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- listing --

    async def _list_android(self) -> list[tuple[str, str | None]] | str:
        result = await run_command([self.profile.adb, "devices", "-l"], self.profile.list_timeout)
        if not result.ok:
            return result.problem()
        devices: list[AdbDevice] = parse_devices(result.stdout)
        return [(d.serial, d.state) for d in devices]

    async def _list_ios(self) -> list[tuple[str, str | None]] | str:
        result = await run_command([self.profile.idevice_id, "-l"], self.profile.list_timeout)
        if not result.ok:
            if result.outcome == "failed":
                return f"{result.problem()} (is usbmuxd running? apt-get install usbmuxd)"
            return result.problem()
        return [(udid, None) for udid in parse_device_list(result.stdout)]

    def _consider(self, phone: _Phone, adb_state: str | None) -> None:
        if adb_state is not None and adb_state != "device":
            state, message = state_advice(adb_state)
            phone.done = False  # readable again once the technician has fixed it
            self._device_status(phone, state, message, detail=f"adb state: {adb_state}")
            return
        if phone.done or phone.reading is not None:
            return
        read = self._read_android if phone.platform == "android" else self._read_ios
        phone.reading = asyncio.create_task(self._guarded(phone, read))

    # -- reading --

    async def _guarded(self, phone: _Phone, read: Callable[[_Phone], Awaitable[None]]) -> None:
        try:
            await read(phone)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one phone's surprise must not stop the cradle
            log.exception(
                "cradle read crashed platform=%s device=%s", phone.platform, phone.device_id
            )
            phone.done = True
            self._device_status(
                phone,
                "error",
                "Reading the phone failed unexpectedly. Unplug it and plug it back in.",
                str(exc),
            )
        finally:
            phone.reading = None

    async def _read_android(self, phone: _Phone) -> None:
        self._device_status(phone, "connected", state_advice("device")[1])
        adb, serial, timeout = self.profile.adb, phone.device_id, self.profile.read_timeout
        props = await run_command(shell_argv(adb, serial, "getprop"), timeout)
        if not props.ok:
            self._read_failed(phone, props)
            return
        others = [read for read in ANDROID_READS if read != "getprop"]
        outputs = await asyncio.gather(
            *(run_command(shell_argv(adb, serial, read), timeout) for read in others)
        )
        results: dict[str, CommandResult] = {
            "getprop": props,
            **dict(zip(others, outputs, strict=True)),
        }
        report = android_report(serial, results, self.clock())
        phone.done = True
        self.on_output(report)

    async def _read_ios(self, phone: _Phone) -> None:
        timeout = self.profile.read_timeout
        info = await run_command(info_argv(self.profile.ideviceinfo, phone.device_id), timeout)
        if not info.ok:
            refusal = lockdown_error(info.stderr + "\n" + info.stdout)
            if refusal is not None:  # not done: read again on the next poll, once trusted
                self._device_status(phone, "untrusted", refusal.message, detail=refusal.said)
                return
            self._read_failed(phone, info)
            return
        values: IosInfo
        try:
            values = read_info(info.stdout)
        except PlistRefused as refused:
            log.warning("cradle ideviceinfo -x refused device=%s why=%s", phone.device_id, refused)
            text = await run_command(
                info_text_argv(self.profile.ideviceinfo, phone.device_id), timeout
            )
            if not text.ok:
                self._read_failed(phone, text)
                return
            try:
                info, values = text, read_info_text(text.stdout, str(refused))
            except PlistRefused as also:
                self._read_failed(phone, text, f"{refused}; {also}")
                return
            answers = await asyncio.gather(
                *(
                    run_command(value_argv(self.profile.ideviceinfo, phone.device_id, k), timeout)
                    for k in IDENTITY_KEYS
                )
            )
            values = confirm_identity(values, dict(zip(IDENTITY_KEYS, answers, strict=True)))
        if not values.values.get("ProductType"):
            said = first_line(info.stdout) or "no output"
            self._read_failed(phone, info, f"ideviceinfo printed no device values: {said}")
            return
        self._device_status(phone, "connected", "iPhone trusted; reading diagnostics.")
        battery, find_my = await asyncio.gather(
            run_command(battery_argv(self.profile.idevicediagnostics, phone.device_id), timeout),
            run_command(find_my_argv(self.profile.ideviceinfo, phone.device_id), timeout),
        )
        report = ios_report(phone.device_id, values, battery, self.clock(), find_my)
        phone.done = True
        self.on_output(report)

    def _read_failed(self, phone: _Phone, result: CommandResult, problem: str = "") -> None:
        phone.done = True
        problem = problem or result.problem()
        self._device_status(
            phone,
            "error",
            f"Could not read the phone ({problem}). Unplug it and plug it back in to try again.",
            detail=problem,
        )

    async def _gone(self, phone: _Phone) -> None:
        if phone.reading is not None:
            phone.reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await phone.reading
        self._device_status(phone, "gone", "Phone unplugged.")

    async def _cancel_reads(self) -> None:
        for phone in self._phones.values():
            if phone.reading is not None:
                phone.reading.cancel()
        await self.wait_for_reads()

    # -- status --

    def _device_status(
        self, phone: _Phone, state: DeviceState, message: str, detail: str = ""
    ) -> None:
        if (state, message) == (phone.state, phone.message):
            return
        phone.state, phone.message = state, message
        log.info(
            "cradle device status platform=%s device=%s state=%s detail=%s",
            phone.platform,
            phone.device_id,
            state,
            detail,
        )
        self.on_output(
            DeviceStatus(phone.platform, phone.device_id, state, message, detail, self.clock())
        )

    def _driver_status(self, state: str, reason: str) -> None:
        if (state, reason) != (self._state, self._reason):
            self._state, self._reason = state, reason
            log.info("cradle status state=%s reason=%s", state, reason)
            self.on_status(state, reason)
