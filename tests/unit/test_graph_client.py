"""The WhatsApp Cloud API client against httpx.MockTransport (no network)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from atende import errors
from atende.whatsapp.graph import (
    CircuitBreaker,
    CircuitOpenError,
    GraphApiError,
    GraphClient,
    ListRow,
    ListSection,
    OutsideCustomerWindow,
    Recipient,
    TokenBucket,
    WhatsAppUnavailable,
    ensure_within_window,
)

TOKEN = "EAAG-secret-token-123"
PHONE_ID = "106540352242922"
URL = f"https://graph.facebook.com/v23.0/{PHONE_ID}/messages"
CUSTOMER = "+5511987654321"
BSUID = "BR.1502576394655843"
NOW = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)

Handler = Callable[[httpx.Request], httpx.Response]


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def ok(wamid: str = "wamid.ABC", **contact: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "messaging_product": "whatsapp",
            "contacts": [contact or {"input": CUSTOMER, "wa_id": "5511987654321"}],
            "messages": [{"id": wamid}],
        },
    )


def graph_error(status: int, code: int, **extra: Any) -> httpx.Response:
    headers = extra.pop("headers", None)
    return httpx.Response(
        status,
        headers=headers,
        json={
            "error": {
                "message": f"(#{code}) Something",
                "type": "OAuthException",
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": "why"},
                "fbtrace_id": "AbCdEf",
                **extra,
            }
        },
    )


class Recorder:
    """Answers from a list of responses (or callables) and keeps the requests."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_client(fake_time: FakeTime) -> Iterator[Callable[..., GraphClient]]:
    clients: list[GraphClient] = []

    def make(handler: Handler, **kwargs: Any) -> GraphClient:
        options: dict[str, Any] = {
            "phone_number_id": PHONE_ID,
            "access_token": TOKEN,
            "http": httpx.Client(transport=httpx.MockTransport(handler)),
            "sleep": fake_time.sleep,
            "clock": fake_time.clock,
            "rand": lambda: 0.5,
            "rate_per_second": None,
            "utcnow": lambda: NOW,
        }
        options.update(kwargs)
        client = GraphClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


# -- request shapes -------------------------------------------------------


def test_text_request_shape(make_client: Callable[..., GraphClient]) -> None:
    rec = Recorder(ok("wamid.T1"))
    sent = make_client(rec).send_text(CUSTOMER, "Olá! Como posso ajudar?")

    assert sent.wamid == "wamid.T1" and sent.wa_id == "5511987654321"
    [request] = rec.requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert rec.bodies() == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CUSTOMER,
            "type": "text",
            "text": {"body": "Olá! Como posso ajudar?", "preview_url": False},
        }
    ]


def test_reply_context_and_preview(make_client: Callable[..., GraphClient]) -> None:
    rec = Recorder(ok())
    make_client(rec).send_text(
        CUSTOMER, "Veja https://x.com.br", reply_to="wamid.IN", preview_url=True
    )
    body = rec.bodies()[0]
    assert body["context"] == {"message_id": "wamid.IN"}
    assert body["text"]["preview_url"] is True


def test_bsuid_recipient_uses_recipient_field(
    make_client: Callable[..., GraphClient],
) -> None:
    rec = Recorder(ok(input=BSUID, user_id=BSUID))
    sent = make_client(rec).send_text(Recipient(user_id=BSUID), "Oi")

    body = rec.bodies()[0]
    assert body["recipient"] == BSUID and "to" not in body
    assert sent.user_id == BSUID and sent.wa_id is None


def test_phone_wins_when_both_known(make_client: Callable[..., GraphClient]) -> None:
    rec = Recorder(ok())
    make_client(rec).send_text(Recipient(user_id=BSUID, phone=CUSTOMER), "Oi")
    body = rec.bodies()[0]
    assert body["to"] == CUSTOMER and "recipient" not in body


