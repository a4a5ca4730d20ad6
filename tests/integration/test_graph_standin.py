"""GraphClient against the local Graph API stand-in, over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from atende.errors import InvalidInput
from atende.whatsapp.graph import (
    GraphApiError,
    GraphClient,
    ListRow,
    ListSection,
    Recipient,
    WhatsAppUnavailable,
)
from infra.graph_standin import GraphStandIn

TOKEN = "EAAG-standin-token"
PHONE_ID = "1234567890"
CUSTOMER = "+5511987654321"


@pytest.fixture(scope="module")
def standin() -> Iterator[GraphStandIn]:
    server = GraphStandIn(port=0).start()
    yield server
    server.stop()


@pytest.fixture
def client(standin: GraphStandIn) -> Iterator[GraphClient]:
    standin.clear()
    sleeps: list[float] = []
    graph = GraphClient(
        phone_number_id=PHONE_ID,
        access_token=TOKEN,
        base_url=standin.url,
        sleep=sleeps.append,  # retries don't wait in tests
        max_attempts=3,
    )
    yield graph
    graph.close()


def test_health_and_control_endpoints(standin: GraphStandIn) -> None:
    standin.clear()
    with httpx.Client(base_url=standin.url) as http:
        assert http.get("/_standin/health").json() == {"status": "ok"}
        queued = http.post("/_standin/script", json=[{"status": 429}, {"status": 200}])
        assert queued.json() == {"queued": 2}
        assert http.get("/_standin/requests").json() == []
        assert http.delete("/_standin/requests").json() == {"cleared": True}


def test_recorded_body_equals_what_was_sent(
    standin: GraphStandIn, client: GraphClient
) -> None:
    sent = client.send_text(CUSTOMER, "Olá, Ana!", reply_to="wamid.IN")
    client.send_list(
        Recipient(user_id="BR.1502576394655843"),
        "Escolha",
        "Ver opções",
        [ListSection([ListRow("a", "Opção A", "Detalhe")])],
    )

    first, second = standin.requests()
    assert sent.wamid.startswith("wamid.") and first["wamid"] == sent.wamid
    assert first["method"] == "POST"
    assert first["path"] == f"/v23.0/{PHONE_ID}/messages"
    assert first["authorization_present"] is True
    assert "authorization" not in first["headers"]
    assert TOKEN not in str(standin.requests())
    assert first["body"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "context": {"message_id": "wamid.IN"},
        "type": "text",
        "text": {"body": "Olá, Ana!", "preview_url": False},
    }
    assert second["body"]["recipient"] == "BR.1502576394655843"
    assert second["body"]["interactive"]["action"]["sections"] == [
        {"rows": [{"id": "a", "title": "Opção A", "description": "Detalhe"}]}
    ]


def test_scripted_429_then_success(standin: GraphStandIn, client: GraphClient) -> None:
    standin.script({"status": 429, "headers": {"Retry-After": "0"}}, {"status": 200})
    sent = client.send_template(CUSTOMER, "lembrete_consulta")

    recorded = standin.requests()
    assert [r["response_status"] for r in recorded] == [429, 200]
    delivered = [r for r in recorded if r["wamid"]]
    assert len(delivered) == 1 and delivered[0]["wamid"] == sent.wamid
    assert sent.attempts == 2 and sent.message_status == "accepted"


def test_scripted_throughput_error_is_retried(
    standin: GraphStandIn, client: GraphClient
) -> None:
    standin.script({"status": 400, "error": {"code": 130429}})
    sent = client.send_text(CUSTOMER, "Oi")
    assert [r["response_status"] for r in standin.requests()] == [400, 200]
    assert sent.attempts == 2


def test_scripted_400_raises_graph_error(
    standin: GraphStandIn, client: GraphClient
) -> None:
    standin.script(
        {
            "status": 400,
            "error": {
                "code": 131026,
                "error_subcode": 2494,
                "error_data": {"details": "Recipient cannot be reached"},
            },
        }
    )
    with pytest.raises(GraphApiError) as info:
        client.send_text(CUSTOMER, "Oi")
    error = info.value
    assert not error.retryable and error.http_status == 400
    assert error.graph_code == 131026 and error.graph_subcode == 2494
    assert error.graph_details == "Recipient cannot be reached"
    assert error.fbtrace_id
    assert len(standin.requests()) == 1


def test_persistent_5xx_gives_up(standin: GraphStandIn, client: GraphClient) -> None:
    standin.script(*[{"status": 500}] * 3)
    with pytest.raises(WhatsAppUnavailable) as info:
        client.send_text(CUSTOMER, "Oi")
    assert info.value.attempts == 3 and len(standin.requests()) == 3


def test_mark_read_is_recorded(standin: GraphStandIn, client: GraphClient) -> None:
    client.mark_read("wamid.HBgMNTUxMTk4NzY1NDMyMRUCABIYFjNFQjA=")
    [recorded] = standin.requests()
    assert recorded["body"] == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.HBgMNTUxMTk4NzY1NDMyMRUCABIYFjNFQjA=",
    }
    assert recorded["response_status"] == 200


def test_media_lookup_and_download(standin: GraphStandIn, client: GraphClient) -> None:
    standin.add_media("MEDIA42", b"%PDF-1.7 fake", "application/pdf")
    info = client.get_media("MEDIA42")
    assert info.mime_type == "application/pdf" and info.file_size == 13
    assert info.url.startswith(standin.url)
    assert client.download_media(info.url) == b"%PDF-1.7 fake"


def test_missing_token_is_refused(standin: GraphStandIn) -> None:
    standin.clear()
    with httpx.Client() as http:
        response = http.post(
            f"{standin.url}/v23.0/{PHONE_ID}/messages",
            json={"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text"},
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 190
    assert standin.requests()[0]["authorization_present"] is False


def test_media_upload_send_and_delete_in_metas_shapes(
    standin: GraphStandIn, client: GraphClient
) -> None:
    """``POST /{phone-number-id}/media`` is a multipart form with
    messaging_product and type; the upload is then addressable like a
    received media, sent by id, and deleted."""
    standin.clear()
    media_id = client.upload_media(b"\xff\xd8\xff photo", "image/jpeg", "foto.jpg")
    [upload] = standin.requests()
    assert upload["path"] == f"/v23.0/{PHONE_ID}/media"
    assert upload["headers"]["content-type"].startswith("multipart/form-data")
    assert upload["body"]["messaging_product"] == "whatsapp"
    assert upload["body"]["type"] == "image/jpeg"
    assert (upload["body"]["file_name"], upload["body"]["file_size"]) == ("foto.jpg", 9)
    info = client.get_media(media_id)
    assert (info.mime_type, info.file_size) == ("image/jpeg", 9)
    client.send_media(CUSTOMER, "image", media_id, caption="Foto")
    assert standin.requests()[-1]["body"]["image"] == {
        "id": media_id,
        "caption": "Foto",
    }
    client.delete_media(media_id)
    with pytest.raises(GraphApiError):
        client.delete_media(media_id)  # gone
    with pytest.raises(InvalidInput):
        client.send_media(CUSTOMER, "sticker", media_id)  # we never send those
