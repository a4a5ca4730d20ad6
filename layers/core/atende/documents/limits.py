"""What one document and one tenant may take of the pipeline.

- **Text.** A page whose text passes :data:`MAX_PAGE_TEXT_CHARS`, or a document
  whose pages together pass :data:`MAX_DOCUMENT_TEXT_CHARS`, fails its job
  with a stable code and a PT-BR message, as the upload caps do. Not truncated:
  a client reads a COMPLETED job as the whole document, and entities missing
  from a cut text would look like entities that aren't there.
- **Running jobs.** A tenant has at most ``DOCUMENT_MAX_RUNNING_PER_TENANT``
  jobs running (RECEIVED or PROCESSING) at once, counted in our database, so
  one tenant's burst leaves the pipeline's room to the others; the tenant over
  its share gets 503 with ``Retry-After``. The slot is taken under a per-tenant
  lock, in the transaction that inserts the job, so concurrent submissions
  cannot overshoot.
"""

from __future__ import annotations

from datetime import timedelta

from atende.config import get_settings
from atende.db import Connection
from atende.errors import InvalidInput, ServiceUnavailable

# The densest printed A4 page holds about 20,000 characters; five times that
# is not a page a person wrote (hidden or generated text).
MAX_PAGE_TEXT_CHARS = 100_000
# 200 pages (the upload cap) of 10,000 characters, a dense contract page twice.
MAX_DOCUMENT_TEXT_CHARS = 2_000_000
# Longer than any real run (retries included): a job still running after this
# was lost (e.g. a crash between its insert and its start) and frees its slot.
RUNNING_JOB_HOLDS_SLOT_AT_MOST = timedelta(hours=1)
# A document is read in seconds; by then a slot is likely free.
TENANT_BUSY_RETRY_AFTER_S = 15


class PageTextTooLong(InvalidInput):
    code = "PAGINA_COM_TEXTO_DEMAIS"
    message = (
        "Uma página do PDF tem texto demais para ser processada. Envie um PDF "
        "com menos texto por página."
    )


class DocumentTextTooLong(InvalidInput):
    code = "DOCUMENTO_COM_TEXTO_DEMAIS"
    message = (
        "O documento tem texto demais para ser processado. Divida o documento e "
        "envie as partes."
    )


class TooManyDocumentsRunning(ServiceUnavailable):
    code = "DOCUMENTOS_EM_PROCESSAMENTO_DEMAIS"
    message = (
        "Sua conta já tem o máximo de documentos em processamento ao mesmo tempo. "
        "Aguarde a conclusão de algum e envie novamente."
    )


def _count(n: int) -> str:
    """``100.000`` (PT-BR thousands separator)."""
    return f"{n:,}".replace(",", ".")


def check_page_text(text: str, index: int) -> None:
    """Refuse a page (0-based ``index``) with more text than a page holds."""
    if len(text) > MAX_PAGE_TEXT_CHARS:
        raise PageTextTooLong(
            f"A página {index + 1} do PDF tem {_count(len(text))} caracteres de "
            f"texto; o limite é {_count(MAX_PAGE_TEXT_CHARS)} por página. Envie "
            "um PDF com menos texto por página.",
            page=index + 1,
            max_chars=MAX_PAGE_TEXT_CHARS,
        )


def check_document_text(total_chars: int) -> None:
    """Refuse a document once its pages' text passes the document's cap."""
    if total_chars > MAX_DOCUMENT_TEXT_CHARS:
        raise DocumentTextTooLong(
            f"O documento tem mais de {_count(MAX_DOCUMENT_TEXT_CHARS)} caracteres "
            "de texto. Divida o documento e envie as partes.",
            max_chars=MAX_DOCUMENT_TEXT_CHARS,
        )


def check_tenant_share(conn: Connection) -> None:
    """Refuse a new job while the tenant in ``conn`` has its share running.

    Raises:
        TooManyDocumentsRunning: 503 with ``Retry-After``.
    """
    share = get_settings().document_max_running_per_tenant
    row = conn.execute(
        "SELECT count(*) AS running FROM documents"
        " WHERE status IN ('RECEIVED', 'PROCESSING') AND created_at > now() - %s",
        (RUNNING_JOB_HOLDS_SLOT_AT_MOST,),
    ).fetchone()
    assert row is not None
    if row["running"] >= share:
        raise TooManyDocumentsRunning(retry_after_s=TENANT_BUSY_RETRY_AFTER_S)


def take_tenant_slot(conn: Connection) -> None:
    """Check the tenant's share under its lock; the caller inserts the job in
    the same transaction, so the lock is held until the slot is visibly taken.
    """
    conn.execute(
        "SELECT pg_advisory_xact_lock("
        "hashtextextended('documents.running:' || current_tenant_id(), 0))"
    )
    check_tenant_share(conn)
