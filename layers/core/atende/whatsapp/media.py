"""Customer media (images, audio, documents) fetched from the Graph API into the
tenant's encrypted S3 prefix, when someone needs it (an attendant opening it).

Meta keeps media for a limited time and its URLs expire in minutes, so the
bytes are fetched on demand, encrypted with the tenant's key, stored once and
served from S3 afterwards. Every fetch is audited: media is personal data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from atende import storage
from atende.audit import RequestContext, record_event
from atende.crypto import TenantKey
from atende.db import tenant_transaction
from atende.errors import (
    MediaContentMismatch,
    MediaTooLarge,
    MediaTypeNotAllowed,
    NotFound,
)
from atende.tenancy import get_tenant, tenant_key
from atende.whatsapp.graph import GraphClient

PURPOSE = "whatsapp.media"


class MediaNotFound(NotFound):
    code = "MIDIA_NAO_ENCONTRADA"
    message = "Mídia não encontrada nesta conversa."


@dataclass(frozen=True)
class StoredMedia:
    s3_key: str
    mime_type: str
    data: bytes


def media_key(tenant_id: UUID | str, message_id: UUID | str) -> str:
    """Where a message's media is stored: built from our own ids, never from
    what the message or its row says."""
    return f"{storage.tenant_prefix(tenant_id)}media/{UUID(str(message_id))}.enc"


def stored_media_keys(
    tenant_id: UUID | str, message_id: UUID | str, media_ref: str
) -> list[str]:
    """The keys a message's media may be stored at, for deleting it: its own
    key and, for media stored before keys were by message id, the key its row
    points at (``storage.delete`` refuses it unless it is the tenant's)."""
    key = media_key(tenant_id, message_id)
    legacy = media_ref.startswith("tenants/") and media_ref != key
    return [key, media_ref] if legacy else [key]


def fetch_message_media(
    tenant_id: UUID | str,
    message_id: UUID,
    *,
    graph_for: Callable[[str], GraphClient],
    context: RequestContext,
) -> StoredMedia:
    """The media of an inbound message, from S3 or fetched from Meta once.

    Raises:
        MediaNotFound: no such message for this tenant, or it has no media.
        GraphApiError: Meta refused or no longer has the media.
    """
    with tenant_transaction(tenant_id) as conn:
        row = conn.execute(
            "SELECT m.media_ref, m.payload->'media'->>'id' AS media_id,"
            " m.payload->'media'->>'mime_type' AS mime_type,"
            " c.phone_number_id FROM messages m"
            " JOIN conversations c ON c.id = m.conversation_id WHERE m.id = %s",
            (message_id,),
        ).fetchone()
        if row is None or not row["media_ref"]:
            raise MediaNotFound()
        key = tenant_key(get_tenant(conn))
    media_ref: str = row["media_ref"]
    s3_key = media_key(tenant_id, message_id)
    mime_type = row["mime_type"] or "application/octet-stream"
    if media_ref == s3_key:
        data = storage.get(
            key, s3_key, purpose=PURPOSE, context={"message_id": str(message_id)}
        )
    else:
        # Not stored yet, the row holds Meta's media id; a row still pointing
        # at a key of the older layout finds the id in the payload.
        media_id = row["media_id"] if media_ref.startswith("tenants/") else media_ref
        if not media_id:
            raise MediaNotFound()
        graph = graph_for(row["phone_number_id"] or "")
        info = graph.get_media(media_id)
        data = graph.download_media(info.url)
        mime_type = info.mime_type or mime_type
        storage.put(
            key, s3_key, data, purpose=PURPOSE, context={"message_id": str(message_id)}
        )
    with tenant_transaction(tenant_id) as conn:
        conn.execute(
            "UPDATE messages SET media_ref = %s, updated_at = now() WHERE id = %s",
            (s3_key, message_id),
        )
        record_event(
            conn,
            action="MEDIA_ACCESSED",
            subject_type="message",
            subject_id=str(message_id),
            context=context,
            details={"mime_type": mime_type, "bytes": len(data)},
        )
    return StoredMedia(s3_key=s3_key, mime_type=mime_type, data=data)


# -- sending ----------------------------------------------------------------

MB = 1024 * 1024
# API Gateway passes a binary body to and from Lambda base64-encoded, inside
# Lambda's 6 MB synchronous payload: about 4.4 MB of file. Our cap both ways,
# under WhatsApp's own (image 5 MB, document 100 MB, audio 16 MB), until files
# go through S3 with presigned URLs.
MAX_UPLOAD_BYTES = 4 * MB


@dataclass(frozen=True)
class OutboundKind:
    """What WhatsApp calls a media type, its size limit and how to recognise
    the file by its first bytes."""

    kind: str  # the message type: image, document, audio
    whatsapp_limit: int
    label: str  # in the PT-BR error messages

    @property
    def limit(self) -> int:
        return min(self.whatsapp_limit, MAX_UPLOAD_BYTES)


OUTBOUND_TYPES: dict[str, OutboundKind] = {
    "image/jpeg": OutboundKind("image", 5 * MB, "imagem"),
    "image/png": OutboundKind("image", 5 * MB, "imagem"),
    "application/pdf": OutboundKind("document", 100 * MB, "PDF"),
    # Meta takes voice notes only as audio/ogg with the Opus codec.
    "audio/ogg": OutboundKind("audio", 16 * MB, "áudio"),
}


def sniff(data: bytes) -> str | None:
    """The MIME type the bytes are, whatever the sender declared."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    # An Ogg stream whose first page carries the Opus header: Ogg Vorbis,
    # which browsers also record as audio/ogg, is refused by Meta.
    if data.startswith(b"OggS") and b"OpusHead" in data[:64]:
        return "audio/ogg"
    return None


def check_outbound(declared: str, data: bytes) -> OutboundKind:
    """The kind of a file an attendant sends, once its type, size and first
    bytes agree.

    Raises:
        MediaTypeNotAllowed: a type WhatsApp (or we) won't send.
        MediaTooLarge: over the type's limit (or empty).
        MediaContentMismatch: the bytes are not what the type says.
    """
    base = declared.split(";", 1)[0].strip().lower()
    found = OUTBOUND_TYPES.get(base)
    if found is None:
        raise MediaTypeNotAllowed()
    if not data:
        raise MediaTooLarge("O arquivo está vazio.")
    if len(data) > found.limit:
        raise MediaTooLarge(
            f"O arquivo ({found.label}) passa de {found.limit // MB} MB,"
            " o limite para envio pelo console."
        )
    if sniff(data) != base:
        raise MediaContentMismatch(
            "O conteúdo do arquivo não corresponde ao tipo informado"
            f" ({found.label}). Áudio deve ser OGG com Opus."
            if base == "audio/ogg"
            else "O conteúdo do arquivo não corresponde ao tipo informado"
            f" ({found.label})."
        )
    return found


def store_media(
    tenant_id: UUID | str, message_id: UUID | str, data: bytes, *, key: TenantKey
) -> str:
    """Keep an outbound file under the message's key, encrypted with the
    tenant's ``key``, so the history, the export and the erasure find it."""
    s3_key = media_key(tenant_id, message_id)
    storage.put(
        key, s3_key, data, purpose=PURPOSE, context={"message_id": str(message_id)}
    )
    return s3_key


# Served as themselves; anything else a customer sends goes out as a download
# (application/octet-stream), never rendered by the browser.
SERVED_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "audio/ogg",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/amr",
        "video/mp4",
        "video/3gpp",
        "application/pdf",
    }
)


def served_type(mime_type: str) -> str:
    """The Content-Type to serve stored media with."""
    base = mime_type.split(";", 1)[0].strip().lower()
    return mime_type if base in SERVED_TYPES else "application/octet-stream"
