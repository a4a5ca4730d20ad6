"""WhatsApp Cloud API (Meta Graph API) client: sends messages, marks them read.

One :class:`GraphClient` per business phone number. It

- validates Meta's limits locally (button and list sizes, text lengths) and
  fails with :class:`~atende.errors.InvalidInput` before any HTTP call;
- enforces the 24-hour customer service window when the caller says when the
  customer last wrote (:func:`ensure_within_window`);
- paces sends with a token bucket (80 messages/s by default, Meta's default
  throughput per number);
- retries throttling, 5xx and network failures with exponential backoff and
  full jitter, honouring ``Retry-After``; other 4xx fail at once;
- fails fast through a :class:`CircuitBreaker` while Meta keeps failing.

Recipients are a phone number (``to``) or, since the 2026 usernames rollout, a
business-scoped user ID (BSUID, e.g. ``BR.1502576394655843``) sent in the
``recipient`` field; when both are known the phone wins, as it does at Meta.

The access token is never logged nor put in an exception message or ``repr``.
"""

from __future__ import annotations

import enum
import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Final, Literal

import httpx

from atende.errors import (
    Conflict,
    DependencyFailed,
    InvalidInput,
    ServiceUnavailable,
)
from atende.observability import logger

__all__ = [
    "CUSTOMER_WINDOW",
    "CircuitBreaker",
    "CircuitOpenError",
    "GraphApiError",
    "GraphClient",
    "ListRow",
    "ListSection",
    "MediaInfo",
    "OutsideCustomerWindow",
    "Recipient",
    "SentMessage",
    "TokenBucket",
    "WhatsAppUnavailable",
    "ensure_within_window",
]

# Meta's limits (Cloud API reference, interactive and text messages).
MAX_TEXT_BODY: Final = 4096
MAX_BUTTONS: Final = 3
MAX_BUTTON_TITLE: Final = 20
MAX_BUTTON_ID: Final = 256
MAX_BUTTONS_BODY: Final = 1024
MAX_LIST_BODY: Final = 4096
MAX_LIST_BUTTON_LABEL: Final = 20
MAX_LIST_SECTIONS: Final = 10
MAX_LIST_ROWS: Final = 10
MAX_ROW_ID: Final = 200
MAX_ROW_TITLE: Final = 24
MAX_ROW_DESCRIPTION: Final = 72
MAX_SECTION_TITLE: Final = 24
MAX_HEADER_TEXT: Final = 60
MAX_FOOTER_TEXT: Final = 60
MAX_TEMPLATE_NAME: Final = 512

CUSTOMER_WINDOW: Final = timedelta(hours=24)

# Graph error codes that mean "slow down" or "try again later".
THROTTLING_CODES: Final = frozenset(
    {
        4,  # application request limit reached
        80007,  # WhatsApp Business Account rate limit
        130429,  # Cloud API throughput reached
        131056,  # pair rate limit (business -> same user)
    }
)
TRANSIENT_CODES: Final = frozenset(
    {
        2,  # API service temporarily unavailable
        131016,  # service unavailable
    }
)

_PHONE = re.compile(r"\+?[1-9]\d{7,14}")
# ISO 3166 alpha-2 country, a period, up to 128 alphanumerics; parent BSUIDs
# carry ``ENT.`` after the country.
_BSUID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]+")
# Where Meta serves media downloads (the token is sent there).
_MEDIA_HOSTS: Final = ("fbsbx.com", "facebook.com", "whatsapp.net")


# --------------------------------------------------------------------------
# Errors


