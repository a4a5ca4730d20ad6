"""The contacts spreadsheet of a whole tenant: built once, delivered by a short
presigned URL, audited."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import BinaryIO
from uuid import UUID, uuid4

from atende import storage
from atende.audit import RequestContext, record_event
from atende.contacts.search import cpf_visible_to, iter_contact_rows
from atende.contacts.spreadsheet import write_contacts_xlsx
from atende.db import tenant_transaction
from atende.tenancy import get_tenant, tenant_key


@dataclass(frozen=True)
class OfferedExport:
    url: str
    rows: int
    expires_in: int


def offer_xlsx(
    tenant_id: UUID,
    *,
    role: str,
    context: RequestContext,
    search: str | None = None,
    expires_in: int = 300,
) -> OfferedExport:
    """The contacts spreadsheet as a short presigned download (audited).

    Any size: the file goes from S3 to the browser, not through the API.
    """
    out = io.BytesIO()
    rows = export_xlsx(
        tenant_id,
        out,
        role=role,
        context=context,
        search=search,
    )
    with tenant_transaction(tenant_id) as conn:
        key = tenant_key(get_tenant(conn))
    url = storage.offer_download(
        key,
        f"tenants/{tenant_id}/exports/contacts/{uuid4()}.xlsx",
        out.getvalue(),
        filename="contatos.xlsx",
        expires_s=expires_in,
    )
    return OfferedExport(url=url, rows=rows, expires_in=expires_in)


def export_xlsx(
    tenant_id: UUID,
    out: BinaryIO,
    *,
    role: str,
    context: RequestContext,
    search: str | None = None,
) -> int:
    """Write the tenant's contacts as XLSX to ``out`` (audited); returns rows."""
    show_cpf = cpf_visible_to(role)
    with tenant_transaction(tenant_id) as conn:
        rows = write_contacts_xlsx(
            iter_contact_rows(conn, search=search, show_cpf=show_cpf),
            out,
            show_cpf=show_cpf,
        )
        record_event(
            conn,
            action="CONTACTS_EXPORTED",
            subject_type="contacts",
            subject_id=None,
            context=context,
            details={
                "rows": rows,
                "format": "xlsx",
                "cpf_visible": show_cpf,
                "filtered": search is not None,
            },
        )
    return rows
