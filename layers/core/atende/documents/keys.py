"""Where a document's files live under its tenant's prefix, and their purge."""

from __future__ import annotations

from uuid import UUID

from atende import storage


def _prefix(tenant_id: UUID | str, document_id: UUID | str) -> str:
    return f"tenants/{tenant_id}/documents/{document_id}/"


def source_key(tenant_id: UUID | str, document_id: UUID | str) -> str:
    return _prefix(tenant_id, document_id) + "source.pdf.enc"


def page_key(tenant_id: UUID | str, document_id: UUID | str, index: int) -> str:
    return _prefix(tenant_id, document_id) + f"pages/{index:04d}.txt.enc"


def result_key(tenant_id: UUID | str, document_id: UUID | str) -> str:
    return _prefix(tenant_id, document_id) + "result.json.enc"


def purge_inputs(tenant_id: UUID | str, document_id: UUID | str) -> int:
    """Delete the PDF and its page texts (the result stays until its TTL)."""
    return storage.delete_under(
        _prefix(tenant_id, document_id),
        keep=frozenset({result_key(tenant_id, document_id)}),
    )