def test_recipient_parse_and_validation() -> None:
    assert Recipient.parse(BSUID) == Recipient(user_id=BSUID)
    assert Recipient.parse("US.ENT.11815799212886844830").user_id
    assert Recipient.parse("+55 (11) 98765-4321") == Recipient(phone=CUSTOMER)
    with pytest.raises(errors.InvalidInput):
        Recipient()
    with pytest.raises(errors.InvalidInput):
        Recipient(phone="abc")
    with pytest.raises(errors.InvalidInput):
        Recipient(user_id="not-a-bsuid")
    assert "98765" not in repr(Recipient(phone=CUSTOMER))


def test_buttons_request_shape(make_client: Callable[..., GraphClient]) -> None:
    rec = Recorder(ok())
    make_client(rec).send_buttons(
        CUSTOMER,
        "Deseja confirmar o agendamento?",
        [("sim", "Sim"), ("nao", "Não")],
        header="Agendamento",
        footer="Clínica Boa Saúde",
    )
    assert rec.bodies()[0] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Deseja confirmar o agendamento?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "sim", "title": "Sim"}},
                    {"type": "reply", "reply": {"id": "nao", "title": "Não"}},
                ]
            },
            "header": {"type": "text", "text": "Agendamento"},
            "footer": {"text": "Clínica Boa Saúde"},
        },
    }


def test_list_request_shape(make_client: Callable[..., GraphClient]) -> None:
    rec = Recorder(ok())
    make_client(rec).send_list(
        CUSTOMER,
        "Escolha um horário",
        "Ver horários",
        [
            ListSection(
                title="Manhã",
                rows=[ListRow("h09", "09:00", "Dra. Ana"), ListRow("h10", "10:00")],
            ),
            ListSection(title="Tarde", rows=[ListRow("h14", "14:00")]),
        ],
    )
    assert rec.bodies()[0]["interactive"] == {
        "type": "list",
        "body": {"text": "Escolha um horário"},
        "action": {
            "button": "Ver horários",
            "sections": [
                {
                    "title": "Manhã",
                    "rows": [
                        {"id": "h09", "title": "09:00", "description": "Dra. Ana"},
                        {"id": "h10", "title": "10:00"},
                    ],
                },
                {"title": "Tarde", "rows": [{"id": "h14", "title": "14:00"}]},
            ],
        },
    }


def test_template_request_shape(make_client: Callable[..., GraphClient]) -> None:
    rec = Recorder(ok())
    components = [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]
    make_client(rec).send_template(CUSTOMER, "lembrete_consulta", components=components)
    body = rec.bodies()[0]
    assert body["type"] == "template"
    assert body["template"] == {
        "name": "lembrete_consulta",
        "language": {"code": "pt_BR"},
        "components": components,
    }
    make_client(rec).send_template(CUSTOMER, "boas_vindas", language="en_US")
    assert rec.bodies()[1]["template"] == {
        "name": "boas_vindas",
        "language": {"code": "en_US"},
    }


