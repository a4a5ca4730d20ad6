"""A local stand-in for Meta's Graph API (WhatsApp Cloud API), dev/test only.

Mimics ``POST /{version}/{phone_number_id}/messages`` with Meta's success and
error wire shapes (the typing indicator too: a ``read`` status with
``typing_indicator``), ``POST /{version}/{phone_number_id}/media`` (a multipart
upload: ``{"id": ...}``), ``GET /{version}/{media_id}`` (url, mime_type, sha256,
file_size), ``DELETE /{version}/{media_id}`` and the media download itself
(``/_standin/media/{media_id}``, what the simulator page shows), and
``GET /{version}/{waba_id}/message_templates`` (the templates in
:data:`DEMO_TEMPLATES`, or ``templates=``; paged with ``limit``/``after`` as Meta
pages, ``paging.cursors`` and ``paging.next``). Every Graph request is recorded
in memory (uploads by size and sha256); the token value is never kept, only
whether a bearer token was sent.

Control endpoints:

- ``GET /_standin/health``: ``{"status": "ok"}``;
- ``GET /_standin/requests``: the recorded requests (JSON list);
- ``DELETE /_standin/requests``: forget them (and any queued script);
- ``GET /_standin/typing``: the typing-indicator calls received (bodies);
- ``POST /_standin/read``: ``{"wamids": [...]}``, the customer saw these
  messages (the simulator page says so for what it shows): their ``read``
  statuses are sent;
- ``POST /_standin/media``: keep the body (its Content-Type) as a customer's
  file, ``{"id": ..., "sha256": ...}`` for the webhook to carry;
- ``POST /_standin/script``: queue responses for the next Graph calls, in
  order. Each entry is ``{"status": 429}``, ``{"status": 200}`` (a normal
  success), ``{"status": 400, "error": {"code": 131026, ...}}`` (Meta's error
  body, missing fields filled in), ``{"status": 200, "body": {...}}`` (a raw
  body), optionally with ``"headers": {"Retry-After": "1"}`` and
  ``"delay_s": 0.5``.

Statuses: given ``on_status``, each message it accepts is reported back as
Meta does, ``sent`` at once and ``delivered`` ``delivered_after_s`` later, and
``read`` when :meth:`GraphStandIn.read` (or ``/_standin/read``) is told; the
local stack turns each into a signed ``statuses`` webhook to the API. Without
it (tests that count webhooks), nothing is sent back.

In process: ``GraphStandIn().start()`` (port 0 picks a free port), then
``.url``, ``.requests()``, ``.script(...)``, ``.stop()``. Alone:
``python infra/graph_standin.py --port 8089``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import heapq
import itertools
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

_ERROR_DEFAULTS: dict[int, tuple[str, str]] = {
    4: ("(#4) Application request limit reached", "OAuthException"),
    100: ("(#100) Invalid parameter", "OAuthException"),
    190: ("Invalid OAuth access token - Cannot parse access token", "OAuthException"),
    130429: ("(#130429) Rate limit hit", "OAuthException"),
    131026: ("(#131026) Message undeliverable", "OAuthException"),
    131047: ("(#131047) Re-engagement message", "OAuthException"),
    131056: (
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "OAuthException",
    ),
}
_STATUS_DEFAULT_CODE = {401: 190, 429: 130429, 500: 1, 503: 2}

# A Brazilian shop's templates as Meta lists them (issue 14, point 9): what
# the composer offers, greys out or refuses.
DEMO_TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "atualizacao_pedido",
        "language": "pt_BR",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": "Olá, {{1}}! Seu pedido {{2}} teve uma atualização."
                " Responda esta mensagem para continuar o atendimento.",
                "example": {"body_text": [["Maria", "A-1234"]]},
            },
            {"type": "FOOTER", "text": "Loja Exemplo"},
        ],
        "id": "1203998877665501",
    },
    {
        "name": "retomar_atendimento",
        "language": "pt_BR",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": "Olá! Ainda podemos ajudar com o seu atendimento?"
                " Responda esta mensagem para continuarmos.",
            }
        ],
        "id": "1203998877665502",
    },
    {
        "name": "promocao_clientes",
        "language": "pt_BR",
        "status": "APPROVED",
        "category": "MARKETING",
        "parameter_format": "NAMED",
        "components": [
            {
                "type": "BODY",
                "text": "{{nome}}, esta semana você tem 10% de desconto na Loja"
                " Exemplo. Quer aproveitar?",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "nome", "example": "Maria"}
                    ]
                },
            },
            {
                "type": "BUTTONS",
                "buttons": [{"type": "QUICK_REPLY", "text": "Quero aproveitar"}],
            },
        ],
        "id": "1203998877665503",
    },
    {
        "name": "pesquisa_satisfacao",
        "language": "pt_BR",
        "status": "PENDING",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [{"type": "BODY", "text": "Como foi seu atendimento, {{1}}?"}],
        "id": "1203998877665504",
    },
    {
        "name": "oferta_relampago",
        "language": "pt_BR",
        "status": "REJECTED",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [{"type": "BODY", "text": "Só hoje: tudo pela metade!"}],
        "id": "1203998877665505",
    },
]


def _fbtrace_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(8)).decode().rstrip("=")


def new_wamid() -> str:
    """A fresh id in the shape of Meta's (``wamid.`` + base64)."""
    raw = b"\x15\x02\x00\x11\x18\x12" + secrets.token_hex(9).upper().encode()
    return "wamid." + base64.b64encode(raw).decode()


