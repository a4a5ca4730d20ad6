"""The contacts spreadsheet: rows stream to the file (XlsxWriter in constant
memory mode), so memory stays flat however many customers there are."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO

from atende.observability import SAO_PAULO
from atende.spreadsheets import write_table
from atende.validators import mask_cpf

if TYPE_CHECKING:
    from atende.contacts.search import ContactRow

HEADERS = (
    "Cliente",
    "Nome",
    "CPF",
    "E-mail",
    "Telefone",
    "Endereço",
    "CEP",
    "Atualizado em",
)


def _masked_cpfs(value: str | None) -> str | None:
    return None if value is None else "; ".join(map(mask_cpf, value.split("; ")))


def write_contacts_xlsx(
    rows: Iterable[ContactRow], out: BinaryIO, *, show_cpf: bool
) -> int:
    """Write a sheet "Contatos" with PT-BR headers; returns the data rows."""
    return write_table(
        out,
        "Contatos",
        HEADERS,
        (
            (
                str(row.customer_id),
                row.name,
                row.cpf if show_cpf else _masked_cpfs(row.cpf),
                row.email,
                row.phone,
                row.address,
                row.cep,
                # Excel has no time zones: local (São Paulo) time, as the
                # user reads it.
                row.updated_at.astimezone(SAO_PAULO).replace(tzinfo=None),
            )
            for row in rows
        ),
    )