def test_mark_read_shape(make_client: Callable[..., GraphClient]) -> None:
    rec = Recorder(httpx.Response(200, json={"success": True}))
    make_client(rec).mark_read("wamid.IN")
    assert str(rec.requests[0].url) == URL
    assert rec.bodies() == [
        {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN"}
    ]


def test_media_lookup_and_download(make_client: Callable[..., GraphClient]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        if request.url.path == "/v23.0/MEDIA1":
            return httpx.Response(
                200,
                json={
                    "url": "https://lookaside.fbsbx.com/m1",
                    "mime_type": "image/png",
                },
            )
        return httpx.Response(200, content=b"PNG...")

    client = make_client(handler)
    info = client.get_media("MEDIA1")
    assert (
        info.url == "https://lookaside.fbsbx.com/m1" and info.mime_type == "image/png"
    )
    assert client.download_media(info.url) == b"PNG..."


def test_media_download_refuses_foreign_hosts(
    make_client: Callable[..., GraphClient],
) -> None:
    rec = Recorder(httpx.Response(200, content=b"x"))
    with pytest.raises(errors.InvalidInput):
        make_client(rec).download_media("https://evil.example/fbsbx.com/m1")
    assert rec.requests == []  # the token never left


# -- local validation -------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda c: c.send_text(CUSTOMER, ""), "vazio"),
        (lambda c: c.send_text(CUSTOMER, "x" * 4097), "4096"),
        (lambda c: c.send_buttons(CUSTOMER, "x" * 1025, [("a", "A")]), "1024"),
        (lambda c: c.send_buttons(CUSTOMER, "b", []), "1 a 3 botões"),
        (
            lambda c: c.send_buttons(
                CUSTOMER, "b", [(str(i), str(i)) for i in range(4)]
            ),
            "1 a 3 botões",
        ),
        (lambda c: c.send_buttons(CUSTOMER, "b", [("a", "x" * 21)]), "20"),
        (lambda c: c.send_buttons(CUSTOMER, "b", [("a", "A"), ("a", "B")]), "repetir"),
        (
            lambda c: c.send_buttons(CUSTOMER, "b", [("a", "A")], header="h" * 61),
            "cabeçalho",
        ),
        (
            lambda c: c.send_list(
                CUSTOMER, "b", "x" * 21, [ListSection([ListRow("1", "um")])]
            ),
            "rótulo",
        ),
        (
            lambda c: c.send_list(
                CUSTOMER,
                "b",
                "Ver",
                [ListSection([ListRow(str(i), str(i)) for i in range(11)])],
            ),
            "1 a 10 opções",
        ),
        (
            lambda c: c.send_list(
                CUSTOMER, "b", "Ver", [ListSection([ListRow("1", "x" * 25)])]
            ),
            "24",
        ),
        (
            lambda c: c.send_list(
                CUSTOMER, "b", "Ver", [ListSection([ListRow("1", "um", "d" * 73)])]
            ),
            "72",
        ),
        (
            lambda c: c.send_list(
                CUSTOMER,
                "b",
                "Ver",
                [ListSection([ListRow("1", "um")]), ListSection([ListRow("2", "b")])],
            ),
            "título",
        ),
        (lambda c: c.send_template(CUSTOMER, "Nome Ruim"), "minúsculas"),
        (lambda c: c.mark_read(""), "identificador"),
    ],
)
def test_limits_are_checked_before_sending(
    make_client: Callable[..., GraphClient],
    call: Callable[[GraphClient], object],
    fragment: str,
) -> None:
    rec = Recorder(ok())
    with pytest.raises(errors.InvalidInput) as info:
        call(make_client(rec))
    assert fragment in info.value.user_message
    assert rec.requests == []


def test_limits_at_the_edge_are_accepted(
    make_client: Callable[..., GraphClient],
) -> None:
    rec = Recorder(ok())
    client = make_client(rec)
    client.send_buttons(
        CUSTOMER, "b" * 1024, [(str(i), f"{i}".ljust(20, "x")) for i in range(3)]
    )
    client.send_list(
        CUSTOMER,
        "b",
        "v" * 20,
        [ListSection([ListRow(str(i), "t" * 24, "d" * 72) for i in range(10)])],
    )
    assert len(rec.requests) == 2


# -- retries ------------------------------------------------------------------


def test_429_then_200_delivers_once_after_backoff(
    make_client: Callable[..., GraphClient], fake_time: FakeTime
) -> None:
    rec = Recorder(httpx.Response(429), ok("wamid.OK"))
    sent = make_client(rec).send_text(CUSTOMER, "Oi")

    assert sent.wamid == "wamid.OK" and sent.attempts == 2
    assert len(rec.requests) == 2
    # Full jitter: rand() (0.5) x base delay (0.5 s) on the first retry.
    assert fake_time.sleeps == [0.25]


