"""Receiving Meta's webhook: signature, subscription check, tenant, fast enqueue.

The webhook does as little as it can before answering 200: it checks the
signature over the raw body, parses every update, resolves each business number
to its tenant and enqueues the updates to the SQS FIFO queue (group: tenant +
customer, so each customer's updates are handled in order; dedup id: the wamid).
Durable dedupe happens in the worker, since Meta redelivers for days and FIFO
deduplication lasts five minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from atende import aws
from atende.db import lookup_transaction
from atende.errors import (
    DependencyFailed,
    Forbidden,
    InvalidInput,
    ServiceUnavailable,
    Unauthenticated,
)
from atende.observability import logger, metrics
from atende.whatsapp.updates import Update, parse_webhook, update_from_json

SIGNATURE_HEADER = "X-Hub-Signature-256"


class SignatureMissing(Unauthenticated):
    code = "ASSINATURA_AUSENTE"
    message = "Assinatura X-Hub-Signature-256 ausente."


class SignatureMismatch(Forbidden):
    code = "ASSINATURA_INVALIDA"
    message = "Assinatura X-Hub-Signature-256 inválida."


class VerifyTokenMismatch(Forbidden):
    code = "TOKEN_DE_VERIFICACAO_INVALIDO"
    message = "Token de verificação do webhook inválido."


class WebhookNotConfigured(ServiceUnavailable):
    code = "WEBHOOK_NAO_CONFIGURADO"
    message = "O webhook do WhatsApp não está configurado neste ambiente."


# What template.yaml seeds the secret with until operators store Meta's values.
PLACEHOLDER_SECRET = "SET-ME"  # noqa: S105 - the public placeholder itself


def _require_configured(secret: str, name: str) -> None:
    """Refuse to verify anything with an empty or placeholder secret.

    The placeholder is public (it is in the template): a signature or token
    checked against it proves nothing, so the webhook answers 503 until an
    operator stores the real value.

    Raises:
        WebhookNotConfigured: ``secret`` is empty or the placeholder (503).
    """
    if not secret.strip() or secret.strip().upper() == PLACEHOLDER_SECRET:
        logger.error("whatsapp webhook secret unset", extra={"secret": name})
        raise WebhookNotConfigured()


def sign(raw_body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``raw_body``."""
    digest = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(raw_body: bytes, header: str | None, app_secret: str) -> None:
    """Check Meta's HMAC-SHA256 signature of the raw body.

    Raises:
        WebhookNotConfigured: an empty or placeholder app secret (503).
        SignatureMissing: no header (401).
        SignatureMismatch: a header that does not match (403).
    """
    _require_configured(app_secret, "app_secret")
    if not header:
        raise SignatureMissing()
    if not hmac.compare_digest(
        header.strip().encode(), sign(raw_body, app_secret).encode()
    ):
        raise SignatureMismatch()


def verify_subscription(
    mode: str | None, token: str | None, challenge: str | None, expected_token: str
) -> str:
    """Answer Meta's ``GET`` verification: the challenge when the token matches.

    Raises:
        WebhookNotConfigured: an empty or placeholder verify token (503).
        VerifyTokenMismatch: wrong mode or token (403).
        InvalidInput: no challenge to echo (400).
    """
    _require_configured(expected_token, "verify_token")
    if (
        mode != "subscribe"
        or not token
        or not hmac.compare_digest(token.encode(), expected_token.encode())
    ):
        raise VerifyTokenMismatch()
    if not challenge:
        raise InvalidInput("Parâmetro hub.challenge ausente.")
    return challenge


