"""WhatsApp simulator (dev only): signed webhooks exactly as Meta sends them.

CLI::

    python infra/simulator.py "quero falar com um atendente"   # Maria, the default
    python infra/simulator.py --phone 5521998765432 --name "João Lima" "oi"
    python infra/simulator.py --username joao.lima "oi"        # no phone shared
    python infra/simulator.py --button consent:granted         # tap a reply button

Who writes: with no identity flag, Maria Souza (BSUID ``BR.1502576394655843``,
phone 5511987654321). ``--phone`` or ``--username`` alone is another customer:
Meta gives every WhatsApp user a business-scoped id of their own, so one is
derived from the phone or username (the same one each time); ``--user-id``
sets it. ``--button ID`` / ``--list-row ID`` answer the customer's last
message from Atende that offers that button or list row, as a tap does
(consent is recorded only from a tap).

Page: ``make run`` serves it at http://127.0.0.1:8090 — type as a customer,
tap reply buttons and list rows, send a photo, and see what Atende answered,
files included (read from the Graph API stand-in, which is told the customer
read what the page shows), and "digitando…" while an attendant types (the
stand-in's typing-indicator calls for the page's own messages, for 25 s or
until Atende's next message).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from atende.whatsapp.webhook import SIGNATURE_HEADER, sign

PAGE = Path(__file__).with_name("simulator.html")


DEFAULT_USER_ID = "BR.1502576394655843"
DEFAULT_PHONE = "5511987654321"
DEFAULT_NAME = "Maria Souza"


@dataclass(frozen=True)
class SimulatedCustomer:
    """Who writes: Meta's business-scoped id, and phone/username when shared."""

    user_id: str | None = DEFAULT_USER_ID
    phone: str | None = DEFAULT_PHONE
    username: str | None = None
    name: str = DEFAULT_NAME


def user_id_for(handle: str) -> str:
    """The business-scoped id of the customer with this phone or username:
    stable, and Maria's own for her phone."""
    if handle == DEFAULT_PHONE:
        return DEFAULT_USER_ID
    digits = int(hashlib.sha256(handle.encode()).hexdigest(), 16) % 10**16
    return f"BR.{digits:016d}"


def customer_for(
    *,
    user_id: str | None = None,
    phone: str | None = None,
    username: str | None = None,
    name: str | None = None,
) -> SimulatedCustomer:
    """Nothing given: Maria. A phone or a username alone: a customer of their
    own (before, a new phone was Maria's conversation with another number)."""
    if not (user_id or phone or username):
        return SimulatedCustomer(name=name or DEFAULT_NAME)
    handle = phone or username or ""
    return SimulatedCustomer(
        user_id=user_id or user_id_for(handle),
        phone=phone or None,
        username=username or None,
        name=name or (DEFAULT_NAME if handle == DEFAULT_PHONE else "Cliente Simulado"),
    )


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


