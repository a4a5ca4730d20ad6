"""The Rasa client tries again only what never reached Rasa: a turn sent twice
would be run twice (Rasa's tracker has no idempotency key)."""

from __future__ import annotations

import json
from uuid import uuid4

import httpx
import jwt
import pytest

from atende.bot import BotUnavailable, RasaClient
from atende.bot.signing import verify_tenant

JWT_SECRET = "rasa-jwt-secret-for-unit-tests-0123456789"
SIGNING_KEY = "action-signing-key-for-unit-tests-0123456789"
TENANT = uuid4()


def _client(*outcomes: object) -> tuple[RasaClient, list[dict[str, object]]]:
    calls: list[dict[str, object]] = []
    script = list(outcomes)

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        outcome = script.pop(0)
        if isinstance(outcome, type) and issubclass(outcome, httpx.TransportError):
            raise outcome("boom", request=request)
        assert isinstance(outcome, httpx.Response)
        return outcome

    client = RasaClient(
        "http://rasa.test",
        jwt_secret=JWT_SECRET,
        signing_key=SIGNING_KEY,
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=lambda _s: None,
    )
    return client, calls


def _ask(client: RasaClient) -> list[str]:
    replies = client.respond(
        tenant_id=TENANT, sender="c1", text="oi", metadata={"wamid": "w1"}
    )
    return [r.text for r in replies]


def test_a_turn_carries_a_jwt_for_its_conversation_and_the_signed_tenant() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"text": "Olá!"}])

    client = RasaClient(
        "http://rasa.test",
        jwt_secret=JWT_SECRET,
        signing_key=SIGNING_KEY,
        http=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    client.respond(tenant_id=TENANT, sender="c1", text="oi", metadata={"wamid": "w1"})
    [request] = seen
    scheme, token = request.headers["Authorization"].split(" ")
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"])
    assert scheme == "Bearer" and claims["user"] == {"username": "c1", "role": "user"}
    metadata = json.loads(request.content)["metadata"]
    assert metadata["wamid"] == "w1"
    assert verify_tenant(SIGNING_KEY, metadata, sender="c1", max_age_s=5) == TENANT


@pytest.mark.parametrize(
    ("jwt_secret", "signing_key"),
    [(None, SIGNING_KEY), (JWT_SECRET, None), (JWT_SECRET, "SET-ME")],
)
def test_without_its_secrets_the_client_sends_nothing(
    jwt_secret: str | None, signing_key: str | None
) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=[])

    client = RasaClient(
        "http://rasa.test",
        jwt_secret=jwt_secret,
        signing_key=signing_key,
        http=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    with pytest.raises(BotUnavailable):
        _ask(client)
    assert sent == []


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_bot_unavailable_at_once(status: int) -> None:
    client, calls = _client(httpx.Response(status, json={}), httpx.Response(200))
    with pytest.raises(BotUnavailable):
        _ask(client)
    assert len(calls) == 1


def test_connection_refused_is_tried_again() -> None:
    client, calls = _client(
        httpx.ConnectError, httpx.Response(200, json=[{"text": "Olá!"}])
    )
    assert _ask(client) == ["Olá!"]
    assert len(calls) == 2


@pytest.mark.parametrize(
    "outcome",
    [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.Response(500, json={})],
)
def test_a_call_rasa_may_have_run_is_not_sent_again(outcome: object) -> None:
    client, calls = _client(outcome, httpx.Response(200, json=[{"text": "Olá!"}]))
    with pytest.raises(BotUnavailable):
        _ask(client)
    assert len(calls) == 1


def test_unreachable_every_time_gives_up() -> None:
    client, calls = _client(httpx.ConnectError, httpx.ConnectError)
    with pytest.raises(BotUnavailable):
        _ask(client)
    assert len(calls) == 2


def _tracker_client(events: object, status: int = 200) -> RasaClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/conversations/c1/tracker"
        return httpx.Response(status, json={"events": events})

    return RasaClient(
        "http://rasa.test",
        jwt_secret=JWT_SECRET,
        signing_key=None,  # reading a tracker signs nothing
        http=httpx.Client(transport=httpx.MockTransport(handler)),
    )


# Rasa 3.6's tracker events, trimmed to the fields that matter here.
TRACKER = [
    {"event": "action", "name": "action_session_start"},
    {"event": "user", "text": "oi", "metadata": {"wamid": "w1"}},
    {"event": "bot", "text": "Olá!", "data": {"buttons": None}},
    {"event": "action", "name": "action_listen"},
    {"event": "user", "text": "boleto", "metadata": {"wamid": "w2"}},
    {"event": "slot", "name": "x", "value": 1},
    {
        "event": "bot",
        "text": "Qual boleto?",
        "data": {"buttons": [{"title": "Março", "payload": "/marco"}]},
    },
    {"event": "bot", "text": "Ou fale com a gente.", "data": {}},
    {"event": "action", "name": "action_listen"},
]


def test_replies_of_a_turn_rasa_already_ran_come_from_its_tracker() -> None:
    replies = _tracker_client(TRACKER).replies_to(sender="c1", wamid="w2")
    assert replies is not None
    assert [r.text for r in replies] == ["Qual boleto?", "Ou fale com a gente."]
    assert [b.title for b in replies[0].buttons] == ["Março"]


def test_a_turn_rasa_never_saw_has_no_replies() -> None:
    assert _tracker_client(TRACKER).replies_to(sender="c1", wamid="w9") is None


def test_an_unreadable_tracker_is_bot_unavailable() -> None:
    with pytest.raises(BotUnavailable):
        _tracker_client([], status=500).replies_to(sender="c1", wamid="w1")
