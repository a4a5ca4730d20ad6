"""WhatsApp simulator (dev only): signed webhooks exactly as Meta sends them.

CLI::

    python infra/simulator.py "quero falar com um atendente"
    python infra/simulator.py --username maria.souza --no-phone "oi"

Page: ``make run`` serves it at http://127.0.0.1:8090 — type as a customer and
see what Atende answered (read from the Graph API stand-in).
"""

from __future__ import annotations

import argparse
import json
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from atende.whatsapp.webhook import SIGNATURE_HEADER, sign

PAGE = Path(__file__).with_name("simulator.html")


@dataclass(frozen=True)
class SimulatedCustomer:
    """Who writes: Meta's business-scoped id, and phone/username when shared."""

    user_id: str | None = "BR.1502576394655843"
    phone: str | None = "5511987654321"
    username: str | None = None
    name: str = "Maria Souza"


def new_wamid() -> str:
    return "wamid.SIM" + secrets.token_hex(16).upper()


def _envelope(
    value: dict[str, Any], *, phone_number_id: str, display_phone_number: str
) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": display_phone_number,
                                "phone_number_id": phone_number_id,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def text_payload(
    text: str,
    customer: SimulatedCustomer,
    *,
    phone_number_id: str,
    display_phone_number: str,
    wamid: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A ``messages`` webhook for one text, in the Cloud API's shape."""
    contact: dict[str, Any] = {"profile": {"name": customer.name}}
    message: dict[str, Any] = {
        "id": wamid or new_wamid(),
        "timestamp": str(timestamp or int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    if customer.user_id:
        contact["user_id"] = customer.user_id
        message["from_user_id"] = customer.user_id
    if customer.phone:
        contact["wa_id"] = customer.phone
        message["from"] = customer.phone
    if customer.username:
        contact["profile"]["username"] = customer.username
    return _envelope(
        {"contacts": [contact], "messages": [message]},
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
    )


def status_payload(
    wamid: str,
    status: str,
    customer: SimulatedCustomer,
    *,
    phone_number_id: str,
    display_phone_number: str,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A ``statuses`` webhook (sent, delivered, read) for an outbound message."""
    entry: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp or int(time.time())),
    }
    if customer.phone:
        entry["recipient_id"] = customer.phone
    if customer.user_id:
        entry["recipient_user_id"] = customer.user_id
    if status != "read":
        entry["pricing"] = {
            "billable": True,
            "pricing_model": "PMP",
            "category": "service",
            "type": "free_customer_service",
        }
    return _envelope(
        {"statuses": [entry]},
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
    )


def post_signed(webhook_url: str, payload: dict[str, Any], app_secret: str) -> int:
    """POST ``payload`` with Meta's ``X-Hub-Signature-256``; returns the status."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(  # noqa: S310 - local URL by design
        webhook_url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, app_secret),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def replies_for(graph_url: str, customer: SimulatedCustomer) -> list[dict[str, Any]]:
    """What Atende sent to ``customer``, from the Graph API stand-in's record."""
    with urllib.request.urlopen(f"{graph_url}/_standin/requests", timeout=5) as r:  # noqa: S310
        recorded = json.loads(r.read())
    mine = []
    for item in recorded:
        body = item.get("body") or {}
        addressee = body.get("to") or body.get("recipient")
        if addressee in {customer.phone, customer.user_id} and body.get("type"):
            mine.append(
                {
                    "type": body["type"],
                    "text": (body.get("text") or {}).get("body")
                    or ((body.get("interactive") or {}).get("body") or {}).get("text"),
                    "buttons": [
                        b["reply"]["title"]
                        for b in (
                            (body.get("interactive") or {}).get("action") or {}
                        ).get("buttons", [])
                    ],
                    "time": item.get("time"),
                }
            )
    return mine


class SimulatorServer:
    """The simulator page and its two JSON endpoints."""

    def __init__(
        self,
        *,
        port: int,
        webhook_url: str,
        graph_url: str,
        app_secret: str,
        phone_number_id: str,
        display_phone_number: str,
    ) -> None:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/":
                    data = PAGE.read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                elif self.path.startswith("/api/replies"):
                    customer = simulator.customer_from_query(self.path)
                    self._json(200, replies_for(simulator.graph_url, customer))
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                if self.path != "/api/send":
                    self._json(404, {"error": "not found"})
                    return
                length = int(self.headers.get("Content-Length", "0"))
                form = json.loads(self.rfile.read(length) or b"{}")
                customer = SimulatedCustomer(
                    user_id=form.get("user_id") or SimulatedCustomer.user_id,
                    phone=form.get("phone") or None,
                    username=form.get("username") or None,
                    name=form.get("name") or SimulatedCustomer.name,
                )
                payload = text_payload(
                    str(form.get("text", "")),
                    customer,
                    phone_number_id=simulator.phone_number_id,
                    display_phone_number=simulator.display_phone_number,
                )
                status = post_signed(
                    simulator.webhook_url, payload, simulator.app_secret
                )
                self._json(200, {"webhook_status": status})

        self.webhook_url = webhook_url
        self.graph_url = graph_url
        self.app_secret = app_secret
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @staticmethod
    def customer_from_query(path: str) -> SimulatedCustomer:
        from urllib.parse import parse_qs, urlsplit

        query = parse_qs(urlsplit(path).query)
        return SimulatedCustomer(
            user_id=query.get("user_id", [SimulatedCustomer.user_id])[0],
            phone=query.get("phone", [None])[0] or None,
        )

    def start(self) -> SimulatorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> int:
    parser = argparse.ArgumentParser(description="Send a signed WhatsApp webhook")
    parser.add_argument("text", help="what the customer writes")
    parser.add_argument("--webhook", default="http://127.0.0.1:8000/whatsapp/webhook")
    parser.add_argument("--graph", default="http://127.0.0.1:8089")
    parser.add_argument("--app-secret", default="dev-app-secret")
    parser.add_argument("--phone-number-id", default="106540352242922")
    parser.add_argument("--user-id", default=SimulatedCustomer.user_id)
    parser.add_argument("--phone", default=SimulatedCustomer.phone)
    parser.add_argument("--no-phone", action="store_true", help="a username user")
    parser.add_argument("--username", default=None)
    parser.add_argument(
        "--wait", type=float, default=5.0, help="seconds to wait for replies"
    )
    args = parser.parse_args()
    customer = SimulatedCustomer(
        user_id=args.user_id,
        phone=None if args.no_phone else args.phone,
        username=args.username,
    )
    before = len(replies_for(args.graph, customer))
    payload = text_payload(
        args.text,
        customer,
        phone_number_id=args.phone_number_id,
        display_phone_number="+55 11 4000-1234",
    )
    status = post_signed(args.webhook, payload, args.app_secret)
    print(f"webhook → {status}")
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        replies = replies_for(args.graph, customer)[before:]
        if replies:
            for reply in replies:
                print(f"Atende: {reply['text']}")
            return 0
        time.sleep(0.3)
    print("(sem resposta ainda)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
