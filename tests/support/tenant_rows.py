"""One row per tenant table, built for any tenant: the RLS tests' fixtures.

``ROW_BUILDERS`` must cover every table with a ``tenant_id`` column; a test walks
the catalog and fails when a new table is missing here, so isolation tests
cover tables added later without anyone remembering.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from atende.db import Connection

Ids = dict[str, Any]
RowBuilder = Callable[[Connection, uuid.UUID, Ids], Any]


def _insert(conn: Connection, sql: str, params: tuple[Any, ...]) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return next(iter(row.values()))


ROW_BUILDERS: dict[str, RowBuilder] = {
    "whatsapp_numbers": lambda c, t, ids: _insert(
        c,
        "INSERT INTO whatsapp_numbers (tenant_id, phone_number_id)"
        " VALUES (%s, %s) RETURNING phone_number_id",
        (t, f"1065{uuid.uuid4().int % 10**11}"),
    ),
    "api_keys": lambda c, t, ids: _insert(
        c,
        "INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes) "
        "VALUES (%s, 'k', 'atd_x', %s, '{documents}') RETURNING id",
        (t, uuid.uuid4().bytes),
    ),
    "attendants": lambda c, t, ids: _insert(
        c,
        "INSERT INTO attendants (tenant_id, email, display_name, role) "
        "VALUES (%s, %s, 'Ana', 'attendant') RETURNING id",
        (t, f"ana-{uuid.uuid4().hex[:6]}@example.com"),
    ),
    "customers": lambda c, t, ids: _insert(
        c,
        "INSERT INTO customers (tenant_id, wa_user_id) VALUES (%s, %s) RETURNING id",
        (t, f"BR.{uuid.uuid4().int % 10**16}"),
    ),
    "consents": lambda c, t, ids: _insert(
        c,
        "INSERT INTO consents (tenant_id, customer_id, purpose, granted, source) "
        "VALUES (%s, %s, 'atendimento', true, 'whatsapp') RETURNING id",
        (t, ids["customers"]),
    ),
    "conversations": lambda c, t, ids: _insert(
        c,
        "INSERT INTO conversations (tenant_id, customer_id, state, closed_at) "
        "VALUES (%s, %s, 'closed', now()) RETURNING id",
        (t, ids["customers"]),
    ),
    "messages": lambda c, t, ids: _insert(
        c,
        "INSERT INTO messages"
        " (tenant_id, conversation_id, direction, wamid, type, body)"
        " VALUES (%s, %s, 'inbound', %s, 'text', 'oi') RETURNING id",
        (t, ids["conversations"], f"wamid.{uuid.uuid4().hex}"),
    ),
    "handoffs": lambda c, t, ids: _insert(
        c,
        "INSERT INTO handoffs (tenant_id, conversation_id, reason) "
        "VALUES (%s, %s, 'pedido do cliente') RETURNING id",
        (t, ids["conversations"]),
    ),
    "satisfaction_surveys": lambda c, t, ids: _insert(
        c,
        "INSERT INTO satisfaction_surveys (tenant_id, conversation_id, customer_id,"
        " attendant_id, expires_at, score, rated_at, comment)"
        " VALUES (%s, %s, %s, %s, now() + interval '1 day', 4, now(), 'Bom')"
        " RETURNING id",
        (t, ids["conversations"], ids["customers"], ids["attendants"]),
    ),
    "conversation_notes": lambda c, t, ids: _insert(
        c,
        "INSERT INTO conversation_notes (tenant_id, conversation_id, attendant_id,"
        " body) VALUES (%s, %s, %s, 'Cliente VIP') RETURNING id",
        (t, ids["conversations"], ids["attendants"]),
    ),
    "labels": lambda c, t, ids: _insert(
        c,
        "INSERT INTO labels (tenant_id, name, color) VALUES (%s, 'VIP', '#aa0000')"
        " RETURNING id",
        (t,),
    ),
    "conversation_labels": lambda c, t, ids: _insert(
        c,
        "INSERT INTO conversation_labels (tenant_id, conversation_id, label_id)"
        " VALUES (%s, %s, %s) RETURNING label_id",
        (t, ids["conversations"], ids["labels"]),
    ),
    "whatsapp_template_catalogs": lambda c, t, ids: _insert(
        c,
        "INSERT INTO whatsapp_template_catalogs (tenant_id, waba_id, fetched_at)"
        " VALUES (%s, '102290129340398', now()) RETURNING tenant_id",
        (t,),
    ),
    "whatsapp_templates": lambda c, t, ids: _insert(
        c,
        "INSERT INTO whatsapp_templates (tenant_id, name, language, status,"
        " category) VALUES (%s, 'retomar', 'pt_BR', 'APPROVED', 'UTILITY')"
        " RETURNING name",
        (t,),
    ),
    "typing_signals": lambda c, t, ids: _insert(
        c,
        "INSERT INTO typing_signals (tenant_id, conversation_id, sent_at)"
        " VALUES (%s, %s, now()) RETURNING conversation_id",
        (t, ids["conversations"]),
    ),
    "conversation_terms": lambda c, t, ids: _insert(
        c,
        "INSERT INTO conversation_terms (tenant_id, lexeme, conversation_id)"
        " VALUES (%s, %s, %s) RETURNING lexeme",
        (t, f"palavra{uuid.uuid4().hex[:8]}", ids["conversations"]),
    ),
    "canned_responses": lambda c, t, ids: _insert(
        c,
        "INSERT INTO canned_responses (tenant_id, owner_id, shortcut, title, body)"
        " VALUES (%s, %s, 'saudacao', 'Saudação', 'Olá, {{nome}}!') RETURNING id",
        (t, ids["attendants"]),
    ),
    "business_hours": lambda c, t, ids: _insert(
        c,
        "INSERT INTO business_hours (tenant_id, weekly) VALUES (%s, %s)"
        " RETURNING tenant_id",
        (t, '{"seg": [[480, 1080]]}'),
    ),
    "assignment_settings": lambda c, t, ids: _insert(
        c,
        "INSERT INTO assignment_settings (tenant_id, max_conversations)"
        " VALUES (%s, 4) RETURNING tenant_id",
        (t,),
    ),
    "attendant_presence": lambda c, t, ids: _insert(
        c,
        "INSERT INTO attendant_presence (tenant_id, attendant_id, presence, chosen)"
        " VALUES (%s, %s, 'online', 'online') RETURNING attendant_id",
        (t, ids["attendants"]),
    ),
    "documents": lambda c, t, ids: _insert(
        c,
        "INSERT INTO documents (tenant_id, sha256, size_bytes) "
        "VALUES (%s, %s, 10) RETURNING id",
        (t, uuid.uuid4().bytes),
    ),
    "document_results": lambda c, t, ids: _insert(
        c,
        "INSERT INTO document_results (tenant_id, document_id, s3_key, llm_available,"
        " expires_at) VALUES (%s, %s, 'k', false, now() + interval '1 day')"
        " RETURNING document_id",
        (t, ids["documents"]),
    ),
    "knowledge_articles": lambda c, t, ids: _insert(
        c,
        "INSERT INTO knowledge_articles (tenant_id, title, body)"
        " VALUES (%s, 'Horário', 'Atendemos de segunda a sexta.') RETURNING id",
        (t,),
    ),
    "lgpd_requests": lambda c, t, ids: _insert(
        c,
        "INSERT INTO lgpd_requests (tenant_id, customer_id, kind)"
        " VALUES (%s, %s, 'access') RETURNING id",
        (t, ids["customers"]),
    ),
    "api_rate_limits": lambda c, t, ids: _insert(
        c,
        "INSERT INTO api_rate_limits (tenant_id, api_key_id, window_start, hits)"
        " VALUES (%s, %s, date_trunc('minute', now()), 1) RETURNING api_key_id",
        (t, ids["api_keys"]),
    ),
    "consent_texts": lambda c, t, ids: _insert(
        c,
        "INSERT INTO consent_texts (tenant_id, version, body)"
        " VALUES (%s, 1, 'Podemos usar seus dados?') RETURNING version",
        (t,),
    ),
    "contacts": lambda c, t, ids: _insert(
        c,
        "INSERT INTO contacts (tenant_id, customer_id, kind, value, found_by,"
        " source_message_id) VALUES (%s, %s, 'name', 'Ana', 'llm', %s) RETURNING id",
        (t, ids["customers"], ids["messages"]),
    ),
    "lgpd_exports": lambda c, t, ids: _insert(
        c,
        "INSERT INTO lgpd_exports (tenant_id, customer_id, json_key, xlsx_key,"
        " token_hash, created_by_type, expires_at)"
        " VALUES (%s, %s, 'j', 'x', %s, 'system', now()) RETURNING id",
        (t, ids["customers"], uuid.uuid4().bytes),
    ),
    "erasure_proofs": lambda c, t, ids: _insert(
        c,
        "INSERT INTO erasure_proofs (tenant_id, customer_id, requested_by_type,"
        " deleted) VALUES (%s, %s, 'system', '{}') RETURNING id",
        (t, ids["customers"]),
    ),
    "retention_policies": lambda c, t, ids: _insert(
        c,
        "INSERT INTO retention_policies (tenant_id, messages_days, exports_hours)"
        " VALUES (%s, 90, 24) RETURNING tenant_id",
        (t,),
    ),
    "console_connections": lambda c, t, ids: _insert(
        c,
        "INSERT INTO console_connections (tenant_id, connection_id, attendant_id)"
        " VALUES (%s, %s, %s) RETURNING connection_id",
        (t, f"conn-{uuid.uuid4().hex}", ids["attendants"]),
    ),
    "parked_statuses": lambda c, t, ids: _insert(
        c,
        "INSERT INTO parked_statuses (tenant_id, wamid, status, customer_key,"
        " expires_at) VALUES (%s, %s, 'delivered', 'BR.1', now() + interval '1 h')"
        " RETURNING wamid",
        (t, f"wamid.{uuid.uuid4().hex}"),
    ),
    "report_conversations": lambda c, t, ids: _insert(
        c,
        "INSERT INTO report_conversations (tenant_id, conversation_id, opened_at,"
        " handoffs, returns_to_bot, transfers, teams, attendant_ids)"
        " VALUES (%s, %s, now(), 1, 0, 0, '{}', '{}') RETURNING conversation_id",
        (t, ids["conversations"]),
    ),
    "report_handoffs": lambda c, t, ids: _insert(
        c,
        "INSERT INTO report_handoffs (tenant_id, handoff_id, conversation_id,"
        " reason, requested_at) VALUES (%s, %s, %s, 'x', now()) RETURNING handoff_id",
        (t, ids["handoffs"], ids["conversations"]),
    ),
    "report_template_sends": lambda c, t, ids: _insert(
        c,
        "INSERT INTO report_template_sends (tenant_id, message_id, conversation_id,"
        " sent_at, category, outside_window) VALUES (%s, %s, %s, now(), 'utility',"
        " true) RETURNING message_id",
        (t, ids["messages"], ids["conversations"]),
    ),
    "report_bot_events": lambda c, t, ids: _insert(
        c,
        "INSERT INTO report_bot_events (tenant_id, tracker_event_id, conversation_id,"
        " at, kind, intent) VALUES (%s, 1, %s, now(), 'intent', 'saudacao')"
        " RETURNING tracker_event_id",
        (t, ids["conversations"]),
    ),
    "report_refreshes": lambda c, t, ids: _insert(
        c,
        "INSERT INTO report_refreshes (tenant_id, refreshed_at) VALUES (%s, now())"
        " RETURNING tenant_id",
        (t,),
    ),
    "audit_events": lambda c, t, ids: _insert(
        c,
        "INSERT INTO audit_events (tenant_id, action, subject_type, actor_type) "
        "VALUES (%s, 'TEST', 'tenant', 'system') RETURNING id",
        (t,),
    ),
}


def seed_tenant(conn: Connection, tenant_id: uuid.UUID) -> Ids:
    """Insert the tenant and one row in every tenant table; returns their ids."""
    conn.execute(
        "INSERT INTO tenants (id, name, kms_key_arn) VALUES (%s, %s, 'arn:test')",
        (tenant_id, f"Tenant {tenant_id.hex[:6]}"),
    )
    ids: Ids = {"tenants": tenant_id}
    for table, build in ROW_BUILDERS.items():  # dict order respects FKs
        ids[table] = build(conn, tenant_id, ids)
    return ids
