"""The station's operators: roles, PINs, badge/PIN sign-in and sessions."""

from edge.operators.errors import (
    LastAdminError,
    OperatorConflictError,
    OperatorError,
    OperatorInputError,
    OperatorStoreError,
    PinPolicyError,
    SignInError,
    SignInFailure,
    UnknownOperatorError,
)
from edge.operators.models import Operator, Principal, Session
from edge.operators.pins import LockoutPolicy, PinHasher, check_pin_policy
from edge.operators.roles import Role
from edge.operators.store import (
    DEFAULT_SESSION_TTL,
    OPERATORS_FILE,
    SIGN_IN_REFUSED,
    OperatorStore,
    SignInMethod,
)

__all__ = [
    "DEFAULT_SESSION_TTL",
    "OPERATORS_FILE",
    "SIGN_IN_REFUSED",
    "LastAdminError",
    "LockoutPolicy",
    "Operator",
    "OperatorConflictError",
    "OperatorError",
    "OperatorInputError",
    "OperatorStore",
    "OperatorStoreError",
    "PinHasher",
    "PinPolicyError",
    "Principal",
    "Role",
    "Session",
    "SignInError",
    "SignInFailure",
    "SignInMethod",
    "UnknownOperatorError",
    "check_pin_policy",
]
