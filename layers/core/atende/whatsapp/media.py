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
from atende.db import tenant_transaction
from atende.errors import NotFound
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
