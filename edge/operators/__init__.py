"""The station's operators: roles, PINs (policy, peppered hashes), badge/PIN sign-in with
per-address backoff, and sessions."""

from edge.operators.backoff import SignInBackoff
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
from edge.operators.pepper import PEPPER_FILE
from edge.operators.pin_policy import check_pin_policy
from edge.operators.pins import PinHasher
from edge.operators.roles import Role
from edge.operators.store import (
    DEFAULT_SESSION_TTL,
    KEYS_DIR,
    OPERATORS_FILE,
    SIGN_IN_REFUSED,
    OperatorStore,
    SignInMethod,
)

__all__ = [
    "DEFAULT_SESSION_TTL",
    "KEYS_DIR",
    "OPERATORS_FILE",
    "PEPPER_FILE",
    "SIGN_IN_REFUSED",
    "LastAdminError",
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
    "SignInBackoff",
    "SignInError",
    "SignInFailure",
    "SignInMethod",
    "UnknownOperatorError",
    "check_pin_policy",
]
