"""What someone typed to find a customer: a WhatsApp number (any way it is
written), an @username, a protocol or a name.

One rule for every page that looks customers up (the Privacidade page's
customer search, the console's conversation search): the term is classified
here, and a number is matched by its exact forms (with and without 55, with
and without the mobile ninth digit) through the (tenant, phone) index.
"""

from __future__ import annotations

import re
from typing import Literal
from uuid import UUID

from atende.errors import InvalidInput
from atende.validators import only_digits

__all__ = [
    "SearchBy",
    "SearchTermInvalid",
    "like_pattern",
    "phone_forms",
    "protocol_range",
    "search_kind",
]

SearchBy = Literal["protocol", "username", "phone", "name"]
_PROTOCOL = re.compile(r"#?([0-9a-f]{8})", re.IGNORECASE)
_PHONE = re.compile(r"\+?[\d\s().-]+")


class SearchTermInvalid(InvalidInput):
    code = "BUSCA_INVALIDA"
    message = (
        "Digite um telefone (com DDD), um @usuário, um nome (2 letras ou mais)"
        " ou um protocolo (8 caracteres)."
    )


def search_kind(term: str) -> tuple[SearchBy, str]:
    """What was typed, and the normalised value to look up.

    Raises:
        SearchTermInvalid: empty, too long, or too short to mean anything.
    """
    term = term.strip()
    if not 2 <= len(term) <= 100:
        raise SearchTermInvalid()
    if protocol := _PROTOCOL.fullmatch(term):
        return "protocol", protocol.group(1).lower()
    if term.startswith("@") and len(term) > 1:
        return "username", term[1:].lower()
    if _PHONE.fullmatch(term):
        digits = only_digits(term)
        if len(digits) < 10:
            raise SearchTermInvalid()
        return "phone", digits
    return "name", term


def phone_forms(digits: str) -> list[str]:
    """The ways Meta may have given us this number: a Brazilian one with the
    country code, with and without the mobile ninth digit."""
    national = digits[2:] if digits.startswith("55") and len(digits) >= 12 else digits
    forms = {digits}
    if len(national) in (10, 11):
        forms.add("55" + national)
        if len(national) == 11 and national[2] == "9":
            forms.add("55" + national[:2] + national[3:])
        if len(national) == 10:
            forms.add("55" + national[:2] + "9" + national[2:])
    return sorted(forms)


def protocol_range(protocol: str) -> tuple[UUID, UUID]:
    """The ids a protocol (the first 8 hex digits of an id) stands for, as a
    range the primary key answers (``id::text LIKE`` would read every row)."""
    return UUID(protocol + "0" * 24), UUID(protocol + "f" * 24)


def like_pattern(value: str) -> str:
    """``value`` anywhere, for ``LIKE`` (its wildcards match themselves)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
