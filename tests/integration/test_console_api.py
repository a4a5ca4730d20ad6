"""The attendant console's API: sign-in, queue, claim race, reply, transfer, roles.

Real PostgreSQL, moto (Cognito, SQS, KMS), the Graph API stand-in, the Chalice
app through its test client.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from chalice.test import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions" / "api"))
from app import app  # noqa: E402
from atende import db, identity, tenancy
from atende.conversations.handoff import handoff_to_human
from tests.identity_kit import IdentityPool, SignedIn, identity_pool

from .channel_kit import Channel, channel, signed, text_update
from .test_whatsapp_channel import _drain, _post

__all__ = ["channel", "identity_pool"]  # fixtures, imported for pytest


def _call(
    method: str, path: str, who: SignedIn | None = None, body: Any = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if who is not None:
        headers |= who.headers
    with Client(app) as client:
        response = getattr(client.http, method)(
            path,
            headers=headers,
            **({"body": json.dumps(body)} if body is not None else {}),
        )
    return response.status_code, json.loads(response.body or b"{}")


def _waiting_conversation(
    ch: Channel,
    *,
    wamid: str,
    user: str = "BR.1502576394655843",
    reason: str = "pedido_do_cliente",
    text: str = "quero falar com um atendente",
) -> UUID:
    """A customer writes; the bot hands the conversation off."""
    _post(*signed(text_update(text, wamid=wamid, user_id=user)))
    _drain(ch)
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute(
            "SELECT v.id FROM conversations v JOIN customers c ON c.id = v.customer_id"
            " WHERE c.wa_user_id = %s AND v.state <> 'closed'",
            (user,),
        ).fetchone()
    assert row is not None
    conversation_id = UUID(str(row["id"]))
    assert handoff_to_human(
        ch.tenant_id, conversation_id, reason=reason, summary="Motivo: pedido"
    )
    return conversation_id


def test_sign_in_gives_a_token_the_api_accepts(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    ana = identity_pool.attendant(channel.tenant_id, "attendant")
    status, me = _call("get", "/v1/console/me", ana)
    assert status == 200
    assert me["email"] == ana.email and me["role"] == "attendant"
    assert me["tenant_id"] == str(channel.tenant_id)

    status, body = _call(
        "post", "/v1/console/session", body={"email": ana.email, "password": "errada"}
    )
    assert status == 401 and body["error"]["code"] == "NAO_AUTENTICADO"
    assert body["error"]["message"] == "E-mail ou senha incorretos."
