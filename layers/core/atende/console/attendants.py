"""Managing attendants from the console: the identity change, then its effect
on what is live."""

from __future__ import annotations

from uuid import UUID

from atende import identity, live
from atende.identity import Attendant, AttendantPrincipal


def update_attendant(
    principal: AttendantPrincipal,
    attendant_id: UUID,
    *,
    role: str | None = None,
    team: str | None = None,
    active: bool | None = None,
) -> Attendant:
    """Change an attendant's role, team or access (admins; audited). A
    deactivated attendant's open consoles are closed at once: their token
    stops working at the next request, their socket right now.

    Raises:
        as :func:`atende.identity.update_attendant`.
    """
    updated = identity.update_attendant(
        principal, attendant_id, role=role, team=team, active=active
    )
    if not updated.active:
        live.disconnect_attendant(principal.tenant_id, attendant_id)
    return updated