class GraphApiError(DependencyFailed):
    """Meta refused or failed a request.

    ``graph_*`` fields carry Meta's error object (``code``, ``error_subcode``,
    ``message``, ``error_data.details``, ``fbtrace_id``); ``code`` stays the
    stable Atende code. Only ``graph_code`` and ``retryable`` reach clients in
    :meth:`to_body`, since Meta's texts may quote the recipient.
    """

    code = "WHATSAPP_ENVIO_RECUSADO"
    message = "O WhatsApp recusou o envio da mensagem."

    def __init__(
        self,
        message: str | None = None,
        *,
        http_status: int | None = None,
        graph_code: int | None = None,
        graph_subcode: int | None = None,
        graph_type: str | None = None,
        title: str | None = None,
        graph_details: str | None = None,
        fbtrace_id: str | None = None,
        retryable: bool = False,
        retry_after_s: int | None = None,
        attempts: int = 1,
    ) -> None:
        details: dict[str, Any] = {"retryable": retryable}
        if graph_code is not None:
            details["whatsapp_code"] = graph_code
        super().__init__(message, **details)
        self.http_status = http_status
        self.graph_code = graph_code
        self.graph_subcode = graph_subcode
        self.graph_type = graph_type
        self.title = title
        self.graph_details = graph_details
        self.fbtrace_id = fbtrace_id
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.attempts = attempts

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, http_status="
            f"{self.http_status}, graph_code={self.graph_code}, graph_subcode="
            f"{self.graph_subcode}, retryable={self.retryable}, attempts="
            f"{self.attempts}, fbtrace_id={self.fbtrace_id!r})"
        )


class WhatsAppUnavailable(GraphApiError):
    """Meta kept failing (throttling, 5xx, network) after every retry."""

    code = "WHATSAPP_INDISPONIVEL"
    message = (
        "O WhatsApp está temporariamente indisponível. Tente novamente em instantes."
    )


class CircuitOpenError(ServiceUnavailable):
    """Calls to Meta are suspended for a while after repeated failures."""

    code = "WHATSAPP_CIRCUITO_ABERTO"
    message = (
        "O envio pelo WhatsApp está suspenso temporariamente após falhas "
        "seguidas. Tente novamente em instantes."
    )


class OutsideCustomerWindow(Conflict):
    """A free-form message outside the 24-hour customer service window."""

    code = "JANELA_24H_ENCERRADA"
    message = (
        "Fora da janela de 24 horas só é possível enviar modelos (templates) aprovados."
    )


# PT-BR texts for Meta codes the attendant can act on.
_GRAPH_MESSAGES: Final[Mapping[int, str]] = {
    190: "O token de acesso do WhatsApp é inválido ou expirou.",
    131026: (
        "A mensagem não pôde ser entregue: o destinatário pode não usar o "
        "WhatsApp ou não aceitou os termos mais recentes."
    ),
    131047: (
        "Já se passaram mais de 24 horas desde a última mensagem do cliente: "
        "envie um modelo (template) aprovado."
    ),
    131051: "Tipo de mensagem não suportado pelo WhatsApp.",
    131062: (
        "Este tipo de mensagem não pode ser enviado a um cliente identificado "
        "só pelo ID de usuário (sem telefone)."
    ),
    132000: "O número de parâmetros não corresponde ao modelo (template).",
    132001: "O modelo (template) não existe neste idioma ou não foi aprovado.",
}


# --------------------------------------------------------------------------
# Values


@dataclass(frozen=True, slots=True)
class Recipient:
    """A WhatsApp user: phone number, business-scoped user ID, or both."""

    user_id: str | None = None
    phone: str | None = None

    def __post_init__(self) -> None:
        if not self.user_id and not self.phone:
            raise InvalidInput("Informe o telefone ou o ID de usuário do destinatário.")
        if self.phone is not None and not _PHONE.fullmatch(self.phone):
            raise InvalidInput("Telefone do destinatário inválido.")
        if self.user_id is not None and not _BSUID.fullmatch(self.user_id):
            raise InvalidInput("ID de usuário do WhatsApp (BSUID) inválido.")

    @classmethod
    def parse(cls, value: str) -> Recipient:
        """A BSUID-shaped string (``BR.123...``) is a user ID, else a phone."""
        value = value.strip()
        if _BSUID.fullmatch(value):
            return cls(user_id=value)
        return cls(phone=re.sub(r"[\s().-]", "", value))

    @property
    def kind(self) -> Literal["phone", "user_id"]:
        return "phone" if self.phone else "user_id"

    def address(self) -> dict[str, str]:
        """The request fields that address this user (phone wins, as at Meta)."""
        if self.phone:
            return {"to": self.phone}
        assert self.user_id is not None
        return {"recipient": self.user_id}

    def __repr__(self) -> str:
        phone = f"***{self.phone[-2:]}" if self.phone else None
        return f"Recipient(user_id={self.user_id!r}, phone={phone!r})"


