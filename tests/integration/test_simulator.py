"""The local tools a newcomer chats with (issue 18, points 10 and 15): the
simulator sends what WhatsApp sends (taps included) as the right customer,
and the Graph stand-in reports sent, delivered and read as Meta does. Over
real loopback HTTP: stand-in, simulator, and a webhook that records."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from atende.whatsapp.graph import GraphClient, ListRow, ListSection, Recipient
from atende.whatsapp.updates import InboundMessage, StatusUpdate, parse_webhook
from atende.whatsapp.webhook import SIGNATURE_HEADER, verify_signature
from infra import simulator
from infra.graph_standin import GraphStandIn
from infra.simulator import SimulatorServer, customer_for, status_sender

SECRET = "dev-app-secret"
PHONE_ID = "106540352242922"
DISPLAY = "+55 11 4000-1234"
MARIA = customer_for()


class Webhook:
    """The API's webhook, as far as these tools see it: signed bodies in."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                verify_signature(raw, self.headers.get(SIGNATURE_HEADER), SECRET)
                outer.received.append(json.loads(raw))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhook"

    def updates(self) -> list[Any]:
        return [u for body in self.received for u in parse_webhook(body)]

    def wait_for(self, count: int, timeout_s: float = 5) -> list[Any]:
        deadline = time.monotonic() + timeout_s
        while len(self.updates()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.updates()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.stop()


@pytest.fixture
def graph(webhook: Webhook) -> Iterator[GraphStandIn]:
    standin = GraphStandIn(
        port=0,
        on_status=status_sender(webhook.url, SECRET, DISPLAY),
        delivered_after_s=0.2,
    ).start()
    yield standin
    standin.stop()


@pytest.fixture
def page(webhook: Webhook, graph: GraphStandIn) -> Iterator[SimulatorServer]:
    server = SimulatorServer(
        port=0,
        webhook_url=webhook.url,
        graph_url=graph.url,
        app_secret=SECRET,
        phone_number_id=PHONE_ID,
        display_phone_number=DISPLAY,
    ).start()
    yield server
    server.stop()


def _atende(graph: GraphStandIn) -> GraphClient:
    return GraphClient(phone_number_id=PHONE_ID, access_token="t", base_url=graph.url)


def _ask_consent(graph: GraphStandIn) -> str:
    with _atende(graph) as client:
        sent = client.send_buttons(
            Recipient(user_id=MARIA.user_id, phone=MARIA.phone),
            "Você autoriza o uso dos seus dados?",
            [("consent:granted", "Sim, autorizo"), ("consent:denied", "Não")],
        )
    return sent.wamid


def test_a_tapped_button_is_an_interactive_reply_with_the_button_s_id(
    page: SimulatorServer, graph: GraphStandIn, webhook: Webhook
) -> None:
    """Consent is recorded only from a tap; the page could only type text."""
    asked = _ask_consent(graph)
    with httpx.Client(base_url=page.url) as http:
        shown = http.get("/api/replies", params={"phone": MARIA.phone}).json()
        assert shown[-1]["buttons"] == [
            {"id": "consent:granted", "title": "Sim, autorizo"},
            {"id": "consent:denied", "title": "Não"},
        ]
        assert shown[-1]["wamid"] == asked
        tap = {"kind": "button_reply", "id": "consent:granted"}
        tap |= {"title": "Sim, autorizo", "replied_to": asked}
        sent = http.post("/api/send", json={"phone": MARIA.phone, "reply": tap})
    assert sent.json() == {"webhook_status": 200}
    [message] = [u for u in webhook.updates() if isinstance(u, InboundMessage)]
    assert message.type == "interactive"
    assert message.interactive is not None
    assert (message.interactive.kind, message.interactive.id) == (
        "button_reply",
        "consent:granted",
    )
    assert message.context is not None and message.context.id == asked
    assert message.user_id == MARIA.user_id and message.wa_id == MARIA.phone


def test_a_chosen_list_row_is_a_list_reply_and_the_cli_taps_too(
    graph: GraphStandIn, webhook: Webhook, capsys: pytest.CaptureFixture[str]
) -> None:
    with _atende(graph) as client:
        offered = client.send_list(
            Recipient(user_id=MARIA.user_id, phone=MARIA.phone),
            "Qual assunto?",
            "Assuntos",
            [ListSection([ListRow("topic:order", "Pedido", "Onde está")])],
        )
    argv = ["--webhook", webhook.url, "--graph", graph.url, "--wait", "0"]
    assert simulator.main([*argv, "--list-row", "topic:order"]) == 0
    assert simulator.main([*argv, "--button", "nao:existe"]) == 2
    assert "no message from Atende offers 'nao:existe'" in capsys.readouterr().out
    [message] = [u for u in webhook.updates() if isinstance(u, InboundMessage)]
    assert message.interactive is not None
    assert (message.interactive.kind, message.interactive.id) == (
        "list_reply",
        "topic:order",
    )
    assert message.interactive.description == "Onde está"
    assert message.context is not None
    assert message.context.id == offered.wamid


def test_a_phone_alone_is_a_new_customer_and_the_name_is_taken() -> None:
    """--phone alone continued Maria's conversation under another number."""
    args = simulator.parse_args(["--phone", "5521998765432", "--name", "João", "oi"])
    joao = customer_for(
        user_id=args.user_id, phone=args.phone, username=args.username, name=args.name
    )
    assert joao.phone == "5521998765432" and joao.name == "João"
    assert joao.user_id not in (None, MARIA.user_id)
    assert customer_for(phone="5521998765432").user_id == joao.user_id  # stable
    assert customer_for(phone=MARIA.phone) == MARIA
    by_username = customer_for(username="joao.lima")
    assert by_username.phone is None and by_username.user_id not in (
        None,
        joao.user_id,
    )
    assert SimulatorServer.customer_from_query(
        "/api/replies?phone=5521998765432&user_id="
    )
    with pytest.raises(SystemExit):
        simulator.parse_args([])  # neither a text nor a tap


def test_the_stand_in_reports_sent_delivered_and_read_signed_as_meta_does(
    page: SimulatorServer, graph: GraphStandIn, webhook: Webhook
) -> None:
    """A newcomer only ever saw "Enviada": nothing reported delivery or reading."""
    asked = _ask_consent(graph)
    statuses = webhook.wait_for(2)
    assert [(u.wamid, u.status) for u in statuses] == [
        (asked, "sent"),
        (asked, "delivered"),
    ]
    assert all(isinstance(u, StatusUpdate) for u in statuses)
    assert statuses[0].recipient_id == MARIA.phone
    assert statuses[0].phone_number_id == PHONE_ID
    # The page showed it: read, once however often it is shown.
    with httpx.Client(base_url=page.url) as http:
        for _ in range(2):
            assert http.post("/api/read", json={"wamids": [asked]}).status_code == 200
    updates = webhook.wait_for(3)
    time.sleep(0.3)
    assert [u.status for u in webhook.updates()] == ["sent", "delivered", "read"]
    assert updates[2].wamid == asked


def test_the_page_shows_reply_buttons_a_customer_can_tap(
    page: SimulatorServer, graph: GraphStandIn, webhook: Webhook
) -> None:
    """The page showed the buttons as labels: nothing happened on a click."""
    from playwright.sync_api import expect, sync_playwright

    from tests.support.browser import chromium_path

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox"]
        )
        try:
            tab = browser.new_page()
            tab.goto(page.url)
            tab.wait_for_load_state("networkidle")
            asked = _ask_consent(graph)
            expect(
                tab.get_by_text("Você autoriza o uso dos seus dados?")
            ).to_be_visible()
            tab.get_by_role("button", name="Sim, autorizo").click()
            expect(tab.get_by_role("button", name="Não")).to_be_disabled()
        finally:
            browser.close()
    updates = webhook.wait_for(4)  # sent, delivered, read (shown), the tap
    [message] = [u for u in updates if isinstance(u, InboundMessage)]
    assert message.interactive is not None
    assert message.interactive.id == "consent:granted"
    assert message.context is not None and message.context.id == asked
    statuses = [u.status for u in updates if isinstance(u, StatusUpdate)]
    assert sorted(statuses) == ["delivered", "read", "sent"]


