"""Retention: the scheduled job that removes what each tenant no longer needs.

Per tenant (``retention_policies``, else the settings' defaults):

- messages older than ``messages_days`` (and their media in S3), except the
  outbox and a turn in progress; with them the other copies of what the
  customer wrote or what was written about them: the bot's handoff summaries,
  Rasa's tracker events, attendants' private notes and CSAT comments (the
  score stays: it is no personal data and the reports count it);
- access exports older than ``exports_hours`` (S3 files and rows);
- document results past their TTL (S3 file and row; the job's metadata stays);
- audit events older than 365 days, through ``purge_expired_audit_events``
  (the table is append-only for the application; the floor is in the database);
- records in the conversation dead-letter queue older than ``messages_days``
  (they carry a customer's message; the queue itself keeps none past 14 days).

Work goes in batches (S3 first, then the rows), so a run that stops half way
leaves nothing dangling and the next run goes on; a second run finds nothing.
Each tenant's run that removed something is audited with its counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg

from atende import storage
from atende.audit import SYSTEM_CONTEXT, RequestContext, record_event
from atende.bot.tracker import tracker_store_url
from atende.config import get_settings
from atende.conversations import store
from atende.conversations.dead_letters import DeadLetterQueue
from atende.db import Connection, directory_transaction, tenant_transaction
from atende.documents.keys import result_key
from atende.errors import InvalidInput
from atende.lgpd import access
from atende.observability import logger
from atende.whatsapp.media import stored_media_keys

__all__ = [
    "Policy",
    "PolicyInvalid",
    "apply_retention",
    "apply_tenant_retention",
    "policy_of",
    "set_policy",
]

AUDIT_RETENTION_DAYS = 365


@dataclass(frozen=True)
class Policy:
    messages_days: int
    exports_hours: int


def policy_of(conn: Connection) -> Policy:
    """The tenant's retention, or the defaults of the settings."""
    row = conn.execute(
        "SELECT messages_days, exports_hours FROM retention_policies"
    ).fetchone()
    if row:
        return Policy(**row)
    settings = get_settings()
    return Policy(settings.retention_messages_days, settings.retention_exports_hours)


class PolicyInvalid(InvalidInput):
    code = "RETENCAO_INVALIDA"
    message = (
        "Retenção inválida: mensagens de 1 a 3650 dias, exportações de 1 a 48 horas."
    )


def set_policy(
    conn: Connection, *, messages_days: int, exports_hours: int, context: RequestContext
) -> Policy:
    """Set the tenant's retention (audited).

    Exports can't outlive 48 hours: the bucket's lifecycle rule removes
    anything under ``tenants/`` within two days anyway.

    Raises:
        PolicyInvalid: out of range.
    """
    if not (1 <= messages_days <= 3650 and 1 <= exports_hours <= 48):
        raise PolicyInvalid()
    conn.execute(
        "INSERT INTO retention_policies (tenant_id, messages_days, exports_hours)"
        " VALUES (current_tenant_id(), %s, %s) ON CONFLICT (tenant_id) DO UPDATE"
        " SET messages_days = EXCLUDED.messages_days,"
        " exports_hours = EXCLUDED.exports_hours, updated_at = now()",
        (messages_days, exports_hours),
    )
    record_event(
        conn,
        action="RETENTION_POLICY_SET",
        subject_type="tenant",
        subject_id=None,
        context=context,
        details={"messages_days": messages_days, "exports_hours": exports_hours},
    )
    return Policy(messages_days, exports_hours)


def _batches(step: Callable[[int], int], batch_size: int, max_batches: int) -> int:
    total = 0
    for _ in range(max_batches):
        done = step(batch_size)
        total += done
        if done < batch_size:
            break
    return total


def _messages(tenant_id: UUID, policy: Policy, limit: int) -> int:
    with tenant_transaction(tenant_id) as conn:
        rows = store.messages_older_than(conn, policy.messages_days, limit)
    storage.delete(
        tenant_id,
        (
            key
            for r in rows
            if r["media_ref"]
            for key in stored_media_keys(tenant_id, r["id"], str(r["media_ref"]))
        ),
    )
    with tenant_transaction(tenant_id) as conn:
        store.delete_messages(conn, [r["id"] for r in rows])
    return len(rows)


def _handoff_summaries(tenant_id: UUID, policy: Policy, limit: int) -> int:
    """The bot's summaries quote the customer: they age like messages."""
    with tenant_transaction(tenant_id) as conn:
        return store.forget_handoff_summaries(conn, policy.messages_days, limit)


def _notes(tenant_id: UUID, policy: Policy, limit: int) -> int:
    with tenant_transaction(tenant_id) as conn:
        return conn.execute(
            "DELETE FROM conversation_notes WHERE id IN (SELECT id"
            " FROM conversation_notes"
            " WHERE created_at < now() - make_interval(days => %s)"
            " ORDER BY created_at LIMIT %s)",
            (policy.messages_days, limit),
        ).rowcount


def _survey_comments(tenant_id: UUID, policy: Policy, limit: int) -> int:
    with tenant_transaction(tenant_id) as conn:
        return conn.execute(
            "UPDATE satisfaction_surveys SET comment = NULL WHERE id IN (SELECT id"
            " FROM satisfaction_surveys WHERE comment IS NOT NULL"
            " AND commented_at < now() - make_interval(days => %s)"
            " ORDER BY commented_at LIMIT %s)",
            (policy.messages_days, limit),
        ).rowcount


