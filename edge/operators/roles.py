"""Operator roles: operator < technician < admin; a higher role may do what a lower one may."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"
    TECHNICIAN = "technician"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, required: Role) -> bool:
        """Whether someone with this role may do what `required` may."""
        return self.rank >= Role(required).rank


_RANKS = {Role.OPERATOR: 0, Role.TECHNICIAN: 1, Role.ADMIN: 2}
