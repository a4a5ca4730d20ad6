"""Access and portability (LGPD art. 18 II and V): everything held about a
customer, as JSON (for machines), XLSX and an HTML page (for people, see
:mod:`atende.lgpd.readable`), delivered by a short-lived one-time link.

Both files are encrypted with the tenant's key under
``tenants/<tenant>/lgpd/exports/<export>/``. The link carries the tenant and a
random secret (only its SHA-256 is stored); each file can be used once, until
the link expires, and is then handed out as a short presigned S3 download (any
size: the file never passes through an API response). A link counts as used
only once its download URL was issued. Creating and delivering are audited,
and the audit trail of who accessed the customer's data is part of the export.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4

from botocore.exceptions import BotoCoreError, ClientError
from psycopg import sql

from atende import lgpd, storage
from atende.audit import Actor, RequestContext, record_event
from atende.config import get_settings
from atende.db import Connection, tenant_transaction
from atende.errors import Conflict, NotFound, ServiceUnavailable
from atende.lgpd.readable import SAO_PAULO, to_html, to_xlsx
from atende.observability import logger
from atende.tenancy import get_tenant, tenant_key

__all__ = [
    "CustomerNotFound",
    "ExportDownload",
    "ExportLink",
    "ExportLinkInvalid",
    "ExportLinkUsed",
    "ExportUnavailable",
    "collect",
    "create_export",
    "delete_export_files",
    "offer_export",
]

PURPOSE = "lgpd.export"
FileName = Literal["dados.json", "dados.xlsx", "dados.html"]
FILES: dict[str, str] = {
    "dados.json": "application/json; charset=utf-8",
    "dados.xlsx": storage.XLSX_TYPE,
    "dados.html": "text/html; charset=utf-8",
}
_DELIVERED = {
    "dados.json": "json_delivered_at",
    "dados.xlsx": "xlsx_delivered_at",
    "dados.html": "html_delivered_at",
}
DOWNLOAD_EXPIRES_S = 300


class CustomerNotFound(NotFound):
    code = "CLIENTE_NAO_ENCONTRADO"
    message = "Cliente não encontrado."


class CustomerErased(Conflict):
    code = "CLIENTE_APAGADO"
    message = "Os dados deste cliente já foram apagados."


class ExportLinkInvalid(NotFound):
    code = "LINK_INVALIDO"
    message = "Este link de download é inválido, expirou ou já foi usado."


class ExportLinkUsed(Conflict):
    """The right link, already used: its download URL was issued before."""

    code = "LINK_JA_USADO"
    message = "Este link de download já foi usado. Peça uma nova cópia dos seus dados."


class ExportUnavailable(ServiceUnavailable):
    code = "EXPORTACAO_INDISPONIVEL"
    message = (
        "Não foi possível preparar o download agora. Tente novamente em instantes:"
        " o link continua válido."
    )


@dataclass(frozen=True)
class ExportLink:
    export_id: UUID
    token: str
    expires_at: datetime

    def url(self, name: FileName, *, base_url: str | None = None) -> str:
        """The public URL of one file of the export (under ``base_url``, else
        PUBLIC_API_URL)."""
        base = (base_url or get_settings().public_api_url).rstrip("/")
        return f"{base}/v1/lgpd/exports/{self.export_id}/{name}?token={self.token}"


@dataclass(frozen=True)
class ExportDownload:
    """One file of an export, as a presigned S3 URL valid ``expires_in`` s."""

    name: str
    url: str
    expires_in: int


def _iso(value: Any) -> Any:
    """Times in São Paulo (with their offset): what the customer lives by."""
    if isinstance(value, datetime):
        return value.astimezone(SAO_PAULO).isoformat()
    return value


def _rows(conn: Connection, query: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {k: _iso(str(v) if isinstance(v, UUID) else v) for k, v in row.items()}
        for row in conn.execute(query, params)
    ]


def collect(conn: Connection, customer_id: UUID) -> dict[str, Any]:
    """Everything held about the customer, in sections with PT-BR names.

    Raises:
        CustomerNotFound: no such customer in this tenant.
        CustomerErased: the customer's data was erased.
    """
    profile = _rows(
        conn,
        "SELECT id, wa_user_id AS whatsapp_id, phone AS telefone,"
        " username AS usuario_whatsapp, display_name AS nome_no_whatsapp,"
        " previous_user_ids AS whatsapp_ids_anteriores, created_at AS criado_em,"
        " updated_at AS atualizado_em, erased_at FROM customers WHERE id = %s",
        (customer_id,),
    )
    if not profile:
        raise CustomerNotFound()
    if profile[0].pop("erased_at") is not None:
        raise CustomerErased()
    conversations = _rows(
        conn,
        "SELECT id, state AS estado, opened_at AS aberta_em, closed_at AS"
        " encerrada_em, close_reason AS motivo_encerramento FROM conversations"
        " WHERE customer_id = %s ORDER BY opened_at",
        (customer_id,),
    )
    conversation_ids = [c["id"] for c in conversations]
    messages = _rows(
        conn,
        "SELECT id, conversation_id AS conversa_id, direction AS direcao,"
        " type AS tipo, body AS texto, status, created_at AS criada_em"
        " FROM messages WHERE conversation_id = ANY(%s::uuid[])"
        " ORDER BY created_at, id",
        (conversation_ids,),
    )
    documents = _rows(
        conn,
        "SELECT id AS mensagem_id, type AS tipo,"
        " payload->'media'->>'mime_type' AS tipo_de_arquivo,"
        " payload->'media'->>'filename' AS nome_do_arquivo,"
        " media_ref LIKE 'tenants/%%' AS guardado_conosco, created_at AS recebido_em"
        " FROM messages WHERE conversation_id = ANY(%s::uuid[])"
        " AND media_ref IS NOT NULL ORDER BY created_at",
        (conversation_ids,),
    )
    message_ids = [m["id"] for m in messages]
    return {
        "gerado_em": _iso(datetime.now(UTC)),
        "perfil": profile[0],
        "consentimentos": _rows(
            conn,
            "SELECT purpose AS finalidade, granted AS autorizado, withdrawal AS"
            " revogacao, text_version AS versao_do_texto, source AS origem,"
            " recorded_at AS registrado_em FROM consents WHERE customer_id = %s"
            " ORDER BY recorded_at",
            (customer_id,),
        ),
        "conversas": conversations,
        "mensagens": messages,
        "contatos": _rows(
            conn,
            "SELECT kind AS tipo, value AS valor, found_by AS encontrado_por,"
            " source_message_id AS mensagem_de_origem, first_seen_at AS"
            " visto_primeiro_em, last_seen_at AS visto_por_ultimo_em"
            " FROM contacts WHERE customer_id = %s ORDER BY kind, first_seen_at",
            (customer_id,),
        ),
        "documentos": documents,
        "solicitacoes_lgpd": _rows(
            conn,
            "SELECT id, kind AS tipo, status, requested_at AS solicitado_em,"
            " resolved_at AS concluido_em FROM lgpd_requests WHERE customer_id = %s"
            " ORDER BY requested_at",
            (customer_id,),
        ),
        # Who did what with this customer's data: events about the customer,
        # their conversations and their messages. Not the staff's IPs: those
        # are the employees' data; the business keeps them in its audit trail.
        "registro_de_acessos": _rows(
            conn,
            "SELECT occurred_at AS quando, action AS acao, subject_type AS sobre,"
            " subject_id AS sobre_id, actor_type AS quem_tipo, actor_id AS quem_id"
            " FROM audit_events"
            " WHERE (subject_type = 'customer' AND subject_id = %s)"
            " OR (subject_type = 'conversation' AND subject_id = ANY(%s))"
            " OR (subject_type = 'message' AND subject_id = ANY(%s))"
            " ORDER BY occurred_at, id",
            (str(customer_id), conversation_ids, message_ids),
        ),
    }


def _prefix(tenant_id: UUID, export_id: UUID) -> str:
    return f"{storage.tenant_prefix(tenant_id)}lgpd/exports/{export_id}/"


def _key(tenant_id: UUID, export_id: UUID, name: str) -> str:
    return f"{_prefix(tenant_id, export_id)}{name}.enc"


def delete_export_files(tenant_id: UUID, export_ids: Iterable[UUID]) -> int:
    """Delete the exports' files and download copies (keys from our ids);
    returns how many objects went."""
    return sum(storage.delete_under(_prefix(tenant_id, e)) for e in export_ids)


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def create_export(
    tenant_id: UUID,
    customer_id: UUID,
    *,
    context: RequestContext,
) -> ExportLink:
    """Build, encrypt and store the customer's export; closes an open access
    request. Returns the one-time link (shown once, never stored).

    Raises:
        CustomerNotFound: no such customer in this tenant.
        CustomerErased: the customer's data was erased.
    """
    with tenant_transaction(tenant_id) as conn:
        data = collect(conn, customer_id)
        tenant = get_tenant(conn)
        key = tenant_key(tenant)
    export_id = uuid4()
    sealed_for = {"export_id": str(export_id)}
    files = {
        "dados.json": json.dumps(data, ensure_ascii=False, indent=2).encode(),
        "dados.xlsx": to_xlsx(data),
        "dados.html": to_html(data, business=tenant.name),
    }
    for name, content in files.items():
        storage.put(
            key,
            _key(tenant_id, export_id, name),
            content,
            purpose=PURPOSE,
            context=sealed_for,
        )
    secret = secrets.token_urlsafe(32)
    ttl = timedelta(minutes=get_settings().lgpd_export_link_ttl_min)
    with tenant_transaction(tenant_id) as conn:
        lgpd_request = lgpd.close_request(
            conn, customer_id=customer_id, kind="access", context=context
        )
        row = conn.execute(
            "INSERT INTO lgpd_exports (tenant_id, id, customer_id, request_id,"
            " json_key, xlsx_key, token_hash, created_by_type, created_by_id,"
            " expires_at) VALUES (current_tenant_id(), %s, %s, %s, %s, %s, %s, %s,"
            " %s, now() + %s) RETURNING expires_at",
            (
                export_id,
                customer_id,
                lgpd_request,
                _key(tenant_id, export_id, "dados.json"),
                _key(tenant_id, export_id, "dados.xlsx"),
                _hash(secret),
                context.actor.type,
                context.actor.id,
                ttl,
            ),
        ).fetchone()
        assert row is not None
        record_event(
            conn,
            action="LGPD_EXPORT_CREATED",
            subject_type="customer",
            subject_id=str(customer_id),
            context=context,
            details={
                "export_id": str(export_id),
                "lgpd_request_id": str(lgpd_request) if lgpd_request else None,
                "messages": len(data["mensagens"]),
                "contacts": len(data["contatos"]),
            },
        )
    return ExportLink(
        export_id=export_id, token=f"{tenant_id}.{secret}", expires_at=row["expires_at"]
    )


def offer_export(
    export_id: UUID,
    name: str,
    token: str | None,
    *,
    ip: str | None = None,
    expires_in: int = DOWNLOAD_EXPIRES_S,
) -> ExportDownload:
    """One file of an export as a short presigned download, once, before the
    link expires (audited).

    The export's row stays locked from the check until the URL is issued and
    recorded, so concurrent uses of a link issue one URL; a failure before
    that (object missing, S3 or KMS error) rolls back and the link stays usable.

    Raises:
        ExportLinkInvalid: malformed, wrong or expired link.
        ExportLinkUsed: the link's download URL for this file was issued before.
        ExportUnavailable: S3 failed before the URL was issued.
        DecryptionRefused: KMS refused the tenant's key (the link stays usable).
    """
    tenant_part, _, secret = (token or "").partition(".")
    if name not in FILES or not secret:
        raise ExportLinkInvalid()
    try:
        tenant_id = UUID(tenant_part)
    except ValueError as exc:
        raise ExportLinkInvalid() from exc
    delivered_column = sql.Identifier(_DELIVERED[name])
    with tenant_transaction(tenant_id) as conn:
        row = conn.execute(
            sql.SQL(
                "SELECT customer_id, token_hash, expires_at > now() AS live,"
                " {delivered} AS delivered_at FROM lgpd_exports WHERE id = %s"
                " FOR UPDATE"
            ).format(delivered=delivered_column),
            (export_id,),
        ).fetchone()
        if (
            row is None
            or not hmac.compare_digest(bytes(row["token_hash"]), _hash(secret))
            or not row["live"]
        ):
            raise ExportLinkInvalid()
        if row["delivered_at"] is not None:
            raise ExportLinkUsed()
        key = tenant_key(get_tenant(conn))
        try:
            data = storage.get(
                key,
                _key(tenant_id, export_id, name),
                purpose=PURPOSE,
                context={"export_id": str(export_id)},
            )
            url = storage.offer_download(
                key,
                f"{_prefix(tenant_id, export_id)}download/{name}",
                data,
                filename=name,
                content_type=FILES[name],
                expires_s=expires_in,
                # The page opens in the browser; the files are saved.
                inline=name == "dados.html",
            )
        except (BotoCoreError, ClientError) as exc:
            logger.exception("LGPD export download could not be prepared")
            raise ExportUnavailable() from exc
        conn.execute(
            sql.SQL("UPDATE lgpd_exports SET {delivered} = now() WHERE id = %s").format(
                delivered=delivered_column
            ),
            (export_id,),
        )
        record_event(
            conn,
            action="LGPD_EXPORT_DELIVERED",
            subject_type="customer",
            subject_id=str(row["customer_id"]),
            context=RequestContext(
                Actor("customer", str(row["customer_id"])), None, ip
            ),
            details={"export_id": str(export_id), "file": name},
        )
    return ExportDownload(name=name, url=url, expires_in=expires_in)