def test_the_page_shows_typing_while_an_attendant_types_and_templates_as_sent(
    page: SimulatorServer, graph: GraphStandIn, webhook: Webhook
) -> None:
    """Meta's typing indicator on the customer's message: "digitando…" on the
    page until Atende's next message; a template shows its name and values."""
    with httpx.Client(base_url=page.url) as http:
        assert http.post("/api/send", json={"phone": MARIA.phone, "text": "oi"}).json()
        [message] = [u for u in webhook.wait_for(1) if isinstance(u, InboundMessage)]
        typing = {"phone": MARIA.phone}
        assert http.get("/api/typing", params=typing).json() == {"typing": False}
        with _atende(graph) as client:
            client.mark_read(message.wamid, typing_indicator=True)
            assert http.get("/api/typing", params=typing).json() == {"typing": True}
            # Another customer's page shows nothing.
            other = {"phone": "5521998765432"}
            assert http.get("/api/typing", params=other).json() == {"typing": False}
            client.send_template(
                Recipient(user_id=MARIA.user_id, phone=MARIA.phone),
                "atualizacao_pedido",
                components=[
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "Maria"},
                            {"type": "text", "text": "A-1"},
                        ],
                    }
                ],
            )
        assert http.get("/api/typing", params=typing).json() == {"typing": False}
        shown = http.get("/api/replies", params=typing).json()
    assert shown[-1]["text"] == "[modelo atualizacao_pedido]: Maria, A-1"


