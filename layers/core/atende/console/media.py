"""Files in the timeline, both ways: opening a customer's media and sending
an image, PDF or voice note.

Opening goes through :func:`atende.whatsapp.media.fetch_message_media` (from
Meta once, stored encrypted, every access audited) after the same check as
reading the conversation. Sending checks the file (type, size, first bytes),
the assignee and the 24-hour window before anything leaves; then uploads it to
Meta, and queues the message with the file stored under its key in one
transaction. Should that transaction fail, the upload is deleted at Meta:
never a message without its file, nor a file without its message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from atende.audit import RequestContext
from atende.console.access import audit, load, may_read
from atende.console.actions import delivered
from atende.console.views import LocationView, MediaView, MessageView
from atende.conversations import store
from atende.conversations.engine import ConversationEngine
from atende.conversations.store import State
from atende.db import Connection, tenant_transaction
from atende.errors import Forbidden, InvalidInput, MediaTooLarge, NotFound
from atende.identity import AttendantPrincipal
from atende.observability import logger
from atende.tenancy import get_tenant, tenant_key
from atende.whatsapp.graph import GraphClient, ensure_within_window
from atende.whatsapp.graph.limits import MAX_MEDIA_CAPTION
from atende.whatsapp.media import (
    MAX_UPLOAD_BYTES,
    MB,
    MediaNotFound,
    check_outbound,
    fetch_message_media,
    served_type,
    store_media,
)

__all__ = [
    "MediaFile",
    "location_view",
    "media_view",
    "open_media",
    "send_media",
]

_MEDIA_KINDS = frozenset({"image", "audio", "video", "document", "sticker"})
_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "application/pdf": "pdf",
    "audio/ogg": "ogg",
}


@dataclass(frozen=True)
class MediaFile:
    """What the API serves: the bytes, their type and a safe file name."""

    data: bytes
    content_type: str
    filename: str
    inline: bool  # images, audio and video play in the page; the rest downloads


def media_view(kind: str, media: Mapping[str, Any] | None) -> MediaView | None:
    """The file of a message, as the timeline shows it."""
    if kind not in _MEDIA_KINDS or not isinstance(media, Mapping):
        return None
    return MediaView(
        kind=kind,
        mime_type=_str(media.get("mime_type")),
        filename=_str(media.get("filename")),
        voice=bool(media.get("voice")),
    )


def location_view(location: Mapping[str, Any] | None) -> LocationView | None:
    if not isinstance(location, Mapping):
        return None
    return LocationView(
        latitude=_float(location.get("latitude")),
        longitude=_float(location.get("longitude")),
        name=_str(location.get("name")),
        address=_str(location.get("address")),
    )


def open_media(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    message_id: UUID,
    *,
    engine: ConversationEngine,
    context: RequestContext,
) -> MediaFile:
    """A message's file, for whoever may read its conversation (audited).

    Raises:
        NotFound: no such conversation or message here (another tenant's too).
        Forbidden: the attendant may not read this conversation.
        MediaNotFound: the message carries no file.
        MediaTooLarge: a file over what the API can answer (stored anyway).
    """
    with tenant_transaction(principal.tenant_id) as conn:
        conv = load(conn, conversation_id)
        if not may_read(principal, conv):
            raise Forbidden("Esta conversa está com outro atendente.")
        row = conn.execute(
            "SELECT type, payload->'media' AS media FROM messages"
            " WHERE id = %s AND conversation_id = %s",
            (message_id, conversation_id),
        ).fetchone()
    if row is None:
        raise MediaNotFound()
    stored = fetch_message_media(
        principal.tenant_id, message_id, graph_for=engine.graph, context=context
    )
    if len(stored.data) > MAX_UPLOAD_BYTES:
        # Kept with us, but over what the API can answer (API Gateway and
        # Lambda): a clear refusal rather than the gateway's 502.
        raise MediaTooLarge(
            f"O arquivo passa de {MAX_UPLOAD_BYTES // MB} MB e ainda não pode ser"
            " aberto pelo console."
        )
    media = row["media"] if isinstance(row["media"], Mapping) else {}
    content_type = served_type(stored.mime_type)
    base = content_type.split(";", 1)[0]
    return MediaFile(
        data=stored.data,
        content_type=content_type,
        filename=safe_filename(
            _str(media.get("filename")) or f"{row['type']}-{message_id}", base
        ),
        inline=row["type"] != "document" and base.split("/")[0] in _INLINE,
    )


_INLINE = frozenset({"image", "audio", "video"})


def send_media(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    *,
    data: bytes,
    mime_type: str,
    filename: str | None,
    caption: str | None,
    engine: ConversationEngine,
    context: RequestContext,
) -> MessageView:
    """Send the assignee's file through WhatsApp and return it with its status.

    Raises:
        MediaTypeNotAllowed, MediaTooLarge, MediaContentMismatch: the file.
        InvalidInput: a caption over 1,024 characters.
        Forbidden: the conversation is not assigned to this attendant.
        OutsideCustomerWindow: more than 24 hours after the customer's last
            message (files are free-form messages).
    """
    kind = check_outbound(mime_type, data)
    base = mime_type.split(";", 1)[0].strip().lower()
    caption = (caption or "").strip() or None
    if caption and (kind.kind == "audio" or len(caption) > MAX_MEDIA_CAPTION):
        raise InvalidInput(
            "Áudio não leva legenda."
            if kind.kind == "audio"
            else f"A legenda passa de {MAX_MEDIA_CAPTION} caracteres."
        )
    name = safe_filename(filename or f"arquivo.{_EXTENSIONS[base]}", base)
    with tenant_transaction(principal.tenant_id) as conn:
        phone_number_id = _check_sender(conn, principal, conversation_id, kind.kind)
    graph = engine.graph(phone_number_id)
    media_id = graph.upload_media(data, base, name)
    try:
        with tenant_transaction(principal.tenant_id) as conn:
            # Checked again under the lock: the conversation may have moved
            # while the file was uploading.
            _check_sender(conn, principal, conversation_id, kind.kind, lock=True)
            message_id = store.enqueue_outbound(
                conn,
                conversation_id=conversation_id,
                body=caption or "",
                payload={
                    "media": {
                        "id": media_id,
                        "mime_type": base,
                        "filename": name,
                        "caption": caption,
                        "bytes": len(data),
                    }
                },
                type_=kind.kind,
                attendant_id=principal.attendant_id,
            )
            key = tenant_key(get_tenant(conn))
            store.attach_media(
                conn,
                message_id,
                store_media(principal.tenant_id, message_id, data, key=key),
            )
            audit(
                conn,
                action="ATTENDANT_REPLIED",
                conversation_id=conversation_id,
                context=context,
                details={"message_id": str(message_id), "type": kind.kind},
            )
    except BaseException:
        _forget_upload(graph, media_id)
        raise
    return delivered(
        principal,
        conversation_id,
        message_id,
        type_=kind.kind,
        body=caption,
        engine=engine,
        media=MediaView(kind=kind.kind, mime_type=base, filename=name, voice=False),
    )


def _check_sender(
    conn: Connection,
    principal: AttendantPrincipal,
    conversation_id: UUID,
    kind: str,
    *,
    lock: bool = False,
) -> str:
    """The conversation's business number, once the attendant may send."""
    conv = load(conn, conversation_id, lock=lock)
    if conv["state"] != State.WITH_HUMAN or (
        conv["assigned_attendant_id"] != principal.attendant_id
    ):
        raise Forbidden("Assuma a conversa antes de responder.")
    ensure_within_window(kind, conv["last_inbound_at"], datetime.now(UTC))
    row = conn.execute(
        "SELECT phone_number_id FROM conversations WHERE id = %s", (conversation_id,)
    ).fetchone()
    if row is None:  # pragma: no cover - load() found it in this transaction
        raise NotFound("Conversa não encontrada.")
    return str(row["phone_number_id"] or "")


def _forget_upload(graph: GraphClient, media_id: str) -> None:
    try:
        graph.delete_media(media_id)
    except Exception:  # best effort: Meta drops unused uploads after 30 days
        logger.warning("uploaded media left at Meta", extra={"media_id": media_id})


_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(name: str, mime_type: str) -> str:
    """A name for headers and Meta: ASCII letters, digits, ``._ -``, no path,
    at most 100 characters, with the type's extension."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = _UNSAFE.sub("_", plain.replace("\\", "/").rsplit("/", 1)[-1]).strip(" ._")
    extension = _EXTENSIONS.get(mime_type)
    stem = plain[:100] or "arquivo"
    if extension and not stem.lower().endswith(f".{extension}"):
        stem = f"{stem[: 100 - len(extension) - 1]}.{extension}"
    return stem


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _float(value: object) -> float | None:
    try:
        return float(value) if value is not None else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
