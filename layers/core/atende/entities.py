"""Brazilian entities found in text by validators, not just regular expressions.

:func:`extract_entities` finds CPF, CNPJ (numeric and the alphanumeric format
issued since July 2026), phones, e-mails, CEPs, dates and R$ amounts. Each
candidate is checked (check digits, real area codes, real calendar dates) and
normalised; candidates that fail the check are not returned.

Decisions:

- **Overlaps.** Every extractor runs over the whole text; candidates are then
  taken in order of specificity (e-mail, CNPJ, CPF, date, amount, CEP, phone)
  and a candidate overlapping one already taken is discarded. A phone is never
  read inside a CPF, CNPJ, CEP, date or amount.
- **Phones.** A DDD from the Anatel list (:data:`BRAZILIAN_DDDS`) followed by a
  mobile number (9 digits starting with 9) or a landline (8 digits starting with
  2-5), with an optional ``+55`` and an optional trunk ``0`` (``(011)``).
  Normalised to E.164 (``+5511987654321``). A bare run of 10-11 digits (no
  ``+55``, no separators) is taken only after a phone cue (``tel``, ``fone``,
  ``celular``, ``whatsapp``...), since it may be anything else. Numbers without a
  DDD are not taken (they cannot be normalised). Non-geographic ``0800``/``0300``
  numbers (``0800 123 4567``) *are* taken and normalised to their 11 national
  digits (``08001234567``): they have no E.164 form dialable from abroad.
- **CEP.** ``01310-100`` and ``01.310-100`` anywhere; a bare ``01310100`` only
  right after ``CEP`` (``CEP 01310100``, ``CEP: 01310100``, ``CEP nº 01310100``),
  since eight bare digits may be anything. ``00000-000`` is not a CEP.
- **Dates.** ``15/03/2026``, ``15-03-2026``, ``15.03.2026`` (one separator
  throughout, four-digit year), ISO ``2026-03-15`` and written dates such as
  ``1º de abril de 2026`` or ``15 de marco de 2026`` (accents and case ignored);
  the calendar date must exist. Two-digit years are not taken (ambiguous).
- **Amounts.** ``R$ 1.234,56``, ``R$1.234,56``, ``R$ 500``, ``R$ 1234,5`` and
  also ``1.234,56 reais`` (the word ``reais`` is as clear a cue as ``R$``); a
  following ``mil``/``milhão``/``milhões``/``bilhão``/``bilhões`` multiplies
  (``R$ 2 milhões`` is ``2000000.00``). Normalised to a decimal string with two
  places (``1234.56``, ``500.00``). A number with more digits than a decimal
  holds (28 with the cents) is not money and is not taken.
- **E-mails.** Lower-cased; trailing punctuation is left out.
- **Linear time.** A page is any tenant's input: every pattern has a bounded
  length or may only start where a run of what it accepts starts (the
  lookbehinds), e-mails are found from their ``@``, and overlaps and the
  summary are resolved in one pass, so extraction time grows with the text's
  length, never with its square (``tests/unit/test_entities_worst_cases.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal, get_args

from atende.validators import is_valid_cnpj, is_valid_cpf, normalize_cnpj, only_digits

__all__ = [
    "BRAZILIAN_DDDS",
    "KINDS",
    "Entity",
    "EntityKind",
    "extract_entities",
    "summarize",
]

EntityKind = Literal["cpf", "cnpj", "phone", "email", "cep", "date", "amount_brl"]
KINDS: tuple[EntityKind, ...] = get_args(EntityKind)

# fmt: off
_DDDS = (
    11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 24, 27, 28,
    31, 32, 33, 34, 35, 37, 38, 41, 42, 43, 44, 45, 46, 47, 48, 49,
    51, 53, 54, 55, 61, 62, 63, 64, 65, 66, 67, 68, 69,
    71, 73, 74, 75, 77, 79, 81, 82, 83, 84, 85, 86, 87, 88, 89,
    91, 92, 93, 94, 95, 96, 97, 98, 99,
)
# fmt: on
#: Area codes (DDD) in use in Brazil (Anatel numbering plan), 67 in all.
BRAZILIAN_DDDS: frozenset[str] = frozenset(str(ddd) for ddd in _DDDS)


@dataclass(frozen=True)
class Entity:
    """One entity found in the text.

    Attributes:
        kind: what it is.
        value: the normalised value (see the module docstring).
        raw: the text exactly as found, ``text[start:end]``.
        start: offset of the first character in the text.
        end: offset just past the last character.
        page: the page it was found on, when the caller said so.
    """

    kind: EntityKind
    value: str
    raw: str
    start: int
    end: int
    page: int | None = None


# Not glued to a letter/digit nor to a digit group (``1.``, ``12/``, ``3-``) before.
_B = r"(?<![0-9A-Za-z])(?<!\d[.,/-])"
# Not glued to a letter/digit nor followed by another digit group after.
_E = r"(?![0-9A-Za-z])(?![.,/-]\d)"

_CPF = re.compile(_B + r"\d{3}\.?\d{3}\.?\d{3}-?\d{2}" + _E)
_CNPJ_FORMATTED = re.compile(
    _B + r"[0-9A-Za-z]{2}\.[0-9A-Za-z]{3}\.[0-9A-Za-z]{3}/[0-9A-Za-z]{4}-\d{2}" + _E
)
# Bare: upper case only, and a digit among the first 12 characters, so that a
# 12-letter word followed by two digits is not read as a CNPJ.
_CNPJ_BARE = re.compile(_B + r"(?=[A-Z]{0,11}\d)[0-9A-Z]{12}\d{2}" + _E)

# E-mails are found from their '@', not by trying every start: a pattern that
# scans the local part from each position was quadratic on ``a!a!a!…``. Each
# '@' comes with the run of local-part characters and dots before it; the
# lookbehind starts that run where it starts, and the possessive run never
# gives back, so every character is read a bounded number of times.
_LOCAL_CHARS = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_AT_AFTER_LOCAL_RUN = re.compile(rf"(?<![.{_LOCAL_CHARS}])[.{_LOCAL_CHARS}]*+@")
# Where a local part may start: not glued to a word character, dot, + or -.
_LOCAL_START = re.compile(r"(?<![\w.+-])[^.]")
_EMAIL_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
    r"(?![\w-])(?!\.[A-Za-z0-9])"
)
_MAX_LOCAL_CHARS = 64  # RFC 5321

_CEP_FORMATTED = re.compile(_B + r"(?:\d{5}|\d{2}\.\d{3})-\d{3}" + _E)
_CEP_BARE = re.compile(_B + r"\d{8}" + _E)
# "CEP" right before the number: "CEP 01310100", "CEP: 01310100", "CEP nº 01310100".
_CEP_CUE = re.compile(r"\bCEP\b[\s:.\-]*(?:n[º°o.]*\s*)?$", re.IGNORECASE)

_PHONE = re.compile(
    r"(?<![0-9A-Za-z+])(?<!\d[.,/-])"
    r"(?P<cc>\+\s?55[\s.-]?)?"
    r"(?:\(\s?0?(?P<ddd_p>\d{2})\s?\)|0?(?P<ddd>\d{2}))"
    r"[\s.-]?"
    r"(?P<number>9[\s.-]?\d{4}|[2-5]\d{3})[\s.-]?\d{4}" + _E
)
_SERVICE_PHONE = re.compile(_B + r"0[38]00[\s.-]?\d{3}[\s.-]?\d{4}" + _E)
_PHONE_CUE = re.compile(
    r"\b(?:tel|tels|telefones?|fones?|celular|cel|whats\s?app|zap|contato)\b",
    re.IGNORECASE,
)

_DATE_NUMERIC = re.compile(_B + r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})" + _E)
_DATE_ISO = re.compile(_B + r"(\d{4})-(\d{2})-(\d{2})" + _E)
_MONTHS = {
    "janeiro": 1,
    "fevereiro": 2,
    "marco": 3,
    "abril": 4,
    "maio": 5,
    "junho": 6,
    "julho": 7,
    "agosto": 8,
    "setembro": 9,
    "outubro": 10,
    "novembro": 11,
    "dezembro": 12,
}
_DATE_WRITTEN = re.compile(
    r"(?<![0-9A-Za-z])(\d{1,2})(?:\.?[º°ªo])?\s+de\s+"
    r"(janeiro|fevereiro|mar(?:ç|c\u0327|c)o|abril|maio|junho|julho|agosto"
    r"|setembro|outubro|novembro|dezembro)"
    r",?\s+(?:de\s+)?(\d{4})(?![0-9A-Za-z])",
    re.IGNORECASE,
)

_NUMBER_BR = r"(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d{1,2})?"
_SCALE = r"(?:\s+(?P<scale>mil|milh(?:ão|ao|ões|oes)|bilh(?:ão|ao|ões|oes))\b)?"
_AMOUNT_RS = re.compile(
    r"(?<![A-Za-z])R\$\s*(?P<number>"
    + _NUMBER_BR
    + r")(?![0-9A-Za-z])(?![.,]\d)"
    + _SCALE
    + r"(?:\s+reais\b)?",
    re.IGNORECASE,
)
_AMOUNT_REAIS = re.compile(
    _B + r"(?P<number>" + _NUMBER_BR + r")" + _SCALE + r"\s+(?:de\s+)?reais?\b",
    re.IGNORECASE,
)

_PRIORITY: dict[EntityKind, int] = {
    "email": 0,
    "cnpj": 1,
    "cpf": 2,
    "date": 3,
    "amount_brl": 4,
    "cep": 5,
    "phone": 6,
}


def _cue_before(text: str, start: int, cue: re.Pattern[str], window: int) -> bool:
    return cue.search(text, max(0, start - window), start) is not None


def _cpfs(text: str) -> Iterator[tuple[str, int, int]]:
    for m in _CPF.finditer(text):
        if is_valid_cpf(m.group()):
            d = only_digits(m.group())
            yield f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}", m.start(), m.end()


def _cnpjs(text: str) -> Iterator[tuple[str, int, int]]:
    for pattern in (_CNPJ_FORMATTED, _CNPJ_BARE):
        for m in pattern.finditer(text):
            if is_valid_cnpj(m.group()):
                c = normalize_cnpj(m.group())
                yield f"{c[:2]}.{c[2:5]}.{c[5:8]}/{c[8:12]}-{c[12:]}", *m.span()


def _local_start(text: str, run_start: int, at: int) -> int | None:
    """Where the local part ending at ``at`` starts: the leftmost start after
    which no ``..`` comes, no trailing dot, and not glued to what precedes."""
    if at == run_start or text[at - 1] == ".":
        return None
    double_dot = text.rfind("..", run_start, at)
    if double_dot != -1:
        run_start = double_dot + 2
    found = _LOCAL_START.search(text, run_start, at)
    return found.start() if found else None


def _emails(text: str) -> Iterator[tuple[str, int, int]]:
    taken_until = 0  # an e-mail's domain is never read as the next local part
    for run in _AT_AFTER_LOCAL_RUN.finditer(text):
        at = run.end() - 1
        start = _local_start(text, max(run.start(), taken_until), at)
        if start is None:
            continue
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        if domain is None:
            continue
        taken_until = domain.end()
        if at - start <= _MAX_LOCAL_CHARS:
            yield text[start : domain.end()].lower(), start, domain.end()


def _ceps(text: str) -> Iterator[tuple[str, int, int]]:
    for m in _CEP_FORMATTED.finditer(text):
        d = only_digits(m.group())
        if d != "00000000":
            yield f"{d[:5]}-{d[5:]}", m.start(), m.end()
    for m in _CEP_BARE.finditer(text):
        d = m.group()
        if d != "00000000" and _cue_before(text, m.start(), _CEP_CUE, 20):
            yield f"{d[:5]}-{d[5:]}", m.start(), m.end()


def _phones(text: str) -> Iterator[tuple[str, int, int]]:
    for m in _PHONE.finditer(text):
        ddd = m.group("ddd_p") or m.group("ddd")
        if ddd not in BRAZILIAN_DDDS:
            continue
        raw = m.group()
        bare = raw.isdigit()  # no "+55", parentheses nor separators
        if bare and not _cue_before(text, m.start(), _PHONE_CUE, 30):
            continue
        number = only_digits(raw[m.start("number") - m.start() :])
        yield f"+55{ddd}{number}", m.start(), m.end()
    for m in _SERVICE_PHONE.finditer(text):
        yield only_digits(m.group()), m.start(), m.end()


def _valid_date(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _dates(text: str) -> Iterator[tuple[str, int, int]]:
    for m in _DATE_NUMERIC.finditer(text):
        iso = _valid_date(int(m.group(4)), int(m.group(3)), int(m.group(1)))
        if iso:
            yield iso, m.start(), m.end()
    for m in _DATE_ISO.finditer(text):
        iso = _valid_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if iso:
            yield iso, m.start(), m.end()
    for m in _DATE_WRITTEN.finditer(text):
        month_name = m.group(2).lower().replace("ç", "c").replace("\u0327", "")
        iso = _valid_date(int(m.group(3)), _MONTHS[month_name], int(m.group(1)))
        if iso:
            yield iso, m.start(), m.end()


_SCALES = {"mil": Decimal(1000), "milh": Decimal(10**6), "bilh": Decimal(10**9)}


def _amount_value(number: str, scale: str | None) -> str | None:
    amount = Decimal(number.replace(".", "").replace(",", "."))
    if scale:
        word = scale.lower()
        amount *= _SCALES["mil" if word == "mil" else word[:4]]
    try:
        return str(amount.quantize(Decimal("0.01")))
    except InvalidOperation:  # more digits than a decimal holds: not money
        return None


def _amounts(text: str) -> Iterator[tuple[str, int, int]]:
    for pattern in (_AMOUNT_RS, _AMOUNT_REAIS):
        for m in pattern.finditer(text):
            value = _amount_value(m.group("number"), m.group("scale"))
            if value is not None:
                yield value, m.start(), m.end()


_EXTRACTORS: dict[EntityKind, Callable[[str], Iterable[tuple[str, int, int]]]] = {
    "email": _emails,
    "cnpj": _cnpjs,
    "cpf": _cpfs,
    "date": _dates,
    "amount_brl": _amounts,
    "cep": _ceps,
    "phone": _phones,
}


def extract_entities(text: str, *, page: int | None = None) -> list[Entity]:
    """The validated entities of ``text``, in order of appearance.

    Args:
        text: the text to read (a page, a message, a whole document).
        page: stamped on every entity, for callers that read page by page;
            offsets are always relative to ``text``.

    Overlapping candidates are resolved in favour of the more specific kind
    (e-mail, CNPJ, CPF, date, amount, CEP, phone), then the longer one.
    """
    candidates: list[Entity] = [
        Entity(kind, value, text[start:end], start, end, page)
        for kind, extractor in _EXTRACTORS.items()
        for value, start, end in extractor(text)
    ]
    candidates.sort(key=lambda e: (_PRIORITY[e.kind], e.start - e.end, e.start))
    # One mark per character taken: checking and marking a candidate costs its
    # length, and each pattern's matches are disjoint, so the whole resolution
    # stays linear in the text (inserting into sorted lists was quadratic).
    occupied = bytearray(len(text))
    taken: list[Entity] = []
    for candidate in candidates:
        if occupied.find(1, candidate.start, candidate.end) != -1:
            continue
        occupied[candidate.start : candidate.end] = b"\x01" * (
            candidate.end - candidate.start
        )
        taken.append(candidate)
    taken.sort(key=lambda e: e.start)
    return taken


def summarize(entities: Iterable[Entity]) -> dict[EntityKind, list[str]]:
    """Unique normalised values per kind, in order of first appearance.

    Every kind is a key (an empty list when none was found), so the shape is
    stable for API responses.
    """
    # dict keys keep the order of first appearance; a list lookup per entity
    # was quadratic on a page of distinct values.
    seen: dict[EntityKind, dict[str, None]] = {kind: {} for kind in KINDS}
    for entity in entities:
        seen[entity.kind].setdefault(entity.value, None)
    return {kind: list(values) for kind, values in seen.items()}
