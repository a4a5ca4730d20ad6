"""Updates that are neither a message nor a status: identity changes, errors.

:class:`UserIdUpdate` reports that a customer's business-scoped user ID
(BSUID) changed; :class:`WebhookError` carries webhook-level ``value.errors``
so they can be logged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from atende.whatsapp.updates._base import _encode, _UpdateBase
from atende.whatsapp.updates.values import ApiError

__all__ = ["UserIdUpdate", "WebhookError"]


@dataclass(frozen=True, slots=True, kw_only=True)
class UserIdUpdate(_UpdateBase):
    """A customer's business-scoped user ID changed.

    Meta generates a new BSUID when a user changes phone number. Stored data
    keyed by ``previous_user_id`` (or ``previous_wa_id``) must be re-keyed to
    ``user_id``.

    Attributes:
        phone_number_id: Business phone number ID.
        display_phone_number: Business display phone number.
        timestamp: When Meta reported the change (UTC).
        user_id: The new BSUID.
        previous_user_id: The previous BSUID, when known.
        parent_user_id: The new parent BSUID.
        previous_parent_user_id: The previous parent BSUID.
        wa_id: The new phone number, when shared.
        previous_wa_id: The previous phone number, when shared.
        body: Human-readable description (system messages).
        wamid: The system message's ID, when it came as one.
        source: ``system`` (a system message) or ``user_id_update`` (the
            ``user_id_update`` webhook field).
    """

    KIND: ClassVar[str] = "user_id_update"

    phone_number_id: str
    display_phone_number: str | None = None
    timestamp: datetime
    user_id: str
    previous_user_id: str | None = None
    parent_user_id: str | None = None
    previous_parent_user_id: str | None = None
    wa_id: str | None = None
    previous_wa_id: str | None = None
    body: str | None = None
    wamid: str | None = None
    source: str = "system"

    @property
    def customer_key(self) -> str:
        """The new BSUID, so the change is ordered before later messages."""
        return self.user_id

    @property
    def dedup_id(self) -> str:
        """A digest of (previous ID, new ID, time), whatever the source."""
        previous = self.previous_user_id or self.previous_wa_id or ""
        basis = f"{previous}|{self.user_id}|{int(self.timestamp.timestamp())}"
        return "uid-" + hashlib.sha256(basis.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookError(_UpdateBase):
    """Webhook-level errors (``value.errors``), to be logged.

    Attributes:
        phone_number_id: Business phone number ID.
        display_phone_number: Business display phone number.
        errors: The errors.
    """

    KIND: ClassVar[str] = "webhook_error"

    phone_number_id: str
    display_phone_number: str | None = None
    errors: tuple[ApiError, ...] = ()

    @property
    def customer_key(self) -> str:
        """No customer: ``errors:{phone_number_id}``."""
        return f"errors:{self.phone_number_id}"

    @property
    def dedup_id(self) -> str:
        """A digest of the phone number ID and the errors.

        Identical errors repeated within the queue's deduplication window
        are therefore logged once.
        """
        basis = json.dumps(
            [self.phone_number_id, _encode(self.errors)],
            sort_keys=True,
            ensure_ascii=False,
        )
        return "err-" + hashlib.sha256(basis.encode()).hexdigest()