def test_backoff_grows_exponentially_and_is_capped(
    make_client: Callable[..., GraphClient], fake_time: FakeTime
) -> None:
    rec = Recorder(httpx.Response(503))
    client = make_client(
        rec, rand=lambda: 1.0, max_attempts=6, base_delay_s=1.0, max_delay_s=10.0
    )
    with pytest.raises(WhatsAppUnavailable):
        client.send_text(CUSTOMER, "Oi")
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 8.0, 10.0]


def test_retry_after_is_honoured(
    make_client: Callable[..., GraphClient], fake_time: FakeTime
) -> None:
    rec = Recorder(httpx.Response(429, headers={"Retry-After": "3"}), ok())
    make_client(rec).send_text(CUSTOMER, "Oi")
    assert fake_time.sleeps == [3.0] and len(rec.requests) == 2


def test_retry_after_as_http_date(
    make_client: Callable[..., GraphClient], fake_time: FakeTime
) -> None:
    when = "Sat, 01 Aug 2026 12:00:07 GMT"
    rec = Recorder(httpx.Response(503, headers={"Retry-After": when}), ok())
    make_client(rec).send_text(CUSTOMER, "Oi")
    assert fake_time.sleeps == [7.0]


def test_retry_after_longer_than_max_delay_gives_up_at_once(
    make_client: Callable[..., GraphClient], fake_time: FakeTime
) -> None:
    rec = Recorder(httpx.Response(429, headers={"Retry-After": "120"}), ok())
    with pytest.raises(WhatsAppUnavailable) as info:
        make_client(rec).send_text(CUSTOMER, "Oi")
    assert info.value.retry_after_s == 120 and info.value.retryable
    assert fake_time.sleeps == [] and len(rec.requests) == 1


@pytest.mark.parametrize("code", [130429, 131056, 4, 80007])
def test_throttling_error_codes_are_retried(
    make_client: Callable[..., GraphClient], code: int
) -> None:
    # Meta sends 130429 and friends as HTTP 400 with the code in the body.
    rec = Recorder(graph_error(400, code), ok("wamid.AFTER"))
    sent = make_client(rec).send_text(CUSTOMER, "Oi")
    assert sent.wamid == "wamid.AFTER" and len(rec.requests) == 2


def test_5xx_exhausts_attempts_then_unavailable(
    make_client: Callable[..., GraphClient], fake_time: FakeTime
) -> None:
    rec = Recorder(graph_error(500, 1))
    with pytest.raises(WhatsAppUnavailable) as info:
        make_client(rec, max_attempts=4).send_text(CUSTOMER, "Oi")

    error = info.value
    assert isinstance(error, GraphApiError) and isinstance(error, errors.AtendeError)
    assert error.retryable and error.code == "WHATSAPP_INDISPONIVEL"
    assert error.http_status == 500 and error.attempts == 4
    assert len(rec.requests) == 4 and len(fake_time.sleeps) == 3
    assert errors.http_status(error) == 502


def test_400_131026_is_not_retried(
    make_client: Callable[..., GraphClient], fake_time: FakeTime
) -> None:
    rec = Recorder(
        graph_error(400, 131026, message="Message undeliverable", error_subcode=2494)
    )
    with pytest.raises(GraphApiError) as info:
        make_client(rec).send_text(CUSTOMER, "Oi")

    error = info.value
    assert not isinstance(error, WhatsAppUnavailable)
    assert error.code == "WHATSAPP_ENVIO_RECUSADO" and not error.retryable
    assert error.http_status == 400 and error.graph_code == 131026
    assert error.graph_subcode == 2494 and error.title == "Message undeliverable"
    assert error.graph_details == "why" and error.fbtrace_id == "AbCdEf"
    assert "não pôde ser entregue" in error.user_message
    assert error.to_body()["error"]["details"] == {
        "retryable": False,
        "whatsapp_code": 131026,
    }
    assert len(rec.requests) == 1 and fake_time.sleeps == []


@pytest.mark.parametrize("code", [100, 131047, 190])
def test_other_4xx_are_not_retried(
    make_client: Callable[..., GraphClient], code: int
) -> None:
    rec = Recorder(graph_error(401 if code == 190 else 400, code), ok())
    with pytest.raises(GraphApiError) as info:
        make_client(rec).send_text(CUSTOMER, "Oi")
    assert info.value.graph_code == code and len(rec.requests) == 1


