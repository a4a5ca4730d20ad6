"""Meta's limits, checked locally before any HTTP call.

Button and list sizes, text lengths and template names that Meta would refuse
fail with :class:`~atende.errors.InvalidInput`; a free-form message outside
the 24-hour customer service window fails with
:class:`~atende.whatsapp.graph.errors.OutsideCustomerWindow` when the caller
says when the customer last wrote (:func:`ensure_within_window`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final, Literal

from atende.errors import InvalidInput
from atende.whatsapp.graph.errors import OutsideCustomerWindow

__all__ = [
    "CUSTOMER_WINDOW",
    "MAX_BUTTONS",
    "MAX_BUTTONS_BODY",
    "MAX_BUTTON_ID",
    "MAX_BUTTON_TITLE",
    "MAX_FOOTER_TEXT",
    "MAX_HEADER_TEXT",
    "MAX_LIST_BODY",
    "MAX_LIST_BUTTON_LABEL",
    "MAX_LIST_ROWS",
    "MAX_LIST_SECTIONS",
    "MAX_MEDIA_CAPTION",
    "MAX_ROW_DESCRIPTION",
    "MAX_ROW_ID",
    "MAX_ROW_TITLE",
    "MAX_SECTION_TITLE",
    "MAX_TEMPLATE_NAME",
    "MAX_TEXT_BODY",
    "UNCHECKED",
    "LastInbound",
    "check_template",
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
MAX_MEDIA_CAPTION: Final = 1024

CUSTOMER_WINDOW: Final = timedelta(hours=24)

_TEMPLATE_NAME = re.compile(r"[a-z0-9_]+")


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


class _Unchecked(enum.Enum):
    UNCHECKED = "unchecked"


#: Default of ``last_inbound_at``: the caller takes care of the window itself.
UNCHECKED: Final = _Unchecked.UNCHECKED

LastInbound = datetime | None | Literal[_Unchecked.UNCHECKED]


# --------------------------------------------------------------------------
# Text and template checks


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


def _check_text(value: str, limit: int, what: str) -> None:
    if not value or not value.strip():
        raise InvalidInput(f"{what} não pode ficar vazio.")
    if len(value) > limit:
        raise InvalidInput(f"{what} pode ter no máximo {limit} caracteres.")


def _check_unique(values: Sequence[str], what: str) -> None:
    if len(set(values)) != len(values):
        raise InvalidInput(f"Os {what} não podem se repetir.")