class TenantDirectory:
    """phone_number_id → tenant, cached briefly (numbers rarely move)."""

    def __init__(self, ttl_s: float = 60.0) -> None:
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, UUID | None]] = {}
        self._lock = threading.Lock()

    def tenant_of(self, phone_number_id: str) -> UUID | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(phone_number_id)
        if hit is not None and now - hit[0] < self._ttl_s:
            return hit[1]
        with lookup_transaction(phone_number_id=phone_number_id) as conn:
            row = conn.execute(
                "SELECT tenant_id FROM whatsapp_numbers WHERE phone_number_id = %s",
                (phone_number_id,),
            ).fetchone()
        tenant_id = row["tenant_id"] if row else None
        with self._lock:
            self._cache[phone_number_id] = (now, tenant_id)
        return tenant_id


@dataclass(frozen=True)
class QueuedUpdate:
    tenant_id: UUID
    update: Update

    def to_message(self) -> dict[str, Any]:
        dedup = f"{self.tenant_id}:{self.update.dedup_id}"
        return {
            "MessageBody": json.dumps(
                {"tenant_id": str(self.tenant_id), "update": self.update.to_json()},
                separators=(",", ":"),
            ),
            "MessageGroupId": f"{self.tenant_id}:{self.update.customer_key}"[:128],
            "MessageDeduplicationId": hashlib.sha256(dedup.encode()).hexdigest(),
        }

    @classmethod
    def from_body(cls, body: str) -> QueuedUpdate:
        """The update a queue message carries.

        Raises:
            ValueError: not a body :meth:`to_message` wrote (a poison record).
        """
        try:
            message = json.loads(body)
            return cls(UUID(message["tenant_id"]), update_from_json(message["update"]))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"undecodable queue record: {type(exc).__name__}") from exc


class UpdateQueue:
    """The SQS FIFO queue between the webhook and the conversation worker."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def send(self, items: Sequence[QueuedUpdate]) -> None:
        """Enqueue all of ``items`` or raise (then Meta retries the webhook).

        Raises:
            DependencyFailed: SQS refused some of them.
        """
        sqs = aws.client("sqs")
        for start in range(0, len(items), 10):  # SQS batches hold 10 entries
            batch = items[start : start + 10]
            entries = [
                {"Id": str(i), **item.to_message()} for i, item in enumerate(batch)
            ]
            result = sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if result.get("Failed"):
                codes = sorted({f.get("Code", "?") for f in result["Failed"]})
                logger.error("enqueue failed", extra={"codes": codes})
                raise DependencyFailed("Não foi possível enfileirar as mensagens.")


@dataclass(frozen=True)
class Receipt:
    """What one webhook call did (for logs and tests)."""

    enqueued: int
    unknown_numbers: tuple[str, ...]


def receive(
    raw_body: bytes,
    signature: str | None,
    *,
    app_secret: str,
    directory: TenantDirectory,
    queue: UpdateQueue,
) -> Receipt:
    """The whole ``POST /whatsapp/webhook`` use case.

    Raises:
        WebhookNotConfigured: no real app secret stored yet (503).
        SignatureMissing, SignatureMismatch: bad signature (nothing is parsed).
        InvalidInput: malformed JSON or not a WhatsApp webhook (400).
        DependencyFailed: the queue refused the updates (Meta will retry).
    """
    verify_signature(raw_body, signature, app_secret)
    try:
        payload = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput("O corpo da requisição não é um JSON válido.") from exc
    updates = parse_webhook(payload)
    queued: list[QueuedUpdate] = []
    unknown: set[str] = set()
    for update in updates:
        tenant_id = directory.tenant_of(update.phone_number_id)
        if tenant_id is None:
            unknown.add(update.phone_number_id)
            continue
        queued.append(QueuedUpdate(tenant_id, update))
    if unknown:
        # Answer 200 anyway: Meta would otherwise retry for days.
        logger.warning(
            "updates for unknown numbers dropped", extra={"numbers": sorted(unknown)}
        )
    if queued:
        queue.send(queued)
    metrics.add_metric(name="WebhookUpdates", unit="Count", value=len(queued))
    return Receipt(enqueued=len(queued), unknown_numbers=tuple(sorted(unknown)))