@dataclass(frozen=True, slots=True)
class ListRow:
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ListSection:
    rows: Sequence[ListRow]
    title: str | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """Meta's answer to a send: the message id and who it was addressed to."""

    wamid: str
    input: str | None = None
    wa_id: str | None = None
    user_id: str | None = None
    message_status: str | None = None
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class MediaInfo:
    id: str
    url: str
    mime_type: str | None = None
    sha256: str | None = None
    file_size: int | None = None


# --------------------------------------------------------------------------
# 24-hour customer service window


def ensure_within_window(
    kind: str, last_inbound_at: datetime | None, now: datetime
) -> None:
    """Refuse a non-template message outside the 24-hour window.

    ``last_inbound_at`` is when the customer last wrote (``None``: never). Both
    datetimes must be timezone-aware.
    """
    if kind == "template":
        return
    if now.tzinfo is None or (
        last_inbound_at is not None and last_inbound_at.tzinfo is None
    ):
        raise InvalidInput("Datas da janela de atendimento precisam de fuso horário.")
    if last_inbound_at is None or now - last_inbound_at >= CUSTOMER_WINDOW:
        raise OutsideCustomerWindow()


def check_template(name: str, language: str) -> None:
    """Refuse a template name or language Meta would refuse."""
    if not name or len(name) > MAX_TEMPLATE_NAME:
        raise InvalidInput("Nome do modelo (template) inválido.")
    if not _TEMPLATE_NAME.fullmatch(name):
        raise InvalidInput(
            "O nome do modelo (template) só pode ter letras minúsculas, "
            "números e sublinhado."
        )
    if not language.strip():
        raise InvalidInput("Informe o idioma do modelo (template).")


class _Unchecked(enum.Enum):
    UNCHECKED = "unchecked"


#: Default of ``last_inbound_at``: the caller takes care of the window itself.
UNCHECKED: Final = _Unchecked.UNCHECKED

LastInbound = datetime | None | Literal[_Unchecked.UNCHECKED]


# --------------------------------------------------------------------------
# Resilience


class CircuitBreaker:
    """Closed → open after N consecutive failures → half-open after a pause.

    Half-open lets one trial call through: success closes the circuit, failure
    opens it again. Thread-safe; share one per phone number if several clients
    send from it.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_timeout_s < 0:
            raise ValueError("failure_threshold >= 1 and reset_timeout_s >= 0")
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        with self._lock:
            return self._state()

    def _state(self) -> Literal["closed", "open", "half_open"]:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_timeout_s:
            return "half_open"
        return "open"

    def before_call(self) -> None:
        """Raise :class:`CircuitOpenError` unless a call may go through now."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return
            if state == "half_open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return
            assert self._opened_at is not None
            remaining = self.reset_timeout_s - (self._clock() - self._opened_at)
            raise CircuitOpenError(retry_after_s=max(1, math.ceil(remaining)))

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_in_flight or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
            self._trial_in_flight = False

    def release(self) -> None:
        """End a trial that neither succeeded nor failed (an unexpected error)."""
        with self._lock:
            self._trial_in_flight = False


