"""Local stand-in of API Gateway's WebSocket API for the console's live updates.

It speaks the two sides the deployed system uses, so the same code runs:

- consoles connect with a WebSocket (``ws://127.0.0.1:PORT/?token=...``); each
  connection gets an id and ``$connect``/``$disconnect`` are delivered to the
  real route handler (functions/console_live/handler.py) as API Gateway's
  events; a refused ``$connect`` refuses the handshake with its status;
- ``atende.live.publish`` pushes through the management API
  (``POST /@connections/{id}``, 410 GoneException for unknown ids) with
  boto3's ``apigatewaymanagementapi`` client, served here on its own port.
"""

from __future__ import annotations

import collections
import contextlib
import json
import threading
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, WebSocketServer, serve

from infra.lambda_runtime import LocalContext

RouteHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


class LiveGateway:
    """WebSocket connections in, management API pushes out."""

    def __init__(
        self, route_handler: RouteHandler, *, port: int = 0, host: str = "127.0.0.1"
    ) -> None:
        self._route = route_handler
        self._host, self._port = host, port
        self._connections: dict[str, ServerConnection] = {}
        self._lock = threading.Lock()
        self._ws: WebSocketServer | None = None
        self._http: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # -- consoles ------------------------------------------------------------

    def _event(self, route: str, connection_id: str, query: str = "") -> dict[str, Any]:
        return {
            "requestContext": {
                "routeKey": route,
                "eventType": route.strip("$").upper(),
                "connectionId": connection_id,
                "stage": "local",
            },
            "queryStringParameters": dict(parse_qsl(query)) or None,
            "isBase64Encoded": False,
        }

    def _handshake(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        connection_id = uuid.uuid4().hex
        result = self._route(
            self._event("$connect", connection_id, urlsplit(request.path).query),
            LocalContext("console-live"),
        )
        status = int(result.get("statusCode", 500))
        if status != 200:
            refusal = HTTPStatus(status)
            return connection.protocol.reject(refusal, refusal.phrase)
        connection.connection_id = connection_id  # type: ignore[attr-defined]
        return None

    def _serve_console(self, connection: ServerConnection) -> None:
        connection_id: str | None = getattr(connection, "connection_id", None)
        if connection_id is None:  # refused at the handshake
            return
        with self._lock:
            self._connections[connection_id] = connection
        try:
            # Consoles send nothing; reading (and dropping) keeps the socket
            # served until it closes, cleanly or not.
            with contextlib.suppress(ConnectionClosed):
                collections.deque(connection, maxlen=0)
        finally:
            with self._lock:
                self._connections.pop(connection_id, None)
            self._route(
                self._event("$disconnect", connection_id), LocalContext("console-live")
            )

    # -- management API ----------------------------------------------------------

    def push(self, connection_id: str, data: bytes) -> bool:
        with self._lock:
            connection = self._connections.get(connection_id)
        if connection is None:
            return False
        try:
            connection.send(data.decode())
        except ConnectionClosed:
            return False
        return True

    def _management_handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Management(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                """No access log: the pushes are the application's own."""

            def _connection_id(self) -> str | None:
                prefix = "/@connections/"
                path = urlsplit(self.path).path
                return unquote(path[len(prefix) :]) if path.startswith(prefix) else None

            def _answer(self, status: int, body: dict[str, Any] | None = None) -> None:
                payload = json.dumps(body or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if status == HTTPStatus.GONE:
                    self.send_header("x-amzn-ErrorType", "GoneException")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                connection_id = self._connection_id()
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if connection_id and gateway.push(connection_id, data):
                    self._answer(HTTPStatus.OK)
                else:
                    self._answer(HTTPStatus.GONE, {"message": "GoneException"})

            def do_DELETE(self) -> None:
                connection_id = self._connection_id() or ""
                with gateway._lock:
                    connection = gateway._connections.get(connection_id)
                if connection is None:
                    self._answer(HTTPStatus.GONE, {"message": "GoneException"})
                    return
                connection.close()
                self._answer(HTTPStatus.NO_CONTENT)

        return Management

    # -- lifecycle ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """Where consoles connect (CONSOLE_LIVE_URL)."""
        assert self._ws is not None
        return f"ws://{self._host}:{self._ws.socket.getsockname()[1]}"

    @property
    def endpoint(self) -> str:
        """The management API (CONSOLE_LIVE_ENDPOINT)."""
        assert self._http is not None
        return f"http://{self._host}:{self._http.server_address[1]}"

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    def start(self) -> LiveGateway:
        self._ws = serve(
            self._serve_console,
            self._host,
            self._port,
            process_request=self._handshake,
        )
        self._http = ThreadingHTTPServer((self._host, 0), self._management_handler())
        self._http.daemon_threads = True
        for name, target in (
            ("live-ws", self._ws.serve_forever),
            ("live-management", self._http.serve_forever),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        if self._ws is not None:
            self._ws.shutdown()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        with self._lock:
            connections = list(self._connections.values())
        for connection in connections:
            connection.close()
        for thread in self._threads:
            thread.join(timeout=5)