def _tracker_events(tenant_id: UUID, policy: Policy, tracker_db_url: str) -> int:
    """Rasa keeps every turn's text in its tracker store (sender = conversation)."""
    with tenant_transaction(tenant_id) as conn:
        senders = [
            str(r["id"])
            for r in conn.execute(
                "SELECT id FROM conversations"
                " WHERE opened_at < now() - make_interval(days => %s)",
                (policy.messages_days,),
            ).fetchall()
        ]
    cutoff = time.time() - policy.messages_days * 86400
    deleted = 0
    with psycopg.connect(tracker_db_url, autocommit=True) as tracker:
        for start in range(0, len(senders), 1000):
            deleted += tracker.execute(
                "DELETE FROM events WHERE sender_id = ANY(%s) AND timestamp < %s",
                (senders[start : start + 1000], cutoff),
            ).rowcount
    return deleted


def _exports(tenant_id: UUID, policy: Policy, limit: int) -> int:
    with tenant_transaction(tenant_id) as conn:
        ids = [
            r["id"]
            for r in conn.execute(
                "SELECT id FROM lgpd_exports"
                " WHERE created_at < now() - make_interval(hours => %s)"
                " ORDER BY created_at LIMIT %s",
                (policy.exports_hours, limit),
            )
        ]
    access.delete_export_files(tenant_id, ids)
    with tenant_transaction(tenant_id) as conn:
        conn.execute("DELETE FROM lgpd_exports WHERE id = ANY(%s)", (ids,))
    return len(ids)


def _document_results(tenant_id: UUID, limit: int) -> int:
    with tenant_transaction(tenant_id) as conn:
        rows = conn.execute(
            "SELECT document_id FROM document_results"
            " WHERE expires_at <= now() ORDER BY expires_at LIMIT %s",
            (limit,),
        ).fetchall()
    storage.delete(tenant_id, (result_key(tenant_id, r["document_id"]) for r in rows))
    with tenant_transaction(tenant_id) as conn:
        conn.execute(
            "DELETE FROM document_results WHERE document_id = ANY(%s)",
            ([r["document_id"] for r in rows],),
        )
    return len(rows)


def _audit_events(tenant_id: UUID, limit: int) -> int:
    with tenant_transaction(tenant_id) as conn:
        row = conn.execute(
            "SELECT purge_expired_audit_events(%s) AS n", (limit,)
        ).fetchone()
    return int(row["n"]) if row else 0


def apply_tenant_retention(
    tenant_id: UUID, *, batch_size: int | None = None, max_batches: int | None = None
) -> dict[str, int]:
    """Apply one tenant's retention; returns what was removed, by kind."""
    settings = get_settings()
    size = batch_size or settings.retention_batch_size
    rounds = max_batches or settings.retention_max_batches
    with tenant_transaction(tenant_id) as conn:
        policy = policy_of(conn)
    removed = {
        "messages": _batches(lambda n: _messages(tenant_id, policy, n), size, rounds),
        "lgpd_exports": _batches(
            lambda n: _exports(tenant_id, policy, n), size, rounds
        ),
        "document_results": _batches(
            lambda n: _document_results(tenant_id, n), size, rounds
        ),
        "audit_events": _batches(lambda n: _audit_events(tenant_id, n), size, rounds),
        "handoff_summaries": _batches(
            lambda n: _handoff_summaries(tenant_id, policy, n), size, rounds
        ),
        "notes": _batches(lambda n: _notes(tenant_id, policy, n), size, rounds),
        "survey_comments": _batches(
            lambda n: _survey_comments(tenant_id, policy, n), size, rounds
        ),
    }
    tracker_db_url = tracker_store_url()
    if tracker_db_url is not None:
        removed["tracker_events"] = _tracker_events(tenant_id, policy, tracker_db_url)
    if settings.conversation_dlq_url:
        try:
            removed["dead_letters"] = DeadLetterQueue(
                settings.conversation_dlq_url
            ).purge_older_than(
                tenant_id, datetime.now(UTC) - timedelta(days=policy.messages_days)
            )
        except Exception:
            # The queue's own 14-day retention still applies; the rest of the
            # tenant's retention goes on, and tomorrow's run tries again.
            logger.exception("dead-letter retention failed")
    if any(removed.values()):
        with tenant_transaction(tenant_id) as conn:
            record_event(
                conn,
                action="RETENTION_APPLIED",
                subject_type="tenant",
                subject_id=str(tenant_id),
                context=SYSTEM_CONTEXT,
                details={
                    **removed,
                    "messages_days": policy.messages_days,
                    "exports_hours": policy.exports_hours,
                    "audit_days": AUDIT_RETENTION_DAYS,
                },
            )
    return removed


def apply_retention(
    *, batch_size: int | None = None, max_batches: int | None = None
) -> dict[str, int]:
    """Apply every tenant's retention (the scheduled job); returns the totals."""
    with directory_transaction() as conn:
        tenant_ids = [r["id"] for r in conn.execute("SELECT id FROM tenants")]
    totals: dict[str, int] = {}
    for tenant_id in tenant_ids:
        removed = apply_tenant_retention(
            tenant_id, batch_size=batch_size, max_batches=max_batches
        )
        for kind, count in removed.items():
            totals[kind] = totals.get(kind, 0) + count
    return totals
