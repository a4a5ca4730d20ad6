"""Media both ways in the console's API: the customer's files shown (from Meta
once, stored encrypted, audited, another tenant's invisible) and the
attendant's images, PDFs and voice notes sent (types, sizes and first bytes
checked, the 24-hour window, nothing half-sent, erased with the customer).

Real PostgreSQL, moto (Cognito, S3, KMS), the Graph API stand-in, the Chalice
app through its test client.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote
from uuid import UUID

import pytest
from chalice.test import Client

from atende import aws, db, tenancy
from atende.audit import Actor, RequestContext
from atende.config import get_settings
from atende.conversations.handoff import handoff_to_human
from atende.lgpd import access, erasure
from atende.whatsapp.media import media_key
from infra.pipeline_local import create_bucket
from tests.support.channel import (
    Channel,
    api_app,
    drain,
    fixture,
    post_webhook,
    signed,
    text_update,
)
from tests.support.identity import IdentityPool, SignedIn, call_api, call_app

pytestmark = pytest.mark.integration

MB = 1024 * 1024
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
OPUS = b"OggS\x00\x02" + b"\x00" * 22 + b"OpusHead\x01\x01" + b"\x00" * 100
VORBIS = b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis" + b"\x00" * 100


def _claimed(ch: Channel, pool: IdentityPool) -> tuple[UUID, SignedIn]:
    """Maria writes, the bot hands off, Ana claims."""
    create_bucket(get_settings().documents_bucket)
    post_webhook(*signed(text_update("quero um atendente", wamid="wamid.M1")))
    drain(ch)
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute("SELECT id FROM conversations").fetchone()
    assert row is not None
    conversation_id = UUID(str(row["id"]))
    assert handoff_to_human(
        ch.tenant_id, conversation_id, reason="pedido_do_cliente", summary=None
    )
    ana = pool.attendant(ch.tenant_id)
    path = f"/v1/console/conversations/{conversation_id}/claim"
    assert call_api("post", path, ana)[0] == 200
    return conversation_id, ana


def _send(
    conversation_id: UUID,
    who: SignedIn,
    data: bytes,
    content_type: str,
    *,
    filename: str = "",
    caption: str = "",
) -> tuple[int, dict[str, Any]]:
    query = f"?filename={quote(filename)}&caption={quote(caption)}"
    with Client(api_app()) as client:
        response = client.http.post(
            f"/v1/console/conversations/{conversation_id}/media{query}",
            headers={**who.headers, "Content-Type": content_type},
            body=data,
        )
    return response.status_code, json.loads(response.body or b"{}")


def _media_path(conversation_id: UUID, message_id: str) -> str:
    return f"/v1/console/conversations/{conversation_id}/messages/{message_id}/media"


def _uploads(ch: Channel) -> list[dict[str, Any]]:
    return [
        r
        for r in ch.graph.requests()
        if r["method"] == "POST" and r["path"].endswith("/media")
    ]


def _outbound_media_rows(ch: Channel) -> list[dict[str, Any]]:
    with db.tenant_transaction(ch.tenant_id) as conn:
        return conn.execute(
            "SELECT id, type, status, media_ref, payload FROM messages"
            " WHERE direction = 'outbound' AND type IN ('image', 'document', 'audio')"
        ).fetchall()


def test_an_attendants_pdf_reaches_the_customer_and_stays_in_the_timeline(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _claimed(channel, identity_pool)
    status, message = _send(
        conversation_id,
        ana,
        PDF,
        "application/pdf",
        filename="Boleto de março.pdf",
        caption="Segue o boleto",
    )
    assert status == 201, message
    assert (message["type"], message["status"]) == ("document", "sent")
    assert message["media"] == {
        "kind": "document",
        "mime_type": "application/pdf",
        "filename": "Boleto de marco.pdf",
        "voice": False,
    }
    # Uploaded to Meta as a multipart form, then sent by its media id.
    [upload] = _uploads(channel)
    assert upload["body"]["messaging_product"] == "whatsapp"
    assert upload["body"]["type"] == "application/pdf"
    assert upload["body"]["file_size"] == len(PDF)
    assert upload["headers"]["content-type"].startswith("multipart/form-data")
    sent = channel.sent()[-1]
    assert sent["type"] == "document"
    assert sent["document"]["filename"] == "Boleto de marco.pdf"
    assert sent["document"]["caption"] == "Segue o boleto"
    media_id = sent["document"]["id"]
    info = channel.graph._media_for(media_id)
    assert info == (PDF, "application/pdf")  # the customer gets our bytes

    # Stored with us, encrypted, under the message's key.
    key = media_key(channel.tenant_id, message["id"])
    stored = (
        aws.client("s3")
        .get_object(Bucket=get_settings().documents_bucket, Key=key)["Body"]
        .read()
    )
    assert b"%PDF" not in stored
    status, data, headers = call_app(
        "get", _media_path(conversation_id, message["id"]), ana, accept="*/*"
    )
    assert status == 200 and data == PDF
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"] == (
        'attachment; filename="Boleto de marco.pdf"'
    )
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"

    detail = call_api("get", f"/v1/console/conversations/{conversation_id}", ana)[1]
    last = detail["messages"][-1]
    assert (last["type"], last["body"], last["media"]["filename"]) == (
        "document",
        "Segue o boleto",
        "Boleto de marco.pdf",
    )


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"GIF89a" + b"\x00" * 50, "image/gif", 415, "TIPO_DE_MIDIA_NAO_ACEITO"),
        (b"<html></html>", "text/html", 415, "TIPO_DE_MIDIA_NAO_ACEITO"),
        (JPEG, "image/png", 415, "MIDIA_NAO_CONFERE"),
        (b"MZ\x90\x00 not a pdf", "application/pdf", 415, "MIDIA_NAO_CONFERE"),
        (VORBIS, "audio/ogg", 415, "MIDIA_NAO_CONFERE"),
        (JPEG + b"\x00" * (4 * MB), "image/jpeg", 413, "MIDIA_GRANDE_DEMAIS"),
        (b"", "image/jpeg", 413, "MIDIA_GRANDE_DEMAIS"),
    ],
)
def test_bad_files_get_a_stable_code_and_nothing_leaves(
    channel: Channel,
    identity_pool: IdentityPool,
    data: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    conversation_id, ana = _claimed(channel, identity_pool)
    before = len(channel.sent())
    got, body = _send(conversation_id, ana, data, content_type)
    assert (got, body["error"]["code"]) == (status, code)
    assert body["error"]["message"]
    assert _uploads(channel) == []
    assert len(channel.sent()) == before
    assert _outbound_media_rows(channel) == []


def test_a_voice_note_goes_as_ogg_opus_without_caption(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _claimed(channel, identity_pool)
    status, body = _send(conversation_id, ana, OPUS, "audio/ogg", caption="oi")
    assert status == 400 and body["error"]["code"] == "ENTRADA_INVALIDA"
    status, message = _send(conversation_id, ana, OPUS, "audio/ogg; codecs=opus")
    assert status == 201 and message["type"] == "audio"
    [upload] = _uploads(channel)
    assert upload["body"]["type"] == "audio/ogg"  # what Meta accepts
    assert channel.sent()[-1]["audio"] == {"id": channel.sent()[-1]["audio"]["id"]}


def test_outside_the_window_and_for_others_nothing_is_uploaded(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _claimed(channel, identity_pool)
    bia = identity_pool.attendant(channel.tenant_id)
    status, body = _send(conversation_id, bia, PNG, "image/png")
    assert status == 403 and body["error"]["code"] == "ACESSO_NEGADO"
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute(
            "UPDATE conversations SET last_inbound_at = now() - interval '25 hours'"
        )
    status, body = _send(conversation_id, ana, PNG, "image/png")
    assert status == 409 and body["error"]["code"] == "JANELA_24H_ENCERRADA"
    assert _uploads(channel) == []
    assert _outbound_media_rows(channel) == []


def test_a_file_that_cannot_be_stored_is_withdrawn_from_meta(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _claimed(channel, identity_pool)
    s3 = aws.client("s3")
    s3.delete_bucket(Bucket=get_settings().documents_bucket)  # S3 fails
    status, body = _send(conversation_id, ana, PNG, "image/png")
    assert (status, body["error"]["code"]) == (500, "ERRO_INTERNO")
    [upload] = _uploads(channel)
    deleted = [r for r in channel.graph.requests() if r["method"] == "DELETE"]
    assert len(deleted) == 1 and deleted[0]["response_status"] == 200
    assert _outbound_media_rows(channel) == []  # no message without its file
    assert not any(s.get("type") == "image" for s in channel.sent())
    assert upload["body"]["file_size"] == len(PNG)


def _inbound_image(ch: Channel) -> tuple[UUID, str, str]:
    payload = fixture("image")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["timestamp"] = str(int(time.time()))
    media_id = message["image"]["id"]
    ch.graph.add_media(media_id, JPEG, "image/jpeg")
    post_webhook(*signed(payload))
    drain(ch)
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute(
            "SELECT id, conversation_id FROM messages WHERE type = 'image'"
        ).fetchone()
    assert row is not None
    return UUID(str(row["conversation_id"])), str(row["id"]), media_id


def test_a_customers_image_is_fetched_once_audited_and_only_for_its_tenant(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _claimed(channel, identity_pool)
    conversation, message_id, media_id = _inbound_image(channel)
    assert conversation == conversation_id
    detail = call_api("get", f"/v1/console/conversations/{conversation_id}", ana)[1]
    shown = next(m for m in detail["messages"] if m["id"] == message_id)
    assert shown["media"] == {
        "kind": "image",
        "mime_type": "image/jpeg",
        "filename": None,
        "voice": False,
    }
    assert shown["body"] == "Segue a foto do comprovante"

    path = _media_path(conversation_id, message_id)
    for _ in range(2):
        status, data, headers = call_app("get", path, ana, accept="*/*")
        assert status == 200 and data == JPEG
        assert headers["content-type"] == "image/jpeg"
        assert headers["content-disposition"].startswith("inline;")
        assert headers["cache-control"] == "no-store"
    lookups = [r for r in channel.graph.requests() if r["path"].endswith(media_id)]
    assert len(lookups) == 1  # from Meta once, then our encrypted copy
    with db.tenant_transaction(channel.tenant_id) as conn:
        audits = conn.execute(
            "SELECT actor_id FROM audit_events WHERE action = 'MEDIA_ACCESSED'"
            " AND subject_id = %s",
            (message_id,),
        ).fetchall()
    assert [a["actor_id"] for a in audits] == [str(ana.attendant_id)] * 2

    # Another tenant's admin: the conversation does not exist for them.
    other = tenancy.create_tenant("Outra Loja").tenant.id
    boss = identity_pool.attendant(other, "admin")
    status, body, _ = call_app("get", path, boss, accept="*/*")
    assert status == 404 and body["error"]["code"] == "NAO_ENCONTRADO"
    # A message of another conversation through this one: not found either.
    status, body, _ = call_app(
        "get", _media_path(conversation_id, str(UUID(int=7))), ana, accept="*/*"
    )
    assert status == 404 and body["error"]["code"] == "MIDIA_NAO_ENCONTRADA"
    # An attendant who neither holds nor may claim it: refused.
    bia = identity_pool.attendant(channel.tenant_id)
    assert call_app("get", path, bia, accept="*/*")[0] == 403


def test_a_location_shows_its_place_and_coordinates(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _claimed(channel, identity_pool)
    payload = fixture("location")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(
        int(time.time())
    )
    post_webhook(*signed(payload))
    drain(channel)
    detail = call_api("get", f"/v1/console/conversations/{conversation_id}", ana)[1]
    [shown] = [m for m in detail["messages"] if m["type"] == "location"]
    location = shown["location"]
    assert location["latitude"] is not None and location["longitude"] is not None
    assert shown["media"] is None


def test_erasure_and_export_cover_the_files_attendants_sent(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _claimed(channel, identity_pool)
    status, message = _send(conversation_id, ana, PNG, "image/png", filename="a.png")
    assert status == 201
    key = media_key(channel.tenant_id, message["id"])
    bucket = get_settings().documents_bucket
    assert aws.client("s3").head_object(Bucket=bucket, Key=key)
    with db.tenant_transaction(channel.tenant_id) as conn:
        customer = conn.execute("SELECT customer_id FROM conversations").fetchone()
        assert customer is not None
        exported = access.collect(conn, customer["customer_id"])
    [listed] = [d for d in exported["documentos"] if d["mensagem_id"] == message["id"]]
    assert (listed["tipo_de_arquivo"], listed["guardado_conosco"]) == (
        "image/png",
        True,
    )

    erasure.erase_customer(
        channel.tenant_id,
        customer["customer_id"],
        context=RequestContext(Actor("operator", "dpo")),
    )
    listed_keys = aws.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
    assert key not in [o["Key"] for o in listed_keys]


def test_a_file_over_what_the_api_can_answer_gets_a_clear_refusal(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    """A customer's 5 MB video is kept, but Lambda can't answer with it: 413
    with a code and a message in Portuguese, not the gateway's 502."""
    conversation_id, ana = _claimed(channel, identity_pool)
    payload = fixture("video")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["timestamp"] = str(int(time.time()))
    channel.graph.add_media(message["video"]["id"], b"\x00" * (5 * MB), "video/mp4")
    post_webhook(*signed(payload))
    drain(channel)
    detail = call_api("get", f"/v1/console/conversations/{conversation_id}", ana)[1]
    [video] = [m for m in detail["messages"] if m["type"] == "video"]
    assert video["media"]["kind"] == "video"
    status, body, _ = call_app(
        "get", _media_path(conversation_id, video["id"]), ana, accept="*/*"
    )
    assert (status, body["error"]["code"]) == (413, "MIDIA_GRANDE_DEMAIS")
    assert "4 MB" in body["error"]["message"]
    key = media_key(channel.tenant_id, video["id"])
    bucket = get_settings().documents_bucket
    assert aws.client("s3").head_object(Bucket=bucket, Key=key)  # stored anyway
