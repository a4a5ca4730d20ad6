"""Masking of personal data in free text (log lines, exception messages).

Powertools' DataMasking erases values by field path; log messages carry PII in
free text, so this step finds it by shape. It keeps the separators and the last
two characters, so support can still tell values apart without seeing them.
"""

from __future__ import annotations

import re

from atende.validators import is_valid_cnpj

_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_CNPJ_NUMERIC = r"\d{2}\.?\d{3}\.?\d{3}/?\d{4}-?\d{2}"
_CNPJ_ALNUM_FORMATTED = r"[0-9A-Z]{2}\.[0-9A-Z]{3}\.[0-9A-Z]{3}/[0-9A-Z]{4}-\d{2}"
_CNPJ_ALNUM_BARE = r"[0-9A-Z]{12}\d{2}"
_CPF = r"\d{3}\.?\d{3}\.?\d{3}-?\d{2}"
# Brazilian numbers (+55, area code, 8 or 9 digits) and any E.164 number.
_PHONE = (
    r"(?:\+?55[\s.-]?)?\(?\d{2}\)?[\s.-]?9?\d{4}[\s.-]?\d{4}"
    r"|\+\d{10,15}"
)

# A UUID is an id, never personal data, but one that starts "55" and has only
# digits in its first two groups reads as a phone (+55 84 2690-0889): matched
# first, as a whole, and left alone.
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

_PII = re.compile(
    rf"(?P<uuid>(?<![\w-]){_UUID}(?![\w-]))"
    rf"|(?P<email>{_EMAIL})"
    rf"|(?<![\w+/.-])(?:(?P<cnpj>{_CNPJ_NUMERIC}|{_CNPJ_ALNUM_FORMATTED})"
    rf"|(?P<cnpj_bare>{_CNPJ_ALNUM_BARE})"
    rf"|(?P<cpf>{_CPF})"
    rf"|(?P<phone>{_PHONE}))(?![\w/])"
)


def _mask_keep_tail(value: str, keep: int = 2) -> str:
    alnum_positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    hidden = set(alnum_positions[:-keep] if keep else alnum_positions)
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


def _mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return f"{local[0]}***@{domain}"


def _replace(match: re.Match[str]) -> str:
    value = match.group(0)
    if match.group("uuid"):
        return value
    if match.group("email"):
        return _mask_email(value)
    if match.group("cnpj_bare") and not (value.isdigit() or is_valid_cnpj(value)):
        # Upper-case identifiers that merely look like a CNPJ stay readable.
        return value
    return _mask_keep_tail(value)


def mask_pii(text: str) -> str:
    """``text`` with e-mails, phones, CPFs and CNPJs masked."""
    return _PII.sub(_replace, text)


def contains_pii(text: str) -> bool:
    """True when ``text`` carries something :func:`mask_pii` would mask."""
    return mask_pii(text) != text