class TokenBucket:
    """At most ``rate`` acquisitions per second, ``burst`` at once.

    Waiting callers reserve their slot under the lock and sleep outside it, so
    concurrent threads are spaced evenly.
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = burst
        self._last = clock()

    def acquire(self) -> float:
        """Take one token, sleeping if needed; returns the seconds slept."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._last)
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            self._last = now
            self._tokens -= 1
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


# --------------------------------------------------------------------------
# Client


class _Retry(Exception):
    """Internal: one attempt failed in a way worth retrying."""

    def __init__(self, error: GraphApiError, retry_after_s: float | None) -> None:
        super().__init__(error.code)
        self.error = error
        self.retry_after_s = retry_after_s


class GraphClient:
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

    # -- media --------------------------------------------------------------

    def get_media(self, media_id: str) -> MediaInfo:
        """The (short-lived) download URL and metadata of a received media."""
        if not media_id or "/" in media_id:
            raise InvalidInput("Identificador de mídia inválido.")
        response, _ = self._request(
            "GET",
            f"{self.base_url}/{self.api_version}/{media_id}",
            None,
            operation="get_media",
            paced=False,
        )
        data = _json_object(response)
        url = data.get("url")
        if not isinstance(url, str):
            raise _unexpected(response)
        size = data.get("file_size")
        return MediaInfo(
            id=str(data.get("id", media_id)),
            url=url,
            mime_type=data.get("mime_type"),
            sha256=data.get("sha256"),
            file_size=int(size) if size is not None else None,
        )

    def download_media(self, url: str) -> bytes:
        """The bytes behind a URL from :meth:`get_media` (needs the token too).

        The token only goes to Meta's media hosts or the configured base URL.
        """
        host = httpx.URL(url).host
        trusted = host == httpx.URL(self.base_url).host or any(
            host == domain or host.endswith(f".{domain}") for domain in _MEDIA_HOSTS
        )
        if not trusted:
            raise InvalidInput("Endereço de mídia fora dos domínios do WhatsApp.")
        response, _ = self._request(
            "GET", url, None, operation="download_media", paced=False
        )
        return response.content

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
                response = self._attempt(method, url, payload, paced=paced)
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
    ) -> httpx.Response:
        if paced and self.limiter is not None:
            self.limiter.acquire()
        headers = {"Authorization": f"Bearer {self.__token}"}
        try:
            response = self._http.request(method, url, json=payload, headers=headers)
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
# Helpers


def _check_text(value: str, limit: int, what: str) -> None:
    if not value or not value.strip():
        raise InvalidInput(f"{what} não pode ficar vazio.")
    if len(value) > limit:
        raise InvalidInput(f"{what} pode ter no máximo {limit} caracteres.")


def _check_unique(values: Sequence[str], what: str) -> None:
    if len(set(values)) != len(values):
        raise InvalidInput(f"Os {what} não podem se repetir.")


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


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _retry_after(response: httpx.Response, now: datetime) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), if any."""
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise _unexpected(response) from None
    if not isinstance(data, dict):
        raise _unexpected(response)
    return data


def _unexpected(response: httpx.Response) -> GraphApiError:
    return GraphApiError(
        "Resposta inesperada do WhatsApp.", http_status=response.status_code
    )


def _sent_message(response: httpx.Response, attempts: int) -> SentMessage:
    data = _json_object(response)
    messages = data.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    wamid = first.get("id") if isinstance(first, dict) else None
    if not isinstance(wamid, str) or not wamid:
        raise _unexpected(response)
    contacts = data.get("contacts")
    contact = contacts[0] if isinstance(contacts, list) and contacts else {}
    contact = contact if isinstance(contact, dict) else {}
    assert isinstance(first, dict)
    return SentMessage(
        wamid=wamid,
        input=contact.get("input"),
        wa_id=contact.get("wa_id"),
        user_id=contact.get("user_id"),
        message_status=first.get("message_status"),
        attempts=attempts,
    )
