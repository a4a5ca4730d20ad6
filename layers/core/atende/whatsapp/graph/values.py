"""What the client takes and returns: recipients, list rows, sent messages, media.

Recipients are a phone number (``to``) or, since the 2026 usernames rollout, a
business-scoped user ID (BSUID, e.g. ``BR.1502576394655843``) sent in the
``recipient`` field; when both are known the phone wins, as it does at Meta.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from atende.errors import InvalidInput

__all__ = [
    "ListRow",
    "ListSection",
    "MediaInfo",
    "MessageTemplate",
    "Recipient",
    "SentMessage",
    "TemplatePage",
]


_PHONE = re.compile(r"\+?[1-9]\d{7,14}")
# ISO 3166 alpha-2 country, a period, up to 128 alphanumerics; parent BSUIDs
# carry ``ENT.`` after the country.
_BSUID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")


@dataclass(frozen=True, slots=True)
class Recipient:
    """A WhatsApp user: phone number, business-scoped user ID, or both."""

    user_id: str | None = None
    phone: str | None = None

    def __post_init__(self) -> None:
        if not self.user_id and not self.phone:
            raise InvalidInput("Informe o telefone ou o ID de usuário do destinatário.")
        if self.phone is not None and not _PHONE.fullmatch(self.phone):
            raise InvalidInput("Telefone do destinatário inválido.")
        if self.user_id is not None and not _BSUID.fullmatch(self.user_id):
            raise InvalidInput("ID de usuário do WhatsApp (BSUID) inválido.")

    @classmethod
    def parse(cls, value: str) -> Recipient:
        """A BSUID-shaped string (``BR.123...``) is a user ID, else a phone."""
        value = value.strip()
        if _BSUID.fullmatch(value):
            return cls(user_id=value)
        return cls(phone=re.sub(r"[\s().-]", "", value))

    @property
    def kind(self) -> Literal["phone", "user_id"]:
        return "phone" if self.phone else "user_id"

    def address(self) -> dict[str, str]:
        """The request fields that address this user (phone wins, as at Meta)."""
        if self.phone:
            return {"to": self.phone}
        assert self.user_id is not None
        return {"recipient": self.user_id}

    def __repr__(self) -> str:
        phone = f"***{self.phone[-2:]}" if self.phone else None
        return f"Recipient(user_id={self.user_id!r}, phone={phone!r})"


@dataclass(frozen=True, slots=True)
class ListRow:
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ListSection:
    rows: Sequence[ListRow]
    title: str | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """Meta's answer to a send: the message id and who it was addressed to."""

    wamid: str
    input: str | None = None
    wa_id: str | None = None
    user_id: str | None = None
    message_status: str | None = None
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class MediaInfo:
    id: str
    url: str
    mime_type: str | None = None
    sha256: str | None = None
    file_size: int | None = None


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    """A message template as Meta lists it (``GET /{waba-id}/message_templates``)."""

    name: str
    language: str
    status: str  # APPROVED, PENDING, REJECTED, PAUSED, DISABLED...
    category: str  # MARKETING, UTILITY, AUTHENTICATION
    parameter_format: str  # POSITIONAL ({{1}}) or NAMED ({{nome}})
    components: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class TemplatePage:
    templates: tuple[MessageTemplate, ...]
    after: str | None  # the next page's cursor; None on the last page
