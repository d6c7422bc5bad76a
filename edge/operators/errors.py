"""Errors a user of the operator store can meet, each with a message that says what to do."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

SignInFailure = Literal["unknown", "wrong_pin", "held_back", "disabled"]


class OperatorError(Exception):
    """Base class for operator store errors."""


class OperatorInputError(OperatorError, ValueError):
    """A value was refused before anything was written (bad id, name, badge)."""


class PinPolicyError(OperatorInputError):
    """A new PIN does not meet the PIN policy; the message says why (never the PIN)."""


class UnknownOperatorError(OperatorError, LookupError):
    """No operator has this id."""


class OperatorConflictError(OperatorError):
    """The operator id or the badge is already taken."""


class LastAdminError(OperatorError):
    """The change would leave the station without an enabled admin."""


class OperatorStoreError(OperatorError):
    """The operators database cannot be read or written (disk full, corrupt file)."""


class SignInError(OperatorError):
    """A sign-in was refused. `unknown` and `wrong_pin` must look alike to whoever signs in, and
    `held_back` (too many failures from one address) comes alike for known and unknown badges."""

    def __init__(
        self,
        reason: SignInFailure,
        message: str,
        held_until: datetime | None = None,
        *,
        retry_after_seconds: int | None = None,
    ) -> None:
        super().__init__(message)
        self.reason: SignInFailure = reason
        self.message = message
        self.held_until = held_until
        self.retry_after_seconds = retry_after_seconds
