"""Test kit for the LGPD rights: a WhatsApp channel whose customer has talked,
given consent and left data behind; the documents bucket; a Rasa tracker store.

Conversations go through the real engine (webhook payloads as Meta sends them),
so every row the rights must find is written where production writes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

from atende import aws, consent, db, lgpd
from atende.audit import Actor, RequestContext, record_event
from atende.config import get_settings
from atende.db.embedded import EmbeddedDatabase
from atende.whatsapp.media import media_key
from atende.whatsapp.updates import parse_webhook
from tests.support.channel import Channel, text_update

CUSTOMER = "BR.1502576394655843"
PHONE = "5511987654321"
OTHER = "BR.2602576394655999"
OTHER_PHONE = "5521998877665"
CONSENT_TEXT = (
    "Para te atender, a Loja Exemplo guarda seus dados de contato e o histórico "
    "desta conversa. Você autoriza? Você pode mudar de ideia quando quiser."
)
ADMIN = Actor("attendant", "00000000-0000-4000-8000-000000000001")


def make_bucket() -> None:
    aws.client("s3").create_bucket(
        Bucket=get_settings().documents_bucket,
        CreateBucketConfiguration={"LocationConstraint": "sa-east-1"},
    )


def say(ch: Channel, text: str, *, user: str = CUSTOMER, phone: str = PHONE) -> UUID:
    """The customer writes ``text``; returns the stored message's id."""
    wamid = f"wamid.{uuid.uuid4().hex}"
    [update] = parse_webhook(text_update(text, wamid=wamid, user_id=user, phone=phone))
    ch.engine.handle(ch.tenant_id, update)
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute(
            "SELECT id FROM messages WHERE wamid = %s", (wamid,)
        ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def customer_id(ch: Channel, user: str = CUSTOMER) -> UUID:
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute(
            "SELECT id FROM customers WHERE wa_user_id = %s", (user,)
        ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def conversation_ids(ch: Channel, customer: UUID) -> list[UUID]:
    with db.tenant_transaction(ch.tenant_id) as conn:
        rows = conn.execute(
            "SELECT id FROM conversations WHERE customer_id = %s", (customer,)
        ).fetchall()
    return [UUID(str(r["id"])) for r in rows]


def publish(ch: Channel, body: str = CONSENT_TEXT) -> consent.ConsentText:
    with db.tenant_transaction(ch.tenant_id) as conn:
        return consent.publish_text(conn, body, context=RequestContext(ADMIN))


def decide(ch: Channel, customer: UUID, *, granted: bool) -> None:
    with db.tenant_transaction(ch.tenant_id) as conn:
        lgpd.record_consent(
            conn,
            customer_id=customer,
            granted=granted,
            source="whatsapp_bot",
            context=RequestContext(Actor("system", "bot")),
        )


def rows(ch: Channel, query: str, *params: Any) -> list[dict[str, Any]]:
    with db.tenant_transaction(ch.tenant_id) as conn:
        return list(conn.execute(query, params).fetchall())


def customer_with_history(ch: Channel) -> dict[str, Any]:
    """A customer who consented, gave a CPF and an e-mail, sent a PDF, and
    whose data an attendant looked at; plus another customer."""
    make_bucket()
    publish(ch)
    first = say(ch, "oi")
    customer = customer_id(ch)
    decide(ch, customer, granted=True)
    with_data = say(ch, "meu cpf é 529.982.247-25, email ana.souza@example.com")
    say(ch, "oi, sou outro cliente", user=OTHER, phone=OTHER_PHONE)
    conversation = rows(
        ch, "SELECT conversation_id FROM messages WHERE id = %s", first
    )[0]["conversation_id"]
    document_id = uuid4()
    with db.tenant_transaction(ch.tenant_id) as conn:
        document = conn.execute(
            "INSERT INTO messages (tenant_id, id, conversation_id, direction, wamid,"
            " type, media_ref, payload) VALUES (current_tenant_id(), %s, %s,"
            " 'inbound', %s, 'document', %s, %s) RETURNING id",
            (
                document_id,
                conversation,
                f"wamid.{uuid4().hex}",
                media_key(ch.tenant_id, document_id),  # stored with us
                Jsonb(
                    {"media": {"mime_type": "application/pdf", "filename": "rg.pdf"}}
                ),
            ),
        ).fetchone()
        assert document is not None
        record_event(
            conn,
            action="MEDIA_ACCESSED",
            subject_type="message",
            subject_id=str(document["id"]),
            context=RequestContext(ADMIN, None, "203.0.113.9"),
            details={"mime_type": "application/pdf"},
        )
    return {
        "customer": customer,
        "conversation": conversation,
        "messages": [first, with_data],
        "document": UUID(str(document["id"])),
    }


@dataclass(frozen=True)
class TrackerStore:
    """Rasa's SQL tracker store shape: ``events`` keyed by ``sender_id``."""

    url: str

    def add(self, sender_id: str, events: int = 3) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            for n in range(events):
                conn.execute(
                    "INSERT INTO events (sender_id, type_name, timestamp, data)"
                    " VALUES (%s, 'user', %s, %s)",
                    (sender_id, float(n), '{"text": "oi"}'),
                )

    def count(self, sender_id: str) -> int:
        with psycopg.connect(self.url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM events WHERE sender_id = %s", (sender_id,)
            ).fetchone()
        assert row is not None
        return int(row[0])


def open_tracker_store(database: EmbeddedDatabase) -> Iterator[TrackerStore]:
    """A throw-away tracker database on the session's server."""
    name = f"rasa_tracker_{uuid.uuid4().hex[:8]}"
    admin = make_conninfo(database.admin_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_conninfo(database.admin_url, dbname=name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE events (id serial PRIMARY KEY, sender_id varchar(255)"
            " NOT NULL, type_name varchar(255) NOT NULL, timestamp float,"
            " intent_name varchar(255), action_name varchar(255), data text)"
        )
    yield TrackerStore(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