def test_the_customer_sends_a_photo_and_sees_the_files_atende_sends(
    page: SimulatorServer, graph: GraphStandIn, webhook: Webhook
) -> None:
    """Media both ways in `make run`: the page's photo reaches the webhook as
    WhatsApp sends one (its file at the stand-in, under the id the message
    carries); a PDF Atende uploads and sends shows on the page, bytes and all."""
    import base64

    photo = b"\x89PNG\r\n\x1a\n photo bytes"
    with httpx.Client(base_url=page.url) as http:
        sent = http.post(
            "/api/send",
            json={
                "phone": MARIA.phone,
                "image": {
                    "data": base64.b64encode(photo).decode(),
                    "mime_type": "image/png",
                    "caption": "Segue a foto",
                },
            },
        )
        assert sent.json() == {"webhook_status": 200}
        [message] = [u for u in webhook.updates() if isinstance(u, InboundMessage)]
        assert (message.type, message.text) == ("image", "Segue a foto")
        assert message.media is not None and message.media.id
        with _atende(graph) as client:
            info = client.get_media(message.media.id)
            assert info.mime_type == "image/png"
            assert client.download_media(info.url) == photo
            media_id = client.upload_media(
                b"%PDF-1.4 boleto", "application/pdf", "b.pdf"
            )
            client.send_media(
                Recipient(user_id=MARIA.user_id, phone=MARIA.phone),
                "document",
                media_id,
                caption="Seu boleto",
                filename="b.pdf",
            )
        shown = http.get("/api/replies", params={"phone": MARIA.phone}).json()
        assert shown[-1]["media"] == {
            "kind": "document",
            "id": media_id,
            "caption": "Seu boleto",
            "filename": "b.pdf",
        }
        assert shown[-1]["text"] == "Seu boleto"
        assert http.get(f"/api/media/{media_id}").content == b"%PDF-1.4 boleto"
