"""What the operator store hands out: operators (never their PIN hash), sessions, principals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from edge.operators.errors import OperatorInputError
from edge.operators.roles import Role

OPERATOR_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
MAX_NAME_LENGTH = 100
MAX_BADGE_LENGTH = 128
_OPERATOR_ID = re.compile(OPERATOR_ID_PATTERN)


@dataclass(frozen=True, slots=True)
class Operator:
    """An operator as the API and CLI show it: never the PIN hash.

    `failed_attempts`: wrong PINs given for them since their last good sign-in (from any address);
    `locked_until`: the latest time some client address is held back from trying their badge or
    id again. Neither stops the operator themselves from signing in at another device.
    """

    operator_id: str
    name: str
    role: Role
    badge: str | None
    disabled: bool
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime
    updated_at: datetime

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is behind a valid session token."""

    operator_id: str
    name: str
    role: Role
    station: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Session:
    """A successful sign-in. `token` is shown once, to the handheld; only its hash is kept."""

    token: str
    operator: Operator
    role: Role
    station: str
    issued_at: datetime
    expires_at: datetime

    @property
    def principal(self) -> Principal:
        return Principal(
            operator_id=self.operator.operator_id,
            name=self.operator.name,
            role=self.role,
            station=self.station,
            expires_at=self.expires_at,
        )


def check_operator_id(operator_id: str) -> None:
    if not _OPERATOR_ID.fullmatch(operator_id):
        raise OperatorInputError(
            "an operator id is 1 to 64 characters of letters, digits, '.', '_' or '-'"
        )


def clean_name(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= MAX_NAME_LENGTH or not cleaned.isprintable():
        raise OperatorInputError(
            f"an operator's name is 1 to {MAX_NAME_LENGTH} printable characters"
        )
    return cleaned


def check_badge(badge: str) -> None:
    if not 1 <= len(badge) <= MAX_BADGE_LENGTH or not badge.isprintable():
        raise OperatorInputError(
            f"a badge is the badge barcode's text: 1 to {MAX_BADGE_LENGTH} printable characters"
        )
