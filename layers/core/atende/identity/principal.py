"""Who a signed-in attendant is and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from atende.audit import Actor
from atende.errors import (
    Forbidden,
)

TENANT_CLAIM = "custom:tenant_id"


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    ATTENDANT = "attendant"


@dataclass(frozen=True)
class AttendantPrincipal:
    """A signed-in attendant of one tenant."""

    tenant_id: UUID
    attendant_id: UUID
    role: Role
    email: str
    display_name: str
    team: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor("attendant", str(self.attendant_id))

    @property
    def oversees(self) -> bool:
        """Supervisors and admins see and move every conversation."""
        return self.role in (Role.ADMIN, Role.SUPERVISOR)

    def require(self, *roles: Role) -> None:
        """Raises Forbidden unless the principal has one of ``roles``."""
        if self.role not in roles:
            raise Forbidden("Seu perfil não permite esta ação.")
