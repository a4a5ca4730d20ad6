"""The HTTP client: sends messages, marks them read, fetches media.

One :class:`GraphClient` per business phone number. It checks Meta's limits
and the 24-hour window (:mod:`~atende.whatsapp.graph.limits`), paces sends and
fails fast (:mod:`~atende.whatsapp.graph.resilience`), and retries throttling,
5xx and network failures with exponential backoff and full jitter, honouring
``Retry-After``; other 4xx fail at once.

The access token is never logged nor put in an exception message or ``repr``.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from atende.errors import InvalidInput
from atende.observability import logger, metrics
from atende.whatsapp.graph._responses import (
    _int_or_none,
    _retry_after,
    _sent_message,
    _template_page,
    _templates_url,
)
from atende.whatsapp.graph.errors import (
    _GRAPH_MESSAGES,
    THROTTLING_CODES,
    TRANSIENT_CODES,
    CircuitOpenError,
    GraphApiError,
    WhatsAppUnavailable,
)
from atende.whatsapp.graph.limits import (
    MAX_BUTTON_ID,
    MAX_BUTTON_TITLE,
    MAX_BUTTONS,
    MAX_BUTTONS_BODY,
    MAX_FOOTER_TEXT,
    MAX_HEADER_TEXT,
    MAX_LIST_BODY,
    MAX_LIST_BUTTON_LABEL,
    MAX_LIST_ROWS,
    MAX_LIST_SECTIONS,
    MAX_ROW_DESCRIPTION,
    MAX_ROW_ID,
    MAX_ROW_TITLE,
    MAX_SECTION_TITLE,
    MAX_TEXT_BODY,
    UNCHECKED,
    LastInbound,
    _check_text,
    _check_unique,
    check_template,
    ensure_within_window,
)
from atende.whatsapp.graph.media_calls import MediaCalls
from atende.whatsapp.graph.resilience import CircuitBreaker, TokenBucket
from atende.whatsapp.graph.values import (
    ListRow,
    ListSection,
    Recipient,
    SentMessage,
    TemplatePage,
)

__all__ = ["GraphClient"]


class _Retry(Exception):
    """Internal: one attempt failed in a way worth retrying."""

    def __init__(self, error: GraphApiError, retry_after_s: float | None) -> None:
        super().__init__(error.code)
        self.error = error
        self.retry_after_s = retry_after_s


class GraphClient(MediaCalls):
    """Sends WhatsApp messages from one business phone number."""

    def __init__(
        self,
        *,
        phone_number_id: str,
        access_token: str,
        base_url: str = "https://graph.facebook.com",
        api_version: str = "v23.0",
        http: httpx.Client | None = None,
        timeout_s: float = 10.0,
        max_attempts: int = 5,
        base_delay_s: float = 0.5,
        max_delay_s: float = 30.0,
        rate_per_second: float | None = 80.0,
        rate_burst: float = 1.0,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        utcnow: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not phone_number_id or not access_token:
            raise ValueError("phone_number_id and access_token are required")
        if max_attempts < 1:
            raise ValueError("max_attempts >= 1")
        self.phone_number_id = phone_number_id
        self.__token = access_token
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=timeout_s)
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.breaker = breaker or CircuitBreaker(clock=clock)
        self.limiter = (
            TokenBucket(rate_per_second, rate_burst, clock=clock, sleep=sleep)
            if rate_per_second
            else None
        )
        self._sleep = sleep
        self._rand = rand
        self._utcnow = utcnow

    def __repr__(self) -> str:
        return (
            f"GraphClient(phone_number_id={self.phone_number_id!r}, "
            f"base_url={self.base_url!r}, api_version={self.api_version!r})"
        )

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/{self.api_version}/{self.phone_number_id}/messages"

    # -- sends ------------------------------------------------------------

    def send_text(
        self,
        to: Recipient | str,
        body: str,
        *,
        reply_to: str | None = None,
        preview_url: bool = False,
        last_inbound_at: LastInbound = UNCHECKED,
    ) -> SentMessage:
        """A text message (up to 4096 characters)."""
        _check_text(body, MAX_TEXT_BODY, "O texto da mensagem")
        return self._send(
            to,
            "text",
            {"text": {"body": body, "preview_url": preview_url}},
            reply_to=reply_to,
            last_inbound_at=last_inbound_at,
        )

    def send_buttons(
        self,
        to: Recipient | str,
        body: str,
        buttons: Sequence[tuple[str, str]],
        *,
        header: str | None = None,
        footer: str | None = None,
        reply_to: str | None = None,
        last_inbound_at: LastInbound = UNCHECKED,
    ) -> SentMessage:
        """Up to 3 reply buttons, each ``(id, title)`` with a title ≤ 20."""
        _check_text(body, MAX_BUTTONS_BODY, "O texto da mensagem")
        if not 1 <= len(buttons) <= MAX_BUTTONS:
            raise InvalidInput(f"Informe de 1 a {MAX_BUTTONS} botões.")
        for button_id, title in buttons:
            _check_text(button_id, MAX_BUTTON_ID, "O identificador do botão")
            _check_text(title, MAX_BUTTON_TITLE, "O título do botão")
        _check_unique([b[0] for b in buttons], "identificadores dos botões")
        _check_unique([b[1] for b in buttons], "títulos dos botões")
        interactive: dict[str, Any] = {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": button_id, "title": title}}
                    for button_id, title in buttons
                ]
            },
        }
        return self._send_interactive(
            to, interactive, header, footer, reply_to, last_inbound_at
        )

    def send_list(
        self,
        to: Recipient | str,
        body: str,
        button_label: str,
        sections: Sequence[ListSection],
        *,
        header: str | None = None,
        footer: str | None = None,
        reply_to: str | None = None,
        last_inbound_at: LastInbound = UNCHECKED,
    ) -> SentMessage:
        """A list message: up to 10 rows in all, across up to 10 sections."""
        _check_text(body, MAX_LIST_BODY, "O texto da mensagem")
        _check_text(button_label, MAX_LIST_BUTTON_LABEL, "O rótulo do botão da lista")
        if not 1 <= len(sections) <= MAX_LIST_SECTIONS:
            raise InvalidInput(f"Informe de 1 a {MAX_LIST_SECTIONS} seções.")
        rows = [row for section in sections for row in section.rows]
        if not 1 <= len(rows) <= MAX_LIST_ROWS:
            raise InvalidInput(f"A lista deve ter de 1 a {MAX_LIST_ROWS} opções.")
        for section in sections:
            if section.title is not None:
                _check_text(section.title, MAX_SECTION_TITLE, "O título da seção")
            elif len(sections) > 1:
                raise InvalidInput(
                    "Com mais de uma seção, cada seção precisa de título."
                )
            if not section.rows:
                raise InvalidInput("Cada seção precisa de ao menos uma opção.")
        for row in rows:
            _check_text(row.id, MAX_ROW_ID, "O identificador da opção")
            _check_text(row.title, MAX_ROW_TITLE, "O título da opção")
            if row.description is not None:
                _check_text(
                    row.description, MAX_ROW_DESCRIPTION, "A descrição da opção"
                )
        _check_unique([row.id for row in rows], "identificadores das opções")
        interactive: dict[str, Any] = {
            "type": "list",
            "body": {"text": body},
            "action": {
                "button": button_label,
                "sections": [_section_json(section) for section in sections],
            },
        }
        return self._send_interactive(
            to, interactive, header, footer, reply_to, last_inbound_at
        )

    def _send_interactive(
        self,
        to: Recipient | str,
        interactive: dict[str, Any],
        header: str | None,
        footer: str | None,
        reply_to: str | None,
        last_inbound_at: LastInbound,
    ) -> SentMessage:
        _add_header_footer(interactive, header, footer)
        return self._send(
            to,
            "interactive",
            {"interactive": interactive},
            reply_to=reply_to,
            last_inbound_at=last_inbound_at,
        )

    def send_template(
        self,
        to: Recipient | str,
        name: str,
        *,
        language: str = "pt_BR",
        components: Sequence[Mapping[str, Any]] = (),
        reply_to: str | None = None,
        last_inbound_at: LastInbound = UNCHECKED,
    ) -> SentMessage:
        """An approved template; allowed outside the 24-hour window."""
        check_template(name, language)
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if components:
            template["components"] = [dict(c) for c in components]
        return self._send(
            to,
            "template",
            {"template": template},
            reply_to=reply_to,
            last_inbound_at=last_inbound_at,
        )

    def mark_read(self, wamid: str, *, typing_indicator: bool = False) -> None:
        """Mark a received message (and those before it) as read."""
        if not wamid:
            raise InvalidInput("Informe o identificador da mensagem.")
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid,
        }
        if typing_indicator:
            payload["typing_indicator"] = {"type": "text"}
        self._request("POST", self.messages_url, payload, operation="mark_read")

    # -- templates ----------------------------------------------------------

    def list_templates(
        self, waba_id: str, *, after: str | None = None, limit: int = 100
    ) -> TemplatePage:
        """One page of a WABA's templates (any status); next: ``.after``."""
        base = f"{self.base_url}/{self.api_version}"
        url = _templates_url(base, waba_id, after=after, limit=limit)
        response, _ = self._request(
            "GET", url, None, operation="list_templates", paced=False
        )
        return _template_page(response)

    # -- internals ---------------------------------------------------------

    def _send(
        self,
        to: Recipient | str,
        message_type: str,
        content: dict[str, Any],
        *,
        reply_to: str | None,
        last_inbound_at: LastInbound,
    ) -> SentMessage:
        recipient = to if isinstance(to, Recipient) else Recipient.parse(to)
        if last_inbound_at is not UNCHECKED:
            ensure_within_window(message_type, last_inbound_at, self._utcnow())
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            **recipient.address(),
        }
        if reply_to is not None:
            if not reply_to:
                raise InvalidInput("Informe o identificador da mensagem respondida.")
            payload["context"] = {"message_id": reply_to}
        payload["type"] = message_type
        payload.update(content)
        response, attempts = self._request(
            "POST", self.messages_url, payload, operation=f"send_{message_type}"
        )
        sent = _sent_message(response, attempts)
        logger.info(
            "whatsapp message sent",
            extra={
                "wamid": sent.wamid,
                "message_type": message_type,
                "recipient_kind": recipient.kind,
                "attempts": attempts,
            },
        )
        return sent

    def _request(
        self,
        method: str,
        url: str,
        payload: Mapping[str, Any] | None,
        *,
        operation: str,
        paced: bool = True,
        form: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> tuple[httpx.Response, int]:
        """One call with pacing, retries and the circuit breaker."""
        last: GraphApiError | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                self.breaker.before_call()
            except CircuitOpenError as exc:
                if last is None:
                    logger.warning(
                        "whatsapp circuit open",
                        extra={"operation": operation},
                    )
                    raise
                raise self._give_up(last, attempt - 1, exc.retry_after_s) from exc
            try:
                response = self._attempt(
                    method, url, payload, paced=paced, form=form, files=files
                )
            except _Retry as retry:
                self.breaker.record_failure()
                last = retry.error
                delay = self._delay(attempt, retry.retry_after_s)
                if attempt == self.max_attempts or delay is None:
                    after = math.ceil(retry.retry_after_s or 0) or None
                    raise self._give_up(last, attempt, after) from None
                logger.warning(
                    "whatsapp call failed, retrying",
                    extra={
                        "operation": operation,
                        "attempt": attempt,
                        "delay_s": round(delay, 3),
                        "http_status": last.http_status,
                        "whatsapp_code": last.graph_code,
                    },
                )
                self._sleep(delay)
                continue
            except GraphApiError as exc:
                # Meta answered: the service is up, the request was refused.
                self.breaker.record_success()
                exc.attempts = attempt
                logger.warning(
                    "whatsapp call refused",
                    extra={
                        "operation": operation,
                        "http_status": exc.http_status,
                        "whatsapp_code": exc.graph_code,
                        "whatsapp_subcode": exc.graph_subcode,
                        "fbtrace_id": exc.fbtrace_id,
                    },
                )
                raise
            except BaseException:
                self.breaker.release()
                raise
            self.breaker.record_success()
            return response, attempt
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(
        self,
        method: str,
        url: str,
        payload: Mapping[str, Any] | None,
        *,
        paced: bool,
        form: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        if paced and self.limiter is not None:
            self.limiter.acquire()
        headers = {"Authorization": f"Bearer {self.__token}"}
        try:
            if files is not None:  # a multipart upload
                response = self._http.request(
                    method, url, data=form, files=files, headers=headers
                )
            else:
                response = self._http.request(
                    method, url, json=payload, headers=headers
                )
        except httpx.TransportError as exc:
            failure = WhatsAppUnavailable(title=type(exc).__name__, retryable=True)
            raise _Retry(failure, None) from None
        if response.is_success:
            return response
        error = self._graph_error(response)
        if error.retryable:
            raise _Retry(error, _retry_after(response, self._utcnow()))
        raise error

    def _graph_error(self, response: httpx.Response) -> GraphApiError:
        body: Any = None
        try:
            body = response.json()
        except ValueError:
            body = None
        obj = body.get("error") if isinstance(body, dict) else None
        obj = obj if isinstance(obj, dict) else {}
        code = _int_or_none(obj.get("code"))
        subcode = _int_or_none(obj.get("error_subcode"))
        data = obj.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        retryable = (
            response.status_code == 429
            or response.status_code >= 500
            or code in THROTTLING_CODES
            or code in TRANSIENT_CODES
            or obj.get("is_transient") is True
        )
        if response.status_code == 429 or code in THROTTLING_CODES:
            # The GraphThrottled alarm (docs/operations.md) watches this.
            metrics.add_metric(name="GraphThrottled", unit="Count", value=1)
        cls = WhatsAppUnavailable if retryable else GraphApiError
        return cls(
            _GRAPH_MESSAGES.get(code) if code is not None else None,
            http_status=response.status_code,
            graph_code=code,
            graph_subcode=subcode,
            graph_type=self._scrub(obj.get("type")),
            title=self._scrub(obj.get("message")),
            graph_details=self._scrub(details),
            fbtrace_id=self._scrub(obj.get("fbtrace_id")),
            retryable=retryable,
        )

    def _scrub(self, value: object) -> str | None:
        """Meta's text with the token blanked out, should it ever be echoed."""
        if value is None:
            return None
        return str(value).replace(self.__token, "[token]")

    def _delay(self, attempt: int, retry_after_s: float | None) -> float | None:
        """Seconds before the next attempt; ``None`` when it would be too long."""
        if retry_after_s is not None:
            return retry_after_s if retry_after_s <= self.max_delay_s else None
        cap = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return float(self._rand() * cap)

    def _give_up(
        self, last: GraphApiError, attempts: int, retry_after_s: int | None
    ) -> WhatsAppUnavailable:
        logger.error(
            "whatsapp unavailable",
            extra={
                "attempts": attempts,
                "http_status": last.http_status,
                "whatsapp_code": last.graph_code,
                "fbtrace_id": last.fbtrace_id,
            },
        )
        return WhatsAppUnavailable(
            http_status=last.http_status,
            graph_code=last.graph_code,
            graph_subcode=last.graph_subcode,
            graph_type=last.graph_type,
            title=last.title,
            graph_details=last.graph_details,
            fbtrace_id=last.fbtrace_id,
            retryable=True,
            retry_after_s=retry_after_s,
            attempts=attempts,
        )


# --------------------------------------------------------------------------
# Request payloads


def _add_header_footer(
    interactive: dict[str, Any], header: str | None, footer: str | None
) -> None:
    if header is not None:
        _check_text(header, MAX_HEADER_TEXT, "O cabeçalho")
        interactive["header"] = {"type": "text", "text": header}
    if footer is not None:
        _check_text(footer, MAX_FOOTER_TEXT, "O rodapé")
        interactive["footer"] = {"text": footer}


def _section_json(section: ListSection) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if section.title is not None:
        out["title"] = section.title
    out["rows"] = [_row_json(row) for row in section.rows]
    return out


def _row_json(row: ListRow) -> dict[str, str]:
    out = {"id": row.id, "title": row.title}
    if row.description is not None:
        out["description"] = row.description
    return out
