"""A read-only station view for pure workflow tests: units, returns and exceptions in dicts."""

from __future__ import annotations

from dataclasses import dataclass, field

from stations.manifest import ExpectedReturn
from stations.workflow import ExceptionView, UnitView


def unit_view(unit_id: str, **changes: object) -> UnitView:
    values: dict[str, object] = {
        "unit_id": unit_id,
        "imei": None,
        "serial": None,
        "return_id": None,
        "make": None,
        "model": None,
        "platform": None,
        "status": "identified",
        "grade": None,
        "checklist": None,
        "battery_health": None,
        "lock": "unknown",
        "erasure": "not_run",
        "certificate_sha256": None,
        "route": None,
        "location": None,
        "payout_status": "none",
    }
    values.update(changes)
    return UnitView(**values)  # type: ignore[arg-type]


@dataclass
class FakeLookup:
    units: dict[str, UnitView] = field(default_factory=dict)
    returns: dict[str, ExpectedReturn] = field(default_factory=dict)
    exceptions: dict[int, ExceptionView] = field(default_factory=dict)

    def return_by_id(self, return_id: str) -> ExpectedReturn | None:
        return self.returns.get(return_id)

    def return_by_label(self, code: str) -> ExpectedReturn | None:
        return next((r for r in self.returns.values() if code in r.label_codes), None)

    def return_by_imei(self, imei: str) -> ExpectedReturn | None:
        return next((r for r in self.returns.values() if r.declared_imei == imei), None)

    def receipt_seq(self, return_id: str) -> int | None:
        return None

    def unit(self, unit_id: str) -> UnitView | None:
        return self.units.get(unit_id)

    def unit_by_imei(self, imei: str) -> UnitView | None:
        return next((u for u in self.units.values() if imei in (u.imei, u.cradle_imei)), None)

    def exception(self, seq: int) -> ExceptionView | None:
        return self.exceptions.get(seq)

    def open_exceptions(self, subject: str) -> list[ExceptionView]:
        return [e for e in self.exceptions.values() if e.subject == subject and e.status == "open"]
