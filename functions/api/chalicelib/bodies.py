"""Request bodies of the API's routes, parsed and checked once (pydantic).

Field types are the contract; the use cases check the rules (lengths, roles,
teams) and answer with their own PT-BR errors.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SignIn(_Body):
    """E-mail and password; or a first access's new password; or a refresh."""

    email: str = ""
    password: str = ""
    session: str | None = None
    new_password: str = ""
    refresh_token: str | None = None


class Reply(_Body):
    """Free ``text``, or outside the 24-hour window a ``template``."""

    text: str | None = None
    template: dict[str, Any] | None = None


class Transfer(_Body):
    attendant_id: UUID | None = None
    team: str | None = None
    note: str | None = None  # for the next attendant, kept as a private note


class Close(_Body):
    reason: str = ""


class Note(_Body):
    text: str = ""


class NewLabel(_Body):
    name: str = ""
    color: str = ""


class CannedResponse(_Body):
    scope: str = "personal"  # "team" | "personal"; fixed once created
    shortcut: str = ""
    title: str = ""
    body: str = ""


class NewAttendant(_Body):
    email: str = ""
    display_name: str = ""
    role: str = "attendant"
    team: str | None = None


class AttendantChange(_Body):
    role: str | None = None
    team: str | None = None
    active: StrictBool | None = None


class ConsentTextBody(_Body):
    body: str = ""


class ConsentDecision(_Body):
    granted: StrictBool | None = None


class RetentionBody(_Body):
    messages_days: StrictInt
    exports_hours: StrictInt


class LgpdRequestBody(_Body):
    """A request the customer made another way: ``access`` or ``erasure``."""

    kind: str = ""


class BusinessHoursBody(_Body):
    """The whole of a tenant's business hours (``atende.tenancy.hours``
    checks the week, the holidays and the text, with PT-BR errors)."""

    enabled: StrictBool = True
    weekly: Any = None
    holidays: Any = None
    out_of_office_text: Any = None


class PresenceChange(_Body):
    """``online`` (Disponível), ``away`` (Ausente) or ``offline``: checked by
    the use case, which answers PRESENCA_INVALIDA."""

    presence: Any = None


class CapacityChange(_Body):
    """A whole number from 1 to 100, or null for the tenant's default."""

    max_conversations: Any


class AssignmentRulesChange(_Body):
    max_conversations: Any = None
    answer_timeout_minutes: Any = None
