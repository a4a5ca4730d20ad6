"""The Graph API's media calls, part of :class:`~atende.whatsapp.graph.GraphClient`:
a received file's URL and bytes, and uploading, sending and deleting ours.

Meta's shapes: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import httpx

from atende.errors import InvalidInput
from atende.whatsapp.graph._responses import _json_object, _unexpected
from atende.whatsapp.graph.limits import (
    MAX_MEDIA_CAPTION,
    UNCHECKED,
    LastInbound,
    _check_text,
)
from atende.whatsapp.graph.values import MediaInfo, Recipient, SentMessage

__all__ = ["MediaCalls"]

# Where Meta serves media downloads (the token is sent there).
_MEDIA_HOSTS: Final = ("fbsbx.com", "facebook.com", "whatsapp.net")


class MediaCalls:
    """Mixed into the client, whose calls (retries, breaker, token) it uses."""

    base_url: str
    api_version: str
    phone_number_id: str

    if TYPE_CHECKING:

        def _request(
            self,
            method: str,
            url: str,
            payload: Mapping[str, Any] | None,
            *,
            operation: str,
            paced: bool = True,
            form: Mapping[str, str] | None = None,
            files: Mapping[str, tuple[str, bytes, str]] | None = None,
        ) -> tuple[httpx.Response, int]: ...

        def _send(
            self,
            to: Recipient | str,
            message_type: str,
            content: dict[str, Any],
            *,
            reply_to: str | None,
            last_inbound_at: LastInbound,
        ) -> SentMessage: ...

    def get_media(self, media_id: str) -> MediaInfo:
        """The (short-lived) download URL and metadata of a received media."""
        if not media_id or "/" in media_id:
            raise InvalidInput("Identificador de mídia inválido.")
        response, _ = self._request(
            "GET",
            f"{self.base_url}/{self.api_version}/{media_id}",
            None,
            operation="get_media",
            paced=False,
        )
        data = _json_object(response)
        url = data.get("url")
        if not isinstance(url, str):
            raise _unexpected(response)
        size = data.get("file_size")
        return MediaInfo(
            id=str(data.get("id", media_id)),
            url=url,
            mime_type=data.get("mime_type"),
            sha256=data.get("sha256"),
            file_size=int(size) if size is not None else None,
        )

    def download_media(self, url: str) -> bytes:
        """The bytes behind a URL from :meth:`get_media` (needs the token too).

        The token only goes to Meta's media hosts or the configured base URL.
        """
        host = httpx.URL(url).host
        trusted = host == httpx.URL(self.base_url).host or any(
            host == domain or host.endswith(f".{domain}") for domain in _MEDIA_HOSTS
        )
        if not trusted:
            raise InvalidInput("Endereço de mídia fora dos domínios do WhatsApp.")
        response, _ = self._request(
            "GET", url, None, operation="download_media", paced=False
        )
        return response.content

    def upload_media(self, data: bytes, mime_type: str, filename: str) -> str:
        """Upload a file for sending (``POST /{phone-number-id}/media``,
        multipart); returns Meta's media id."""
        if not data or not mime_type:
            raise InvalidInput("Informe o arquivo e o seu tipo.")
        response, _ = self._request(
            "POST",
            f"{self.base_url}/{self.api_version}/{self.phone_number_id}/media",
            None,
            operation="upload_media",
            paced=False,
            form={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, data, mime_type)},
        )
        media_id = _json_object(response).get("id")
        if not isinstance(media_id, str) or not media_id:
            raise _unexpected(response)
        return media_id

    def delete_media(self, media_id: str) -> None:
        """Forget an uploaded file (one whose message was never sent)."""
        if not media_id or "/" in media_id:
            raise InvalidInput("Identificador de mídia inválido.")
        self._request(
            "DELETE",
            f"{self.base_url}/{self.api_version}/{media_id}",
            None,
            operation="delete_media",
            paced=False,
        )

    def send_media(
        self,
        to: Recipient | str,
        kind: str,
        media_id: str,
        *,
        caption: str | None = None,
        filename: str | None = None,
        last_inbound_at: LastInbound = UNCHECKED,
    ) -> SentMessage:
        """An uploaded image, document or audio (free-form: inside the window)."""
        if kind not in ("image", "document", "audio", "video"):
            raise InvalidInput("Tipo de mídia inválido.")
        content: dict[str, Any] = {"id": media_id}
        if caption and kind != "audio":  # Meta takes no caption on audio
            _check_text(caption, MAX_MEDIA_CAPTION, "A legenda")
            content["caption"] = caption
        if filename and kind == "document":
            content["filename"] = filename
        return self._send(
            to,
            kind,
            {kind: content},
            reply_to=None,
            last_inbound_at=last_inbound_at,
        )