def test_network_errors_are_retried(
    make_client: Callable[..., GraphClient], fake_time: FakeTime
) -> None:
    rec = Recorder(
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        ok("wamid.NET"),
    )
    assert make_client(rec).send_text(CUSTOMER, "Oi").wamid == "wamid.NET"
    assert len(rec.requests) == 3 and fake_time.sleeps == [0.25, 0.5]


def test_network_errors_exhausted(make_client: Callable[..., GraphClient]) -> None:
    rec = Recorder(httpx.ConnectTimeout("timed out"))
    with pytest.raises(WhatsAppUnavailable) as info:
        make_client(rec, max_attempts=2).send_text(CUSTOMER, "Oi")
    assert info.value.http_status is None and info.value.title == "ConnectTimeout"


def test_malformed_success_is_not_retried(
    make_client: Callable[..., GraphClient],
) -> None:
    rec = Recorder(httpx.Response(200, json={"messages": []}))
    with pytest.raises(GraphApiError) as info:
        make_client(rec).send_text(CUSTOMER, "Oi")
    assert not info.value.retryable and len(rec.requests) == 1


# -- circuit breaker ------------------------------------------------------------


def test_circuit_opens_fails_fast_half_opens_and_closes(
    make_client: Callable[..., GraphClient], fake_time: FakeTime
) -> None:
    breaker = CircuitBreaker(
        failure_threshold=3, reset_timeout_s=30, clock=fake_time.clock
    )
    rec = Recorder(httpx.Response(503))
    client = make_client(rec, breaker=breaker, max_attempts=1)

    for _ in range(3):
        with pytest.raises(WhatsAppUnavailable):
            client.send_text(CUSTOMER, "Oi")
    assert breaker.state == "open" and len(rec.requests) == 3

    with pytest.raises(CircuitOpenError) as info:
        client.send_text(CUSTOMER, "Oi")
    assert isinstance(info.value, errors.ServiceUnavailable)
    assert info.value.retry_after_s == 30 and "suspenso" in info.value.user_message
    assert errors.http_status(info.value) == 503
    assert len(rec.requests) == 3  # failed fast, no HTTP call

    fake_time.now += 30
    after_pause: str = breaker.state
    assert after_pause == "half_open"
    rec.answers = [ok("wamid.BACK")]
    assert client.send_text(CUSTOMER, "Oi").wamid == "wamid.BACK"
    after_trial: str = breaker.state
    assert after_trial == "closed" and len(rec.requests) == 4


def test_failed_trial_reopens_the_circuit(fake_time: FakeTime) -> None:
    breaker = CircuitBreaker(
        failure_threshold=1, reset_timeout_s=10, clock=fake_time.clock
    )
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == "open"
    fake_time.now += 10
    breaker.before_call()  # the one trial
    with pytest.raises(CircuitOpenError):
        breaker.before_call()  # a second caller while the trial runs
    breaker.record_failure()
    assert breaker.state == "open"


def test_retries_count_towards_the_breaker(
    make_client: Callable[..., GraphClient], fake_time: FakeTime
) -> None:
    breaker = CircuitBreaker(
        failure_threshold=2, reset_timeout_s=30, clock=fake_time.clock
    )
    rec = Recorder(httpx.Response(500))
    client = make_client(rec, breaker=breaker, max_attempts=5)
    with pytest.raises(WhatsAppUnavailable) as info:
        client.send_text(CUSTOMER, "Oi")
    # The circuit opened after two failures, so the retries stopped there.
    assert len(rec.requests) == 2 and info.value.attempts == 2
    assert info.value.retry_after_s is not None


