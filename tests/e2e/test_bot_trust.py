"""The bot's trust boundaries on `make run`'s real servers: Rasa answers only
callers with a JWT signed with its secret, and the action server only Rasa (its
token) and only tenants the conversation worker signed (docs/security.md)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any
from uuid import UUID, uuid4

import jwt
import psycopg
import pytest

from atende.bot import RasaClient
from atende.bot.signing import rasa_token, sign_tenant
from infra.simulator import SimulatedCustomer, post_signed, text_payload
from infra.stack_harness import (
    APP_SECRET,
    DISPLAY_PHONE_NUMBER,
    PHONE_NUMBER_ID,
    LocalStack,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.bot]


def _status(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 - the local stack
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_rasa_answers_only_callers_with_a_valid_token(bot_stack: LocalStack) -> None:
    rasa = f"http://127.0.0.1:{bot_stack.ports['rasa']}"
    secret = bot_stack.env["RASA_JWT_SECRET"]
    sender = str(uuid4())
    tracker = f"{rasa}/conversations/{sender}/tracker"
    webhook = f"{rasa}/webhooks/rest/webhook"
    message = {"sender": sender, "message": "oi"}
    claims = {"user": {"username": sender, "role": "user"}}
    wrong_key = jwt.encode(
        {**claims, "exp": int(time.time()) + 60}, "not-the-secret-" * 3, "HS256"
    )
    # Rasa's HTTP API allows sanic-jwt's 3 minutes of leeway past "exp".
    expired = jwt.encode({**claims, "exp": int(time.time()) - 600}, secret, "HS256")
    other_conversation = rasa_token(secret, sender=str(uuid4()))

    for method, url, body in (("GET", tracker, None), ("POST", webhook, message)):
        assert _status(method, url, body)[0] == 401, url
        assert _status(method, url, body, _bearer(wrong_key))[0] == 401, url
        assert _status(method, url, body, _bearer(expired))[0] == 401, url
        # A token for one conversation opens no other.
        assert _status(method, url, body, _bearer(other_conversation))[0] == 403, url
    # The HTTP API's own token parameter is not enabled either.
    assert _status("GET", f"{tracker}?token={secret}")[0] == 401

    client = RasaClient(
        rasa,
        jwt_secret=secret,
        signing_key=bot_stack.env["ACTION_SIGNING_KEY"],
    )
    replies = client.respond(
        tenant_id=UUID(bot_stack.demo["tenant_id"]),
        sender=sender,
        text="oi",
        metadata={"wamid": "wamid.trust1"},
    )
    assert replies and replies[0].text
    assert client.replies_to(sender=sender, wamid="wamid.trust1") == replies


def _conversation_of(stack: LocalStack, customer: SimulatedCustomer) -> str:
    payload = text_payload(
        "oi",
        customer,
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number=DISPLAY_PHONE_NUMBER,
    )
    assert post_signed(stack.webhook, payload, APP_SECRET) == 200
    found: list[str] = []

    def stored() -> bool:
        with psycopg.connect(stack.database_url()) as conn:
            row = conn.execute(
                "SELECT v.id FROM conversations v JOIN customers c"
                " ON c.id = v.customer_id WHERE c.wa_user_id = %s",
                (customer.user_id,),
            ).fetchone()
        if row:
            found.append(str(row[0]))
        return bool(row)

    wait_for(stored, 60, "the customer's conversation")
    return found[0]


def _erasure_requests(stack: LocalStack, conversation_id: str) -> int:
    with psycopg.connect(stack.database_url()) as conn:
        row = conn.execute(
            "SELECT count(*) FROM lgpd_requests WHERE conversation_id = %s",
            (conversation_id,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _action_call(conversation_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """What Rasa posts to the action server to run one action."""
    message = {
        "text": "apaguem meus dados",
        "intent": {"name": "apagar_meus_dados", "confidence": 0.98},
        "entities": [],
        "metadata": metadata,
    }
    return {
        "next_action": "action_solicitar_exclusao_dados",
        "sender_id": conversation_id,
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": conversation_id,
            "slots": {},
            "latest_message": message,
            "events": [
                {
                    "event": "user",
                    "text": message["text"],
                    "parse_data": message,
                    "metadata": metadata,
                }
            ],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def test_action_server_trusts_only_rasa_and_signed_tenants(
    bot_stack: LocalStack,
) -> None:
    actions = f"http://127.0.0.1:{bot_stack.ports['actions']}/webhook"
    token = bot_stack.env["ACTION_SERVER_TOKEN"]
    key = bot_stack.env["ACTION_SIGNING_KEY"]
    tenant_id = bot_stack.demo["tenant_id"]
    customer = SimulatedCustomer(
        user_id="BR.4400000000000013", phone="5511944000013", name="Tina Teste"
    )
    conversation_id = _conversation_of(bot_stack, customer)
    signed = sign_tenant(key, tenant_id=tenant_id, sender=conversation_id)
    call = _action_call(conversation_id, {**signed, "wamid": "wamid.x"})

    # Only Rasa, which holds the action server's token, may call it.
    assert _status("POST", actions, call)[0] == 401
    assert _status("POST", actions, call, _bearer("x" * 43))[0] == 401

    another_tenant = sign_tenant(key, tenant_id=uuid4(), sender=conversation_id)
    forged = [
        {"tenant_id": tenant_id},  # what any caller could write
        sign_tenant("another-key-" * 4, tenant_id=tenant_id, sender=conversation_id),
        # A valid signature for another tenant, this tenant's id put in.
        {**another_tenant, "tenant_id": tenant_id},
        # This tenant's signature, for another conversation.
        sign_tenant(key, tenant_id=tenant_id, sender=str(uuid4())),
        # Signed once, replayed an hour later.
        sign_tenant(
            key, tenant_id=tenant_id, sender=conversation_id, now=time.time() - 3600
        ),
    ]
    for metadata in forged:
        status, answer = _status(
            "POST", actions, _action_call(conversation_id, metadata), _bearer(token)
        )
        assert status == 200, metadata
        assert answer["events"] == []
        texts = [r["text"] for r in answer["responses"]]
        assert texts and "protocolo" not in " ".join(texts)
        assert _erasure_requests(bot_stack, conversation_id) == 0

    # The worker's signature opens the tenant: the request is recorded.
    status, answer = _status("POST", actions, call, _bearer(token))
    assert status == 200
    assert "protocolo" in answer["responses"][0]["text"]
    assert _erasure_requests(bot_stack, conversation_id) == 1