def graph_error_body(
    status: int, error: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Meta's ``{"error": {...}}`` body, with the fields a caller left out."""
    error = dict(error or {})
    code = int(error.get("code", _STATUS_DEFAULT_CODE.get(status, 100)))
    message, kind = _ERROR_DEFAULTS.get(code, (f"(#{code}) Error", "OAuthException"))
    error.setdefault("message", message)
    error.setdefault("type", kind)
    error["code"] = code
    error.setdefault(
        "error_data", {"messaging_product": "whatsapp", "details": message}
    )
    error.setdefault("fbtrace_id", _fbtrace_id())
    return {"error": error}


@dataclass(frozen=True)
class Delivery:
    """A status of a message the stand-in accepted, for a ``statuses`` webhook."""

    wamid: str
    status: str  # "sent", "delivered" or "read"
    phone_number_id: str
    phone: str | None  # the ``to`` it was sent to
    user_id: str | None  # the ``recipient`` (business-scoped id)


class _Statuses(threading.Thread):
    """Reports deliveries in time order, one at a time, from one thread."""

    def __init__(self, report: Callable[[Delivery], None]) -> None:
        super().__init__(name="graph-standin-statuses", daemon=True)
        self._report = report
        self._due: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopping = False

    def at(self, when: float, delivery: Delivery) -> None:
        with self._wake:
            heapq.heappush(self._due, (when, next(self._order), delivery))
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()

    def run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and (
                    not self._due or self._due[0][0] > time.monotonic()
                ):
                    timeout = self._due[0][0] - time.monotonic() if self._due else None
                    self._wake.wait(timeout)
                if self._stopping:
                    return
                _when, _order, delivery = heapq.heappop(self._due)
            try:
                self._report(delivery)
            except Exception as error:  # a webhook refused: Meta moves on too
                print(f"graph stand-in: status webhook failed: {error!r}", flush=True)


class GraphStandIn:
    """The stand-in server, run in a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_status: Callable[[Delivery], None] | None = None,
        delivered_after_s: float = 0.5,
        templates: list[dict[str, Any]] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._script: deque[dict[str, Any]] = deque()
        self._media: dict[str, tuple[bytes, str]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._statuses = _Statuses(on_status) if on_status else None
        self._delivered_after_s = delivered_after_s
        # wamid -> (the message's Delivery as "sent", when it is delivered)
        self._accepted: dict[str, tuple[Delivery, float]] = {}
        self._read: set[str] = set()
        self._templates = [
            dict(t) for t in (DEMO_TEMPLATES if templates is None else templates)
        ]

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> GraphStandIn:
        server = ThreadingHTTPServer((self.host, self.port), _handler_for(self))
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="graph-standin",
            daemon=True,
        )
        self._thread.start()
        if self._statuses is not None:
            self._statuses.start()
        return self

    def stop(self) -> None:
        if self._statuses is not None:
            self._statuses.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> GraphStandIn:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- state -------------------------------------------------------------

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._requests]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._script.clear()

    def script(self, *responses: dict[str, Any]) -> None:
        """Queue responses for the next Graph calls, consumed in order."""
        with self._lock:
            self._script.extend(dict(r) for r in responses)

    def add_media(
        self, media_id: str, data: bytes, mime_type: str = "image/jpeg"
    ) -> None:
        with self._lock:
            self._media[media_id] = (data, mime_type)

    def _media_for(self, media_id: str) -> tuple[bytes, str]:
        with self._lock:
            found = self._media.get(media_id)
        return found or (f"standin media {media_id}".encode(), "image/jpeg")

    def _uploaded(self, form: Any) -> Any:
        """``POST /{phone-number-id}/media``: Meta's checks that matter here
        (the product, a type, a file), then ``{"id": ...}``. The recorded
        request keeps the file's size and sha256, not its bytes."""
        if not isinstance(form, dict) or form.get("messaging_product") != "whatsapp":
            return graph_error_body(400, {"code": 100})
        data = form.get("_data")
        if not isinstance(data, bytes) or not data or not form.get("type"):
            return graph_error_body(400, {"code": 100})
        media_id = str(10**15 + secrets.randbelow(9 * 10**15))
        self.add_media(media_id, data, str(form["type"]))
        return {"id": media_id}

    def _accepted_message(
        self, wamid: str, phone_number_id: str, body: dict[str, Any]
    ) -> None:
        """Report ``sent`` now and ``delivered`` shortly, as Meta does."""
        if self._statuses is None:
            return
        sent = Delivery(
            wamid, "sent", phone_number_id, body.get("to"), body.get("recipient")
        )
        now = time.monotonic()
        delivered_at = now + self._delivered_after_s
        with self._lock:
            self._accepted[wamid] = (sent, delivered_at)
        self._statuses.at(now, sent)
        self._statuses.at(delivered_at, replace(sent, status="delivered"))

    def read(self, wamids: list[str]) -> int:
        """The customer saw these messages: ``read``, once each, never before
        ``delivered``. Returns how many were new."""
        if self._statuses is None:
            return 0
        reported = 0
        for wamid in wamids:
            with self._lock:
                found = self._accepted.get(wamid)
                if found is None or wamid in self._read:
                    continue
                self._read.add(wamid)
            sent, delivered_at = found
            read = replace(sent, status="read")
            self._statuses.at(max(time.monotonic(), delivered_at + 0.01), read)
            reported += 1
        return reported

    def set_templates(self, templates: list[dict[str, Any]]) -> None:
        """What ``message_templates`` lists from now on (any WABA)."""
        with self._lock:
            self._templates = [dict(t) for t in templates]

    def typing(self) -> list[dict[str, Any]]:
        """The typing-indicator calls received (bodies), oldest first."""
        return [
            r["body"]
            for r in self.requests()
            if isinstance(r.get("body"), dict) and r["body"].get("typing_indicator")
        ]

    def _template_page(self, waba_id: str, query: dict[str, str]) -> dict[str, Any]:
        """One page of templates in Meta's shape: ``data`` and ``paging``
        (``cursors`` always, ``next`` only when more follow)."""
        with self._lock:
            templates = list(self._templates)
        limit = max(1, min(int(query.get("limit") or 25), 100))
        start = _cursor_index(query.get("after"))
        page = templates[start : start + limit]
        fields = (query.get("fields") or "name,status,category,language,id").split(",")
        data = [{k: v for k, v in t.items() if k in fields or k == "id"} for t in page]
        answer: dict[str, Any] = {"data": data}
        if page:
            end = start + len(page)
            answer["paging"] = {
                "cursors": {"before": _cursor(start), "after": _cursor(end - 1)}
            }
            if end < len(templates):
                after_query = {**query, "after": _cursor(end - 1)}
                answer["paging"]["next"] = (
                    f"{self.url}/v23.0/{waba_id}/message_templates?"
                    + urlencode(after_query)
                )
        return answer

    def _next_scripted(self) -> dict[str, Any] | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    # -- Graph behaviour ---------------------------------------------------

    def _answer_graph(
        self,
        method: str,
        parts: list[str],
        body: Any,
        authorized: bool,
        query: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """Status, extra headers and JSON body for a Graph call."""
        scripted = self._next_scripted()
        if scripted is not None:
            delay = float(scripted.get("delay_s", 0))
            if delay:
                time.sleep(delay)
            status = int(scripted.get("status", 200))
            headers = {str(k): str(v) for k, v in scripted.get("headers", {}).items()}
            if "body" in scripted:
                return status, headers, scripted["body"]
            if status >= 400:
                return status, headers, graph_error_body(status, scripted.get("error"))
            return status, headers, self._default_answer(method, parts, body, query)
        if not authorized:
            return 401, {}, graph_error_body(401)
        answer = self._default_answer(method, parts, body, query)
        # A request Meta would refuse gets its error status, not 200.
        refused = isinstance(answer, dict) and "error" in answer
        return (400 if refused else 200), {}, answer

    def _default_answer(
        self,
        method: str,
        parts: list[str],
        body: Any,
        query: dict[str, str] | None = None,
    ) -> Any:
        if method == "GET" and len(parts) == 3 and parts[2] == "message_templates":
            return self._template_page(parts[1], query or {})
        if method == "POST" and parts[-1] == "media":
            return self._uploaded(body)
        if method == "DELETE" and len(parts) == 2:
            with self._lock:
                found = self._media.pop(parts[1], None)
            if found is None:
                return graph_error_body(400, {"code": 100})
            return {"success": True}
        if method == "GET" and len(parts) == 2:
            media_id = parts[1]
            data, mime = self._media_for(media_id)
            return {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/_standin/media/{media_id}",
                "mime_type": mime,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": len(data),
                "id": media_id,
            }
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return graph_error_body(400, {"code": 100})
        if body.get("status") == "read":
            return {"success": True}
        if body.get("to"):
            contact = {"input": body["to"], "wa_id": str(body["to"]).lstrip("+")}
        elif body.get("recipient"):
            contact = {"input": body["recipient"], "user_id": body["recipient"]}
        else:
            return graph_error_body(400, {"code": 100})
        message: dict[str, Any] = {"id": new_wamid()}
        if body.get("type") == "template":
            message["message_status"] = "accepted"
        return {
            "messaging_product": "whatsapp",
            "contacts": [contact],
            "messages": [message],
        }


def _cursor(index: int) -> str:
    """An opaque cursor, base64 as Meta's are."""
    return base64.b64encode(str(index).encode()).decode()


def _cursor_index(cursor: str | None) -> int:
    """Where the page after ``cursor`` starts (0 without one or when unreadable)."""
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode()) + 1
    except ValueError:
        return 0


def _upload_form(content_type: str, raw: bytes) -> dict[str, Any] | None:
    """A multipart upload's fields, the file's bytes under ``_data`` (taken
    out before the request is recorded) and its size, hash and name."""
    if not content_type.startswith("multipart/form-data"):
        return None
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    form: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if part.get_filename():
            form |= {
                "_data": payload,
                "file_name": part.get_filename(),
                "file_type": part.get_content_type(),
                "file_size": len(payload),
                "file_sha256": hashlib.sha256(payload).hexdigest(),
            }
        else:
            form[name] = payload.decode()
    return form


def _handler_for(standin: GraphStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "GraphStandIn/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: requests are recorded instead

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_DELETE(self) -> None:
            self._dispatch("DELETE")

        def _dispatch(self, method: str) -> None:
            split = urlsplit(self.path)
            path = split.path
            query = {k: v[-1] for k, v in parse_qs(split.query).items()}
            raw = self._read_body()
            if path.startswith("/_standin/"):
                self._control(method, path, raw)
                return
            parts = [p for p in path.split("/") if p]
            is_messages = (
                method == "POST" and len(parts) == 3 and parts[2] == "messages"
            )
            is_upload = method == "POST" and len(parts) == 3 and parts[2] == "media"
            is_media = method in ("GET", "DELETE") and len(parts) == 2
            is_templates = (
                method == "GET" and len(parts) == 3 and parts[2] == "message_templates"
            )
            if not (is_messages or is_upload or is_media or is_templates):
                self._send_json(404, graph_error_body(404, {"code": 100}))
                return
            body: Any = None
            if is_upload:
                body = _upload_form(self.headers.get("Content-Type", ""), raw)
            elif raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._send_json(400, graph_error_body(400, {"code": 100}))
                    return
            auth = self.headers.get("Authorization", "")
            authorized = auth.startswith("Bearer ") and len(auth) > len("Bearer ")
            status, headers, answer = standin._answer_graph(
                method, parts, body, authorized, query
            )
            if is_upload and isinstance(body, dict):
                body.pop("_data", None)  # recorded by size and hash only
            messages = answer.get("messages") if isinstance(answer, dict) else None
            wamid = (
                messages[0].get("id")
                if status < 300 and isinstance(messages, list) and messages
                else None
            )
            standin._record(
                {
                    "method": method,
                    "path": path,
                    "query": query,
                    "headers": {
                        k.lower(): v
                        for k, v in self.headers.items()
                        if k.lower() != "authorization"
                    },
                    "authorization_present": authorized,
                    "body": body,
                    "time": datetime.now(UTC).isoformat(),
                    "response_status": status,
                    "wamid": wamid,
                }
            )
            self._send_json(status, answer, headers)
            if wamid is not None and isinstance(body, dict):
                standin._accepted_message(wamid, parts[1], body)

        def _control(self, method: str, path: str, raw: bytes) -> None:
            if path == "/_standin/health" and method == "GET":
                self._send_json(200, {"status": "ok"})
            elif path == "/_standin/requests" and method == "GET":
                self._send_json(200, standin.requests())
            elif path == "/_standin/requests" and method == "DELETE":
                standin.clear()
                self._send_json(200, {"cleared": True})
            elif path == "/_standin/typing" and method == "GET":
                self._send_json(200, standin.typing())
            elif path == "/_standin/read" and method == "POST":
                try:
                    wamids = json.loads(raw or b"{}").get("wamids")
                except (ValueError, AttributeError):
                    wamids = None
                if not isinstance(wamids, list):
                    self._send_json(400, {"error": 'expected {"wamids": [...]}'})
                    return
                self._send_json(200, {"read": standin.read([str(w) for w in wamids])})
            elif path == "/_standin/script" and method == "POST":
                try:
                    entries = json.loads(raw or b"[]")
                except ValueError:
                    self._send_json(400, {"error": "invalid JSON"})
                    return
                entries = entries if isinstance(entries, list) else [entries]
                if not all(isinstance(e, dict) for e in entries):
                    self._send_json(400, {"error": "entries must be objects"})
                    return
                standin.script(*entries)
                self._send_json(200, {"queued": len(entries)})
            elif path == "/_standin/media" and method == "POST":
                # A file a simulated customer sends: Meta keeps it under an id
                # the webhook carries.
                media_id = str(10**15 + secrets.randbelow(9 * 10**15))
                kind = self.headers.get("Content-Type") or "application/octet-stream"
                standin.add_media(media_id, raw, kind)
                self._send_json(
                    200, {"id": media_id, "sha256": hashlib.sha256(raw).hexdigest()}
                )
            elif path.startswith("/_standin/media/") and method == "GET":
                data, mime = standin._media_for(path.rsplit("/", 1)[1])
                self._send_bytes(200, data, mime)
            else:
                self._send_json(404, {"error": "not found"})

        def _read_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send_json(
            self, status: int, payload: Any, headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(payload).encode()
            self._send_bytes(status, data, "application/json", headers)

        def _send_bytes(
            self,
            status: int,
            data: bytes,
            content_type: str,
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    args = parser.parse_args(argv)
    standin = GraphStandIn(args.host, args.port).start()
    print(f"Graph API stand-in on {standin.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
