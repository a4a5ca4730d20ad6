"""What a call to Meta can fail with, and how Meta's error codes read.

:class:`GraphApiError` carries Meta's error object; :class:`WhatsAppUnavailable`
is what is left after every retry failed; :class:`CircuitOpenError` is raised
while the circuit breaker keeps calls away from Meta; and
:class:`OutsideCustomerWindow` refuses a free-form message outside the 24-hour
customer service window. :data:`THROTTLING_CODES` and :data:`TRANSIENT_CODES`
are the Graph error codes worth retrying.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from atende.errors import Conflict, DependencyFailed, ServiceUnavailable

__all__ = [
    "THROTTLING_CODES",
    "TRANSIENT_CODES",
    "CircuitOpenError",
    "GraphApiError",
    "OutsideCustomerWindow",
    "WhatsAppUnavailable",
]


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