def test_non_retryable_4xx_do_not_open_the_circuit(
    make_client: Callable[..., GraphClient], fake_time: FakeTime
) -> None:
    breaker = CircuitBreaker(failure_threshold=2, clock=fake_time.clock)
    rec = Recorder(graph_error(400, 131026))
    client = make_client(rec, breaker=breaker)
    for _ in range(5):
        with pytest.raises(GraphApiError):
            client.send_text(CUSTOMER, "Oi")
    assert breaker.state == "closed" and len(rec.requests) == 5


# -- rate limiting ------------------------------------------------------------


def test_rate_limiter_spaces_sends_at_80_per_second(
    make_client: Callable[..., GraphClient], fake_time: FakeTime
) -> None:
    rec = Recorder(ok())
    client = make_client(rec, rate_per_second=80.0)
    start = fake_time.now
    for _ in range(161):
        client.send_text(CUSTOMER, "Oi")
    assert len(rec.requests) == 161
    assert fake_time.now - start == pytest.approx(2.0)
    assert all(s == pytest.approx(1 / 80) for s in fake_time.sleeps)


def test_token_bucket_refills_and_allows_bursts(fake_time: FakeTime) -> None:
    bucket = TokenBucket(10, burst=5, clock=fake_time.clock, sleep=fake_time.sleep)
    waits = [bucket.acquire() for _ in range(6)]
    assert waits[:5] == [0, 0, 0, 0, 0] and waits[5] == pytest.approx(0.1)
    fake_time.now += 1.0  # idle: the bucket refills up to the burst only
    assert [bucket.acquire() for _ in range(5)] == [0, 0, 0, 0, 0]


