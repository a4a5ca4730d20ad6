"""Entity extraction stays linear on adversarial text (issue 13, finding 2).

A page of a tenant's PDF (or a customer's message) must not hold the extract
Lambda for minutes: the former e-mail pattern took 23 s on 40,000 characters
of ``a!a!…``. Each case below is a 150,000-character page built against one
pattern: long runs that a pattern's prefix accepts and its suffix rejects,
repeated separators, near misses, and pages full of entities (for the overlap
resolution and the summary). The limit is a denial-of-service gate that a
quadratic pattern blows far past (minutes on a page): 3 s of this process's
CPU, so other processes' load doesn't make it flaky, nor does the suite's
coverage tracing, which triples the time of the densest pages. Without it the
slowest case takes about 0.2 s (the issue's "under 1 s": measured, not timed
here).
"""

from __future__ import annotations

import itertools
import random
import re
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import pytest

from atende.entities import extract_entities, summarize

PAGE_CHARS = 150_000
LIMIT_S = 3.0
# A quadratic pattern takes minutes on a page: stop it early and fail.
GIVE_UP_S = 10.0


def _page(unit: str, *, head: str = "", tail: str = "") -> str:
    body = PAGE_CHARS - len(head) - len(tail)
    return head + (unit * (body // len(unit) + 1))[:body] + tail


def _numbered(make: Callable[[int], str]) -> str:
    parts: list[str] = []
    size = 0
    for i in range(PAGE_CHARS):
        part = make(i)
        parts.append(part)
        size += len(part)
        if size >= PAGE_CHARS:
            break
    return "".join(parts)[:PAGE_CHARS]


WORST_CASES: dict[str, Callable[[], str]] = {
    # e-mail: local-part characters everywhere, the '@' far away or missing.
    "email-a!a!": lambda: _page("a!"),
    "email-bang-run": lambda: _page("!"),
    "email-slashes": lambda: _page("1/"),
    "email-dollars": lambda: _page("R$"),
    "email-run-then-at": lambda: _page("a#", tail="@"),
    "email-run-then-at-bad-domain": lambda: _page("x=", tail="@example"),
    "email-double-dot-before-at": lambda: _page("!a.", tail=".b@x.com"),
    "email-domain-labels": lambda: _page("a.", head="!a@"),
    "email-domain-hyphens": lambda: _page("a-", head="!a@"),
    "email-at-run": lambda: _page("@"),
    "email-a@-run": lambda: _page("a@"),
    "email-one-letter-tlds": lambda: _page("!a@b.c"),
    "email-local-too-long": lambda: _page("!" * 65 + "@x.com "),
    "email-dots": lambda: _page("."),
    # CPF / CNPJ (numeric and alphanumeric)
    "cpf-digit-run": lambda: _page("1"),
    "cpf-near-miss": lambda: _page("529.982.247-2 "),
    "cpf-dot-groups": lambda: _page("111."),
    "cpf-hyphens": lambda: _page("1-"),
    "cnpj-letter-run": lambda: _page("A"),
    "cnpj-bare-lookahead": lambda: _page("ABCDEFGHIJK1"),
    "cnpj-near-miss": lambda: _page("12.ABC.345/01DE-3 "),
    "cnpj-separators": lambda: _page("AB.ABC.ABC/ABCD-"),
    # phones
    "phone-country-code": lambda: _page("+55 "),
    "phone-parentheses": lambda: _page("(11) "),
    "phone-trunk": lambda: _page("(0"),
    "phone-near-miss": lambda: _page("(11) 9 8765-432 "),
    "phone-cue-near-miss": lambda: _page("tel 119876543 "),
    "phone-cue-run": lambda: _page("telefone "),
    "phone-service-near-miss": lambda: _page("0800 123 456 "),
    # CEP
    "cep-cue-run": lambda: _page("CEP "),
    "cep-cue-near-miss": lambda: _page("CEP: 0131010 "),
    "cep-formatted-near-miss": lambda: _page("01.310-10 "),
    "cep-bare-after-cues": lambda: _page("CEP nº ", tail="01310100"),
    # dates
    "date-slash-run": lambda: _page("15/"),
    "date-near-miss": lambda: _page("15/03/202 "),
    "date-iso-near-miss": lambda: _page("2026-03-1 "),
    "date-written-spaces": lambda: _page(" ", head="1"),
    "date-written-near-miss": lambda: _page("1 de março de 202 "),
    "date-written-de-run": lambda: _page(" de", head="1 de"),
    "date-written-comma-spaces": lambda: _page(" ", head="1 de março,"),
    # amounts
    "amount-spaces-after-rs": lambda: _page(" ", head="R$"),
    "amount-digit-run": lambda: _page("1", head="R$ ", tail="x"),
    "amount-digit-run-reais": lambda: _page("1", tail=" reais"),
    "amount-groups": lambda: _page(".111", head="R$ 1"),
    "amount-spaces-before-reais": lambda: _page(" ", head="1", tail="x"),
    "amount-scale-run": lambda: _page("1 mil "),
    "amount-near-miss": lambda: _page("R$ 1.11 "),
    # pages full of entities: overlap resolution and summary
    "many-mixed-entities": lambda: _page(
        "CPF 529.982.247-25, CEP 01310-100, tel (11) 98765-4321, a@b.com.br, "
        "R$ 1.234,56 em 15/03/2026. "
    ),
    "many-amounts-two-lengths": lambda: _page("R$ 11 R$ 1 "),
    "many-distinct-amounts": lambda: _numbered(lambda i: f"R$ {i} "),
    "many-distinct-dates": lambda: _numbered(
        lambda i: f"{1 + i % 28}/{1 + i // 28 % 12}/{1900 + i // 336} "
    ),
}


@contextmanager
def _give_up_after(seconds: float) -> Iterator[None]:
    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise TimeoutError(f"still extracting after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("case", list(WORST_CASES))
def test_an_adversarial_page_extracts_in_linear_time(case: str) -> None:
    text = WORST_CASES[case]()
    assert len(text) == PAGE_CHARS
    with _give_up_after(GIVE_UP_S):
        started = time.process_time()
        summarize(extract_entities(text))
        elapsed = time.process_time() - started
    assert elapsed < LIMIT_S, f"{case}: {elapsed:.2f} s of CPU"


def test_pages_full_of_entities_still_find_every_one() -> None:
    text = WORST_CASES["many-mixed-entities"]()
    found = extract_entities(text)
    unit_count = text.count("CPF 529.982.247-25,")
    kinds = summarize(found)
    assert {kind for kind, values in kinds.items() if values} == {
        "cpf",
        "cep",
        "phone",
        "email",
        "amount_brl",
        "date",
    }
    assert sum(e.kind == "cpf" for e in found) == unit_count
    assert found == sorted(found, key=lambda e: e.start)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


@pytest.mark.parametrize(
    "text",
    [
        "R$ " + "1" * 27,  # more digits than a decimal holds
        "R$ " + "9" * 26 + " bilhões",
        "1" * 40 + " reais",
        "1.000.000.000.000.000.000.000.000.000,00 de reais",
    ],
)
def test_an_amount_too_large_to_be_money_is_not_taken_nor_a_crash(text: str) -> None:
    assert [e for e in extract_entities(text) if e.kind == "amount_brl"] == []


def test_the_largest_amount_a_decimal_holds_is_still_taken() -> None:
    [amount] = extract_entities("R$ " + "1" * 26)
    assert amount.value == "1" * 26 + ".00"


# The former e-mail pattern, kept as the reference: correct, but quadratic.
_FORMER_EMAIL = re.compile(
    r"(?<![\w.+-])"
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
    r"(?![\w-])(?!\.[A-Za-z0-9])"
)
_PIECES = (
    "a", "Z", "9", "!", "#", "=", "_", "+", "-", ".", "..", "@", "@@", " ", "é",
    "x.com", "b.co", ".c", "-d", "ab", "!" * 30, "a" * 40, "q.", "(", ")", ",",
)  # fmt: skip


def _former_emails(text: str) -> list[tuple[str, int, int]]:
    return [
        (m.group().lower(), m.start(), m.end())
        for m in _FORMER_EMAIL.finditer(text)
        if len(m.group().split("@", 1)[0]) <= 64
    ]


def test_emails_are_the_ones_the_former_pattern_found() -> None:
    rng = random.Random(13)
    for _ in range(10_000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 14)))
        found = [
            (e.value, e.start, e.end)
            for e in extract_entities(text)
            if e.kind == "email"
        ]
        assert found == _former_emails(text), text
