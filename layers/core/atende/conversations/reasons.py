"""Why a conversation waits for a person: the handoff reason codes and the
PT-BR words attendants and reports read for them (one map, used everywhere).
"""

from __future__ import annotations

__all__ = ["LABELS", "LLM_UNAVAILABLE", "NO_AI_CONSENT", "TRANSFER", "label"]

LLM_UNAVAILABLE = "llm_indisponivel"
# The LLM works, but may not read the messages of a customer who hasn't
# consented (LGPD): a person answers instead.
NO_AI_CONSENT = "sem_consentimento_ia"
TRANSFER = "transferencia"

LABELS = {
    "pedido_do_cliente": "Pediu atendente",
    "reclamacao": "Reclamação",
    "cancelamento": "Cancelamento",
    "segunda_via_boleto": "Segunda via de boleto",
    "status_pedido": "Status do pedido",
    "suporte_tecnico": "Suporte técnico",
    "bot": "Encaminhada pelo bot",
    "bot_unavailable": "Bot indisponível",
    LLM_UNAVAILABLE: "IA indisponível",
    NO_AI_CONSENT: "Sem consentimento para IA",
    TRANSFER: "Transferência",
}


def label(code: str | None) -> str:
    """The reason in words; a code this map doesn't know yet is never shown raw."""
    if not code:
        return "Não informado"
    return LABELS.get(code, "Outro motivo")
