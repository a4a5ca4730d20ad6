"""Erasure (LGPD art. 18 VI): the customer's data goes from everywhere it lives.

- S3: the customer's media and access exports (tenant prefix).
- Rasa: the trackers of every conversation (the bot's memory).
- SQS: the customer's records in the conversation dead-letter queue.
- PostgreSQL: contacts, exports, handoffs, messages (with their wamids, the
  durable dedupe records), parked delivery statuses and conversations are
  deleted; the customer row is anonymised (it anchors what must stay).

Kept, as the law requires and without personal data: audit events (ids and
counts only), consent decisions (proof of the legal basis, art. 8 §2), the LGPD
requests and the proof of erasure itself, which says what was deleted where,
when and on whose request. Running it again returns the same proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from atende import lgpd, storage
from atende.audit import RequestContext, record_event
from atende.bot.tracker import tracker_store_url
from atende.config import get_settings
from atende.conversations import store
from atende.conversations.dead_letters import DeadLetterQueue
from atende.db import Connection, tenant_transaction
from atende.lgpd import access
from atende.lgpd.access import CustomerNotFound
from atende.whatsapp.media import stored_media_keys

__all__ = ["ErasureProof", "erase_customer", "get_proof"]

KEPT = ("audit_events", "consents", "lgpd_requests", "erasure_proofs")


@dataclass(frozen=True)
class ErasureProof:
    id: UUID
    customer_id: UUID
    request_id: UUID | None
    requested_by_type: str
    requested_by_id: str | None
    executed_at: datetime
    deleted: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "customer_id": str(self.customer_id),
            "request_id": str(self.request_id) if self.request_id else None,
            "requested_by": {
                "type": self.requested_by_type,
                "id": self.requested_by_id,
            },
            "executed_at": self.executed_at.isoformat(),
            "deleted": self.deleted,
        }


def get_proof(conn: Connection, customer_id: UUID) -> ErasureProof | None:
    row = conn.execute(
        "SELECT id, customer_id, request_id, requested_by_type, requested_by_id,"
        " executed_at, deleted FROM erasure_proofs WHERE customer_id = %s",
        (customer_id,),
    ).fetchone()
    return ErasureProof(**row) if row else None


def _media_keys(conn: Connection, tenant_id: UUID, customer_id: UUID) -> list[str]:
    rows = conn.execute(
        "SELECT m.id, m.media_ref FROM messages m JOIN conversations c"
        " ON c.id = m.conversation_id WHERE c.customer_id = %s"
        " AND m.media_ref IS NOT NULL",
        (customer_id,),
    ).fetchall()
    return [
        key
        for r in rows
        for key in stored_media_keys(tenant_id, r["id"], str(r["media_ref"]))
    ]


def _customer_keys(conn: Connection, customer_id: UUID) -> list[str]:
    """Every key Meta knows the customer by: the queue's group and the parked
    statuses use them."""
    row = conn.execute(
        "SELECT wa_user_id, phone, previous_user_ids FROM customers WHERE id = %s",
        (customer_id,),
    ).fetchone()
    if row is None:
        return []
    keys = [row["wa_user_id"], row["phone"], *row["previous_user_ids"]]
    return sorted({str(k) for k in keys if k})


def _delete(conn: Connection, sql: str, customer_id: UUID) -> int:
    return conn.execute(sql, (customer_id,)).rowcount


def erase_customer(
    tenant_id: UUID,
    customer_id: UUID,
    *,
    context: RequestContext,
    tracker_db_url: str | None = None,
) -> ErasureProof:
    """Erase the customer everywhere and write the proof; idempotent.

    Args:
        tracker_db_url: Rasa's tracker store; default from the settings. Without
            one (no bot deployed) the proof says the tracker was not configured.

    Raises:
        CustomerNotFound: no such customer in this tenant.
    """
    with tenant_transaction(tenant_id) as conn:
        row = conn.execute(
            "SELECT erased_at FROM customers WHERE id = %s", (customer_id,)
        ).fetchone()
        if row is None:
            raise CustomerNotFound()
        if row["erased_at"] is not None:
            proof = get_proof(conn, customer_id)
            assert proof is not None  # written in the erasing transaction
            return proof
        media_keys = _media_keys(conn, tenant_id, customer_id)
        exports = [
            r["id"]
            for r in conn.execute(
                "SELECT id FROM lgpd_exports WHERE customer_id = %s", (customer_id,)
            )
        ]
        customer_keys = _customer_keys(conn, customer_id)
    # S3 and SQS first: if the rest fails, a second run finds nothing there
    # and goes on. Keys come from our ids, under this tenant's prefix only.
    s3_objects = storage.delete(tenant_id, media_keys) + access.delete_export_files(
        tenant_id, exports
    )
    dlq_url = get_settings().conversation_dlq_url
    dead_letters = (
        DeadLetterQueue(dlq_url).erase_customer(tenant_id, customer_keys)
        if dlq_url
        else 0
    )
    if tracker_db_url is None:
        tracker_db_url = tracker_store_url()

    with tenant_transaction(tenant_id) as conn:
        locked = conn.execute(
            "SELECT erased_at FROM customers WHERE id = %s FOR UPDATE", (customer_id,)
        ).fetchone()
        if locked is not None and locked["erased_at"] is not None:
            # Another erasure of the same customer committed while we waited.
            proof = get_proof(conn, customer_id)
            assert proof is not None
            return proof
        tracker: dict[str, Any] = {"configured": tracker_db_url is not None}
        if tracker_db_url is not None:
            tracker["events"] = lgpd.erase_bot_memory(
                conn,
                customer_id=customer_id,
                tracker_db_url=tracker_db_url,
                context=context,
            )
        postgres = {
            "contacts": _delete(
                conn, "DELETE FROM contacts WHERE customer_id = %s", customer_id
            ),
            "lgpd_exports": _delete(
                conn, "DELETE FROM lgpd_exports WHERE customer_id = %s", customer_id
            ),
        }
        # Requests outlive the conversations they came from.
        conn.execute(
            "UPDATE lgpd_requests SET conversation_id = NULL WHERE customer_id = %s",
            (customer_id,),
        )
        postgres |= store.erase_conversations(conn, customer_id, customer_keys)
        store.anonymize_customer(conn, customer_id)
        lgpd_request = lgpd.close_request(
            conn, customer_id=customer_id, kind="erasure", context=context
        )
        deleted: dict[str, Any] = {
            "postgres": {**postgres, "customers": "anonimizado"},
            "s3": {"objects": s3_objects},
            "sqs": {"dead_letters": dead_letters},
            "rasa_tracker": tracker,
            "kept": list(KEPT),
        }
        proof_row = conn.execute(
            "INSERT INTO erasure_proofs (tenant_id, customer_id, request_id,"
            " requested_by_type, requested_by_id, deleted)"
            " VALUES (current_tenant_id(), %s, %s, %s, %s, %s)"
            " RETURNING id, customer_id, request_id, requested_by_type,"
            " requested_by_id, executed_at, deleted",
            (
                customer_id,
                lgpd_request,
                context.actor.type,
                context.actor.id,
                Jsonb(deleted),
            ),
        ).fetchone()
        assert proof_row is not None
        proof = ErasureProof(**proof_row)
        record_event(
            conn,
            action="LGPD_ERASURE_COMPLETED",
            subject_type="customer",
            subject_id=str(customer_id),
            context=context,
            details={
                "proof_id": str(proof.id),
                "messages": postgres["messages"],
                "conversations": postgres["conversations"],
                "s3_objects": s3_objects,
            },
        )
    return proof