def _message_payload(
    content: dict[str, Any],
    customer: SimulatedCustomer,
    *,
    phone_number_id: str,
    display_phone_number: str,
    wamid: str | None,
    timestamp: int | None,
) -> dict[str, Any]:
    """A ``messages`` webhook for one inbound message, in the Cloud API's shape."""
    contact: dict[str, Any] = {"profile": {"name": customer.name}}
    message: dict[str, Any] = {
        "id": wamid or new_wamid(),
        "timestamp": str(timestamp or int(time.time())),
        **content,
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


def text_payload(
    text: str,
    customer: SimulatedCustomer,
    *,
    phone_number_id: str,
    display_phone_number: str,
    wamid: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A ``messages`` webhook for one text."""
    return _message_payload(
        {"type": "text", "text": {"body": text}},
        customer,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
        wamid=wamid,
        timestamp=timestamp,
    )


@dataclass(frozen=True)
class Tap:
    """A reply button or list row the customer tapped, on Atende's message
    ``replied_to`` (its wamid)."""

    kind: str  # "button_reply" or "list_reply"
    id: str
    title: str
    replied_to: str | None = None
    description: str | None = None


def reply_payload(
    tap: Tap,
    customer: SimulatedCustomer,
    *,
    phone_number_id: str,
    display_phone_number: str,
    wamid: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A ``messages`` webhook for a tap: an ``interactive`` message whose
    ``button_reply``/``list_reply`` carries the id Atende gave the option."""
    chosen: dict[str, Any] = {"id": tap.id, "title": tap.title}
    if tap.description:
        chosen["description"] = tap.description
    content: dict[str, Any] = {
        "type": "interactive",
        "interactive": {"type": tap.kind, tap.kind: chosen},
    }
    if tap.replied_to:
        business = "".join(ch for ch in display_phone_number if ch.isdigit())
        content["context"] = {"from": business, "id": tap.replied_to}
    return _message_payload(
        content,
        customer,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
        wamid=wamid,
        timestamp=timestamp,
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


class Delivery(Protocol):
    """What the Graph stand-in reports (``infra.graph_standin.Delivery``)."""

    @property
    def wamid(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def phone_number_id(self) -> str: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def user_id(self) -> str | None: ...


def status_sender(
    webhook_url: str, app_secret: str, display_phone_number: str
) -> Callable[[Delivery], None]:
    """The Graph stand-in's ``on_status``: each status as Meta's signed
    ``statuses`` webhook to the API."""

    def send(delivery: Delivery) -> None:
        payload = status_payload(
            delivery.wamid,
            delivery.status,
            SimulatedCustomer(user_id=delivery.user_id, phone=delivery.phone),
            phone_number_id=delivery.phone_number_id,
            display_phone_number=display_phone_number,
        )
        status = post_signed(webhook_url, payload, app_secret)
        if status != 200:
            raise RuntimeError(f"the webhook answered {status}")

    return send


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


def _options(body: dict[str, Any]) -> tuple[list[dict[str, str]], Any]:
    """An outbound message's reply buttons, and its list (label and rows)."""
    interactive = body.get("interactive") or {}
    action = interactive.get("action") or {}
    buttons = [
        {"id": b["reply"]["id"], "title": b["reply"]["title"]}
        for b in action.get("buttons", [])
        if isinstance(b.get("reply"), dict)
    ]
    listed = None
    if interactive.get("type") == "list":
        listed = {
            "button": action.get("button"),
            "rows": [
                {
                    "id": row["id"],
                    "title": row["title"],
                    "description": row.get("description"),
                }
                for section in action.get("sections", [])
                for row in section.get("rows", [])
            ],
        }
    return buttons, listed


_MEDIA_KINDS = ("image", "document", "audio", "video", "sticker")


def _media(body: dict[str, Any]) -> dict[str, Any] | None:
    """An outbound file: its kind, Meta's media id, caption and file name."""
    kind = body.get("type")
    content = body.get(kind) if kind in _MEDIA_KINDS else None
    if not isinstance(content, dict) or not content.get("id"):
        return None
    return {
        "kind": kind,
        "id": str(content["id"]),
        "caption": content.get("caption"),
        "filename": content.get("filename"),
    }


def image_payload(
    media_id: str,
    mime_type: str,
    sha256: str,
    customer: SimulatedCustomer,
    *,
    phone_number_id: str,
    display_phone_number: str,
    caption: str | None = None,
) -> dict[str, Any]:
    """A ``messages`` webhook for a photo the customer sends (the file is
    already at the Graph stand-in, under ``media_id``)."""
    image: dict[str, Any] = {"id": media_id, "mime_type": mime_type, "sha256": sha256}
    if caption:
        image["caption"] = caption
    return _message_payload(
        {"type": "image", "image": image},
        customer,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
        wamid=None,
        timestamp=None,
    )


def upload_customer_file(graph_url: str, data: bytes, mime_type: str) -> dict[str, Any]:
    """Hand a customer's file to the Graph stand-in: ``{"id", "sha256"}``."""
    request = urllib.request.Request(  # noqa: S310 - local URL by design
        f"{graph_url}/_standin/media",
        data=data,
        method="POST",
        headers={"Content-Type": mime_type},
    )
    with urllib.request.urlopen(request, timeout=5) as r:  # noqa: S310
        answer: dict[str, Any] = json.loads(r.read())
    return answer


def replies_for(graph_url: str, customer: SimulatedCustomer) -> list[dict[str, Any]]:
    """What Atende sent to ``customer``, from the Graph API stand-in's record:
    text, reply buttons and list rows with their ids, files, and each one's
    wamid."""
    with urllib.request.urlopen(f"{graph_url}/_standin/requests", timeout=5) as r:  # noqa: S310
        recorded = json.loads(r.read())
    mine = []
    for item in recorded:
        body = item.get("body") or {}
        addressee = body.get("to") or body.get("recipient")
        if addressee in {customer.phone, customer.user_id} and body.get("type"):
            buttons, listed = _options(body)
            media = _media(body)
            mine.append(
                {
                    "wamid": item.get("wamid"),
                    "type": body["type"],
                    "text": (body.get("text") or {}).get("body")
                    or ((body.get("interactive") or {}).get("body") or {}).get("text")
                    or _template_text(body)
                    or (media or {}).get("caption"),
                    "media": media,
                    "buttons": buttons,
                    "list": listed,
                    "time": item.get("time"),
                }
            )
    return mine


def _template_text(body: dict[str, Any]) -> str | None:
    """A template as the page shows it: its name and the values filled in."""
    template = body.get("template")
    if not isinstance(template, dict):
        return None
    values = [
        str(p.get("text"))
        for c in template.get("components") or []
        for p in c.get("parameters") or []
    ]
    return f"[modelo {template.get('name')}]" + (
        ": " + ", ".join(values) if values else ""
    )


TYPING_SHOWN_S = 25.0  # WhatsApp hides the indicator then, or at the next message


def is_typing(
    graph_url: str, customer: SimulatedCustomer, wamids: set[str], now: datetime
) -> bool:
    """Whether WhatsApp would show "digitando…" to ``customer``: a typing
    indicator on one of their messages (``wamids``) in the last 25 s, and no
    message from Atende since."""
    with urllib.request.urlopen(f"{graph_url}/_standin/requests", timeout=5) as r:  # noqa: S310
        recorded = json.loads(r.read())
    started = [
        datetime.fromisoformat(item["time"])
        for item in recorded
        if (item.get("body") or {}).get("typing_indicator")
        and item["body"].get("message_id") in wamids
        and item.get("response_status") == 200
    ]
    if not started or (now - started[-1]).total_seconds() > TYPING_SHOWN_S:
        return False
    return not any(
        datetime.fromisoformat(reply["time"]) > started[-1]
        for reply in replies_for(graph_url, customer)
    )


def tap_on(replies: list[dict[str, Any]], option_id: str, kind: str) -> Tap:
    """The tap on the latest of ``replies`` offering ``option_id``."""
    for reply in reversed(replies):
        options = (
            reply["buttons"]
            if kind == "button_reply"
            else (reply["list"] or {}).get("rows", [])
        )
        for option in options:
            if option["id"] == option_id:
                return Tap(
                    kind,
                    option_id,
                    option["title"],
                    replied_to=reply["wamid"],
                    description=option.get("description"),
                )
    raise LookupError(f"no message from Atende offers {option_id!r}")


def mark_read(graph_url: str, wamids: list[str]) -> None:
    """Tell the Graph stand-in the customer saw these messages (it sends the
    ``read`` statuses, as WhatsApp does when a chat shows them)."""
    request = urllib.request.Request(  # noqa: S310 - local URL by design
        f"{graph_url}/_standin/read",
        data=json.dumps({"wamids": wamids}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310
        pass


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
                elif self.path.startswith("/api/media/"):
                    # A file Atende sent, as the customer's phone shows it.
                    media_id = self.path.rsplit("/", 1)[1]
                    url = f"{simulator.graph_url}/_standin/media/{quote(media_id)}"
                    with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310
                        data = r.read()
                        kind = r.headers.get("Content-Type", "")
                    self.send_response(200)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                elif self.path.startswith("/api/replies"):
                    customer = simulator.customer_from_query(self.path)
                    self._json(200, replies_for(simulator.graph_url, customer))
                elif self.path.startswith("/api/typing"):
                    customer = simulator.customer_from_query(self.path)
                    self._json(200, {"typing": simulator.typing(customer)})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/api/read":
                    mark_read(simulator.graph_url, [str(w) for w in form["wamids"]])
                    self._json(200, {"read": len(form["wamids"])})
                elif self.path == "/api/send":
                    self._json(200, {"webhook_status": simulator.send(form)})
                else:
                    self._json(404, {"error": "not found"})

        self.webhook_url = webhook_url
        self.graph_url = graph_url
        self.app_secret = app_secret
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self._sent: dict[str, set[str]] = {}  # user_id -> the page's wamids
        self._sent_lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @staticmethod
    def customer_from_query(path: str) -> SimulatedCustomer:
        from urllib.parse import parse_qs, urlsplit

        query = {k: v[0].strip() for k, v in parse_qs(urlsplit(path).query).items()}
        return customer_for(
            user_id=query.get("user_id"),
            phone=query.get("phone"),
            username=query.get("username"),
        )

    def send(self, form: dict[str, Any]) -> int:
        """The page's message: a text, a tap (``reply``: kind, id, title,
        ``replied_to``) or a photo (``image``: base64 ``data``, ``mime_type``,
        ``caption``); the webhook's status."""
        customer = customer_for(
            user_id=(form.get("user_id") or "").strip(),
            phone=(form.get("phone") or "").strip(),
            username=(form.get("username") or "").strip(),
            name=(form.get("name") or "").strip(),
        )
        reply = form.get("reply")
        image = form.get("image")
        if isinstance(image, dict):
            mime_type = str(image.get("mime_type") or "image/jpeg")
            data = base64.b64decode(str(image.get("data") or ""))
            stored = upload_customer_file(self.graph_url, data, mime_type)
            payload = image_payload(
                str(stored["id"]),
                mime_type,
                str(stored["sha256"]),
                customer,
                phone_number_id=self.phone_number_id,
                display_phone_number=self.display_phone_number,
                caption=(str(image.get("caption") or "").strip() or None),
            )
        elif isinstance(reply, dict):
            tap = Tap(
                str(reply["kind"]),
                str(reply["id"]),
                str(reply["title"]),
                replied_to=reply.get("replied_to"),
                description=reply.get("description"),
            )
            payload = reply_payload(
                tap,
                customer,
                phone_number_id=self.phone_number_id,
                display_phone_number=self.display_phone_number,
            )
        else:
            payload = text_payload(
                str(form.get("text", "")),
                customer,
                phone_number_id=self.phone_number_id,
                display_phone_number=self.display_phone_number,
            )
        message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
        with self._sent_lock:
            self._sent.setdefault(customer.user_id or "", set()).add(message["id"])
        return post_signed(self.webhook_url, payload, self.app_secret)

    def typing(self, customer: SimulatedCustomer) -> bool:
        with self._sent_lock:
            wamids = set(self._sent.get(customer.user_id or "", ()))
        return bool(wamids) and is_typing(
            self.graph_url, customer, wamids, datetime.now(UTC)
        )

    def start(self) -> SimulatorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Send a signed WhatsApp webhook as a customer",
        epilog=(
            "With no identity flag the customer is Maria Souza (BSUID "
            f"{DEFAULT_USER_ID}, phone {DEFAULT_PHONE}). --phone or --username "
            "alone is another customer, with a business-scoped id derived from "
            "it (the same each time); --user-id sets the id."
        ),
    )
    parser.add_argument("text", nargs="?", help="what the customer writes")
    parser.add_argument("--webhook", default="http://127.0.0.1:8000/whatsapp/webhook")
    parser.add_argument("--graph", default="http://127.0.0.1:8089")
    parser.add_argument("--app-secret", default="dev-app-secret")
    parser.add_argument("--phone-number-id", default="106540352242922")
    parser.add_argument("--user-id", help="the customer's business-scoped id")
    parser.add_argument("--phone", help="the customer's WhatsApp number (digits)")
    parser.add_argument("--username", help="a customer who shares no phone")
    parser.add_argument("--name", help="the customer's profile name")
    tap = parser.add_mutually_exclusive_group()
    tap.add_argument("--button", metavar="ID", help="tap the reply button ID")
    tap.add_argument("--list-row", metavar="ID", help="choose the list row ID")
    parser.add_argument(
        "--wait", type=float, default=5.0, help="seconds to wait for replies"
    )
    args = parser.parse_args(argv)
    if (args.text is None) == (args.button is None and args.list_row is None):
        parser.error("write a text, or tap with --button/--list-row (one of them)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    customer = customer_for(
        user_id=args.user_id, phone=args.phone, username=args.username, name=args.name
    )
    print(f"cliente: {customer.name} ({customer.user_id}, {customer.phone or '-'})")
    replies = replies_for(args.graph, customer)
    where = {"phone_number_id": args.phone_number_id}
    display = "+55 11 4000-1234"
    if args.text is not None:
        payload = text_payload(
            args.text, customer, display_phone_number=display, **where
        )
    else:
        kind, option = (
            ("button_reply", args.button)
            if args.button
            else ("list_reply", args.list_row)
        )
        try:
            chosen = tap_on(replies, option, kind)
        except LookupError as error:
            print(error)
            return 2
        print(f"toque: {chosen.title}")
        payload = reply_payload(chosen, customer, display_phone_number=display, **where)
    status = post_signed(args.webhook, payload, args.app_secret)
    print(f"webhook → {status}")
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        new = replies_for(args.graph, customer)[len(replies) :]
        if new:
            for reply in new:
                print(f"Atende: {reply['text']}")
                for option in reply["buttons"]:
                    print(f"  [{option['title']}]  --button {option['id']}")
                for row in (reply["list"] or {}).get("rows", []):
                    print(f"  - {row['title']}  --list-row {row['id']}")
            mark_read(args.graph, [r["wamid"] for r in new if r["wamid"]])
            return 0
        time.sleep(0.3)
    print("(sem resposta ainda)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