def test_token_bucket_is_thread_safe() -> None:
    lock = threading.Lock()
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        with lock:
            slept.append(seconds)

    bucket = TokenBucket(100, clock=lambda: now[0], sleep=sleep)
    threads = [threading.Thread(target=bucket.acquire) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Clock frozen: every caller reserved a distinct slot, 10 ms apart.
    assert sorted(round(s, 4) for s in slept) == [
        round(i / 100, 4) for i in range(1, 20)
    ]


# -- 24-hour window ---------------------------------------------------------------


def test_window_function() -> None:
    ensure_within_window("text", NOW - timedelta(hours=23, minutes=59), NOW)
    ensure_within_window("template", None, NOW)
    ensure_within_window("template", NOW - timedelta(days=30), NOW)
    for last in (None, NOW - timedelta(hours=24), NOW - timedelta(days=2)):
        with pytest.raises(OutsideCustomerWindow) as info:
            ensure_within_window("interactive", last, NOW)
        assert info.value.code == "JANELA_24H_ENCERRADA"
        assert "templates" in info.value.user_message
    with pytest.raises(errors.InvalidInput):
        ensure_within_window("text", datetime(2026, 8, 1, 11), NOW)


def test_sends_enforce_the_window(make_client: Callable[..., GraphClient]) -> None:
    rec = Recorder(ok())
    client = make_client(rec)
    inside = NOW - timedelta(hours=2)
    outside = NOW - timedelta(hours=25)

    client.send_text(CUSTOMER, "Oi", last_inbound_at=inside)
    client.send_buttons(CUSTOMER, "Oi", [("a", "A")], last_inbound_at=inside)
    assert len(rec.requests) == 2

    sends: list[Callable[[datetime | None], object]] = [
        lambda last: client.send_text(CUSTOMER, "Oi", last_inbound_at=last),
        lambda last: client.send_buttons(
            CUSTOMER, "Oi", [("a", "A")], last_inbound_at=last
        ),
        lambda last: client.send_list(
            CUSTOMER,
            "Oi",
            "Ver",
            [ListSection([ListRow("1", "um")])],
            last_inbound_at=last,
        ),
    ]
    for send in sends:
        for last in (outside, None):
            with pytest.raises(OutsideCustomerWindow):
                send(last)
    assert len(rec.requests) == 2

    client.send_template(CUSTOMER, "retomar_conversa", last_inbound_at=outside)
    client.send_template(CUSTOMER, "retomar_conversa", last_inbound_at=None)
    assert len(rec.requests) == 4


# -- secrets -----------------------------------------------------------------------


def test_token_never_in_errors_or_repr(
    make_client: Callable[..., GraphClient],
) -> None:
    rec = Recorder(
        graph_error(401, 190, message=f"Invalid OAuth access token {TOKEN}"),
    )
    client = make_client(rec)
    assert TOKEN not in repr(client) and TOKEN not in str(client)
    with pytest.raises(GraphApiError) as info:
        client.send_text(CUSTOMER, "Oi")
    error = info.value
    texts = [str(error), repr(error), json.dumps(error.to_body()), str(vars(error))]
    assert all(TOKEN not in text for text in texts)
    assert error.title == "Invalid OAuth access token [token]"

    rec.answers = [httpx.Response(500, text=f"oops {TOKEN}")]
    with pytest.raises(WhatsAppUnavailable) as unavailable:
        make_client(rec, max_attempts=2).send_text(CUSTOMER, "Oi")
    assert TOKEN not in repr(unavailable.value) + str(vars(unavailable.value))


def test_throttling_is_counted_for_the_graph_throttled_alarm(
    make_client: Callable[..., GraphClient],
    fake_time: FakeTime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from atende.observability import metrics

    counted: list[str] = []
    monkeypatch.setattr(
        metrics,
        "add_metric",
        lambda name, unit, value: counted.append(name),
    )
    throttled = httpx.Response(400, json={"error": {"code": 130429}})
    make_client(Recorder(httpx.Response(429), throttled, ok())).send_text(
        CUSTOMER, "Oi"
    )
    assert counted == ["GraphThrottled", "GraphThrottled"]
    make_client(Recorder(httpx.Response(503), ok())).send_text(CUSTOMER, "Oi")
    assert counted == ["GraphThrottled", "GraphThrottled"]


def test_templates_are_listed_a_page_at_a_time_with_meta_s_cursors(
    make_client: Callable[..., GraphClient],
) -> None:
    body = {"type": "BODY", "text": "Olá, {{1}}!"}
    first = {
        "data": [
            {
                "name": "ola",
                "language": "pt_BR",
                "status": "APPROVED",
                "category": "UTILITY",
                "components": [body],
            },
            {"status": "APPROVED"},  # no name: skipped
        ],
        "paging": {"cursors": {"before": "MA==", "after": "MQ=="}, "next": "https://x"},
    }
    last = {
        "data": [{"name": "promo", "language": "pt_BR", "category": "marketing"}],
        "paging": {"cursors": {"before": "Mg==", "after": "Mg=="}},  # no "next"
    }
    recorder = Recorder(httpx.Response(200, json=first), httpx.Response(200, json=last))
    client = make_client(recorder)
    page = client.list_templates("102290129340398", limit=2)
    assert [t.name for t in page.templates] == ["ola"]
    assert page.templates[0].components == (body,)
    assert page.templates[0].parameter_format == "POSITIONAL"
    assert page.after == "MQ=="
    page = client.list_templates("102290129340398", after=page.after, limit=2)
    assert [(t.name, t.status, t.category) for t in page.templates] == [
        ("promo", "UNKNOWN", "MARKETING")
    ]
    assert page.after is None  # Meta's cursors come on the last page too
    urls = [r.url for r in recorder.requests]
    assert urls[0].path == "/v23.0/102290129340398/message_templates"
    assert "after" not in urls[0].params and urls[1].params["after"] == "MQ=="
    assert urls[1].params["limit"] == "2"
    assert all(r.method == "GET" for r in recorder.requests)


def test_a_template_listing_refuses_a_bad_waba_id_and_an_odd_answer(
    make_client: Callable[..., GraphClient],
) -> None:
    recorder = Recorder(httpx.Response(200, json={"templates": []}))
    client = make_client(recorder)
    with pytest.raises(errors.InvalidInput):
        client.list_templates("../123/messages")
    assert recorder.requests == []
    with pytest.raises(GraphApiError):
        client.list_templates("102290129340398")
