"""Contacts: merged per customer with their source, listed and searched, and
exported to Excel (opened back with openpyxl) with CPF masked by role."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from openpyxl import load_workbook

from atende import contacts, db, llm
from atende.audit import Actor, RequestContext
from atende.contacts import ContactKind, Found
from tests.support.channel import Channel
from tests.support.lgpd import OTHER, OTHER_PHONE, customer_id, decide, rows, say
from tests.support.spreadsheets import excel_text

pytestmark = pytest.mark.integration

SUPERVISOR = Actor("attendant", "00000000-0000-4000-8000-000000000002")


def _two_customers(ch: Channel) -> tuple[UUID, UUID]:
    say(ch, "oi")
    ana = customer_id(ch)
    decide(ch, ana, granted=True)
    say(ch, "meu cpf é 529.982.247-25, email ana.souza@example.com")
    say(ch, "de novo: 52998224725, tel (11) 98765-4321")
    say(ch, "oi", user=OTHER, phone=OTHER_PHONE)
    bruno = customer_id(ch, OTHER)
    decide(ch, bruno, granted=True)
    with db.tenant_transaction(ch.tenant_id) as conn:
        contacts.merge(
            conn,
            customer_id=bruno,
            message_id=None,
            found=[
                Found("name", "João Conceição", "llm"),
                Found("cpf", "111.444.777-35", "validator"),
                Found("address", "Rua das Flores, 12", "llm"),
            ],
        )
    return ana, bruno


def test_values_are_merged_once_per_customer_with_their_source(
    channel: Channel,
) -> None:
    ana, _ = _two_customers(channel)
    first = rows(
        channel,
        "SELECT id FROM messages WHERE body LIKE 'meu cpf%%' AND direction = 'inbound'",
    )[0]["id"]
    cpf = rows(
        channel,
        "SELECT value, seen_count, source_message_id, found_by FROM contacts"
        " WHERE customer_id = %s AND kind = 'cpf'",
        ana,
    )
    # The same CPF written twice, formatted and bare: one value, seen twice,
    # still pointing at the message it first came from.
    assert cpf == [
        {
            "value": "529.982.247-25",
            "seen_count": 2,
            "source_message_id": first,
            "found_by": "validator",
        }
    ]
    kinds = rows(
        channel,
        "SELECT kind FROM contacts WHERE customer_id = %s ORDER BY kind",
        ana,
    )
    assert [k["kind"] for k in kinds] == ["cpf", "email", "phone"]


def test_list_and_search(channel: Channel) -> None:
    ana, bruno = _two_customers(channel)
    with db.tenant_transaction(channel.tenant_id) as conn:

        def find(search: str | None, **kwargs: Any) -> list[contacts.CustomerContacts]:
            kwargs.setdefault("show_cpf", True)
            return contacts.list_contacts(conn, search=search, **kwargs).contacts

        everyone = find(None)
        by_name = find("joao conceicao")
        by_cpf_digits = find("52998224725")
        by_email = find("ANA.SOUZA", show_cpf=False)
        nobody = find("ninguém")
        # Masked CPFs can't be rebuilt by searching parts of them; the whole
        # number still finds its customer.
        partial = find("529982", show_cpf=False)
        whole = find("529.982.247-25", show_cpf=False)
        page = find(None, limit=1, offset=1)
    assert {c.customer_id for c in everyone} == {ana, bruno}
    assert [c.customer_id for c in by_name] == [bruno]
    assert [c.customer_id for c in by_cpf_digits] == [ana]
    assert nobody == [] and len(page) == 1
    assert partial == [] and [c.customer_id for c in whole] == [ana]
    [found] = by_email
    values = {v.kind: v for v in found.values}
    assert values["cpf"].value == "***.***.***-25"  # masked for this role
    assert values["email"].value == "ana.souza@example.com"
    assert values["phone"].value == "+5511987654321"
    assert values["email"].found_by == "validator"
    assert values["email"].source_message_id is not None


@pytest.mark.parametrize("term", [" ab ", "%%%", "a_%", "...."])
def test_search_needs_three_letters_or_digits(channel: Channel, term: str) -> None:
    with (
        db.tenant_transaction(channel.tenant_id) as conn,
        pytest.raises(contacts.SearchTooShort) as caught,
    ):
        contacts.list_contacts(conn, search=term, show_cpf=True)
    assert caught.value.code == "BUSCA_CURTA_DEMAIS"


def _sheet(data: bytes) -> list[tuple[Any, ...]]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    assert book.sheetnames == ["Contatos"]
    return list(book["Contatos"].iter_rows(values_only=True))


@pytest.mark.parametrize(
    ("role", "ana_cpf", "bruno_cpf"),
    [
        ("admin", "529.982.247-25", "111.444.777-35"),
        ("supervisor", "***.***.***-25", "***.***.***-35"),
        ("attendant", "***.***.***-25", "***.***.***-35"),
    ],
)
def test_excel_export_masks_cpf_unless_the_role_may_see_it(
    channel: Channel, role: str, ana_cpf: str, bruno_cpf: str
) -> None:
    ana, bruno = _two_customers(channel)
    out = io.BytesIO()
    count = contacts.export_xlsx(
        channel.tenant_id,
        out,
        role=role,
        context=RequestContext(SUPERVISOR, ip="203.0.113.5"),
    )
    assert count == 2
    header, *data = _sheet(out.getvalue())
    assert header == (
        "Cliente",
        "Nome",
        "CPF",
        "E-mail",
        "Telefone",
        "Endereço",
        "CEP",
        "Atualizado em",
    )
    by_customer = {row[0]: row for row in data}
    assert by_customer[str(ana)][1:7] == (
        None,
        ana_cpf,
        "ana.souza@example.com",
        "+5511987654321",
        None,
        None,
    )
    assert by_customer[str(bruno)][1:7] == (
        "João Conceição",
        bruno_cpf,
        None,
        None,
        "Rua das Flores, 12",
        None,
    )
    assert isinstance(by_customer[str(ana)][7], datetime)
    [event] = rows(
        channel,
        "SELECT actor_id, host(ip) AS ip, details FROM audit_events"
        " WHERE action = 'CONTACTS_EXPORTED'",
    )
    assert event == {
        "actor_id": SUPERVISOR.id,
        "ip": "203.0.113.5",
        "details": {
            "rows": 2,
            "format": "xlsx",
            "cpf_visible": role == "admin",
            "filtered": False,
        },
    }


def test_excel_export_of_a_search(channel: Channel) -> None:
    _, bruno = _two_customers(channel)
    out = io.BytesIO()
    assert (
        contacts.export_xlsx(
            channel.tenant_id,
            out,
            role="admin",
            context=RequestContext(SUPERVISOR),
            search="flores",
        )
        == 1
    )
    _header, *data = _sheet(out.getvalue())
    assert [row[0] for row in data] == [str(bruno)]


def test_empty_export_still_has_its_headers(channel: Channel) -> None:
    out = io.BytesIO()
    assert (
        contacts.export_xlsx(
            channel.tenant_id, out, role="admin", context=RequestContext(SUPERVISOR)
        )
        == 0
    )
    assert _sheet(out.getvalue())[0][0] == "Cliente"


def test_the_llm_step_runs_only_for_likely_names_and_addresses(
    channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_id = say(channel, "oi")
    customer = customer_id(channel)
    decide(channel, customer, granted=True)
    calls: list[str] = []

    def fake_capture(tenant_id: UUID, **kwargs: Any) -> int:
        calls.append(kwargs["text"])
        raise llm.LlmUnavailable()

    from atende.contacts import capture

    monkeypatch.setattr(capture, "capture_with_llm", fake_capture)
    for text in ("preciso da segunda via", "me chamo Ana", "moro na Rua A, 1"):
        assert (
            contacts.capture_names_and_addresses(
                channel.tenant_id,
                customer_id=customer,
                message_id=message_id,
                text=text,
            )
            == 0  # no LLM reachable: nothing, and no error for the customer
        )
    assert calls == ["me chamo Ana", "moro na Rua A, 1"]


# What a spreadsheet program could read as a formula, an error or a command
# if a cell were not literal text.
HOSTILE = ('=HYPERLINK("http://x.example")', "+55 11", "-1+1", "@SUM(1)", "\tx", "\rx")


def test_every_text_cell_of_the_export_is_literal_text(channel: Channel) -> None:
    say(channel, "oi")
    customer = customer_id(channel)
    decide(channel, customer, granted=True)
    values: dict[ContactKind, str] = {
        "name": "=1+1",
        "cpf": "=2+2",
        "email": "=3+3@example.com",
        "phone": "#N/A",
        "address": "@SUM(1)",
        "cep": "#REF!",
    }
    with db.tenant_transaction(channel.tenant_id) as conn:
        contacts.merge(
            conn,
            customer_id=customer,
            message_id=None,
            found=[Found(kind, value, "llm") for kind, value in values.items()]
            + [Found("address", value, "llm") for value in HOSTILE],
        )
    out = io.BytesIO()
    assert (
        contacts.export_xlsx(
            channel.tenant_id, out, role="admin", context=RequestContext(SUPERVISOR)
        )
        == 1
    )
    sheet = load_workbook(io.BytesIO(out.getvalue()))["Contatos"]
    cells = {sheet.cell(1, col).value: sheet.cell(2, col) for col in range(1, 8)}
    assert {header: cell.data_type for header, cell in cells.items()} == dict.fromkeys(
        ("Cliente", "Nome", "CPF", "E-mail", "Telefone", "Endereço", "CEP"), "s"
    )
    assert cells["CPF"].value == "=2+2"
    assert cells["E-mail"].value == "=3+3@example.com"
    assert cells["Telefone"].value == "#N/A"
    assert cells["CEP"].value == "#REF!"
    assert cells["Nome"].value == "=1+1"
    assert set(excel_text(cells["Endereço"].value).split("; ")) == {"@SUM(1)", *HOSTILE}
