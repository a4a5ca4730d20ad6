"""Whether Meta charges for a message, as the console tells the attendant
before sending (a hint, never a bill: rates vary by country and volume).

Meta's per-message pricing (since 1 July 2025) charges delivered template
messages by category: marketing and authentication always, utility only when
delivered outside an open customer service window. Free-form (non-template)
messages, Meta's SERVICE category, were free inside the window from November
2024; Meta bills them per message since 1 October 2026. Sources in
docs/console.md ("Modelos e janela de 24 h").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

__all__ = ["SERVICE_BILLED_FROM", "Charge", "charge"]

SERVICE_BILLED_FROM: Final = date(2026, 10, 1)

_CATEGORY_LABELS: Final = {
    "MARKETING": "marketing",
    "UTILITY": "utilidade",
    "AUTHENTICATION": "autenticação",
}


@dataclass(frozen=True)
class Charge:
    charged: bool
    note: str  # what the attendant reads, PT-BR


def charge(category: str | None, *, window_open: bool, on: date) -> Charge:
    """What Meta charges for one message: a template of ``category``, or free
    text (``category`` None) inside the window, sent on ``on``."""
    if category is None:
        if on >= SERVICE_BILLED_FROM:
            return Charge(
                True, "Resposta livre (serviço): cobrada pela Meta por mensagem."
            )
        return Charge(False, "Resposta livre na janela: sem cobrança da Meta.")
    label = _CATEGORY_LABELS.get(category.upper(), category.lower())
    if category.upper() == "UTILITY" and window_open:
        return Charge(False, f"Modelo de {label} na janela: sem cobrança da Meta.")
    return Charge(True, f"Modelo de {label}: mensagem cobrada pela Meta.")
