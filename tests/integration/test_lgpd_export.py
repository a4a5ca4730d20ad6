"""Access and portability: the export's contents field by field (JSON and the
XLSX opened back with openpyxl), its encryption under the tenant prefix, and the
one-time, short-lived link that hands out a presigned S3 download."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest
import requests
from actions.actions import ActionSolicitarAcessoDados
from botocore.exceptions import ClientError
from openpyxl import load_workbook
from rasa_sdk.executor import CollectingDispatcher

from atende import aws, crypto, db
from atende.audit import Actor, RequestContext
from atende.config import get_settings
from atende.conversations import messages_ptbr as texts
from atende.errors import AtendeError, DecryptionRefused
from atende.lgpd import access
from tests.support.channel import Channel
from tests.support.lgpd import ADMIN, CUSTOMER, PHONE, customer_with_history, rows, say
from tests.support.rasa import tracker_for

pytestmark = pytest.mark.integration


def _download(offered: access.ExportDownload) -> requests.Response:
    response = requests.get(offered.url, timeout=30)
    assert response.status_code == 200
    return response


def _fetch(link: access.ExportLink, name: str) -> bytes:
    offered = access.offer_export(link.export_id, name, link.token, ip="198.51.100.7")
    return _download(offered).content


def _delivered(channel: Channel) -> list[dict[str, object]]:
    return rows(
        channel,
        "SELECT details FROM audit_events WHERE action = 'LGPD_EXPORT_DELIVERED'",
    )


def test_export_holds_everything_about_the_customer(channel: Channel) -> None:
    seen = customer_with_history(channel)
    link = access.create_export(
        channel.tenant_id, seen["customer"], context=RequestContext(ADMIN)
    )
    data = json.loads(_fetch(link, "dados.json"))

    assert set(data) == {
        "gerado_em",
        "perfil",
        "consentimentos",
        "conversas",
        "mensagens",
        "contatos",
        "documentos",
        "solicitacoes_lgpd",
        "registro_de_acessos",
    }
    profile = data["perfil"]
    assert profile["id"] == str(seen["customer"])
    assert profile["whatsapp_id"] == CUSTOMER
    assert profile["telefone"] == PHONE
    assert profile["nome_no_whatsapp"] == "Maria Souza"
    assert profile["whatsapp_ids_anteriores"] == []

    [decision] = data["consentimentos"]
    assert decision["finalidade"] == "atendimento_whatsapp"
    assert decision["autorizado"] is True and decision["revogacao"] is False
    assert decision["versao_do_texto"] == 1 and decision["origem"] == "whatsapp_bot"

    [conversation] = data["conversas"]
    assert conversation["id"] == str(seen["conversation"])
    assert conversation["estado"] == "bot"

    inbound = [m for m in data["mensagens"] if m["direcao"] == "inbound"]
    assert [m["id"] for m in inbound] == [
        *map(str, seen["messages"]),
        str(seen["document"]),
    ]
    assert (
        inbound[1]["texto"] == "meu cpf é 529.982.247-25, email ana.souza@example.com"
    )
    assert all(m["conversa_id"] == str(seen["conversation"]) for m in data["mensagens"])
    outbound = [m for m in data["mensagens"] if m["direcao"] == "outbound"]
    assert outbound and all(m["status"] == "sent" for m in outbound)
    assert "oi, sou outro cliente" not in json.dumps(data)  # only this customer

    assert sorted((c["tipo"], c["valor"]) for c in data["contatos"]) == [
        ("cpf", "529.982.247-25"),
        ("email", "ana.souza@example.com"),
    ]
    assert {c["mensagem_de_origem"] for c in data["contatos"]} == {
        str(seen["messages"][1])
    }
    assert all(c["encontrado_por"] == "validator" for c in data["contatos"])

    [document] = data["documentos"]
    assert document == {
        "mensagem_id": str(seen["document"]),
        "tipo": "document",
        "tipo_de_arquivo": "application/pdf",
        "nome_do_arquivo": "rg.pdf",
        "guardado_conosco": True,
        "recebido_em": document["recebido_em"],
    }

    trail = data["registro_de_acessos"]
    media = [e for e in trail if e["acao"] == "MEDIA_ACCESSED"]
    assert media == [
        {
            "quando": media[0]["quando"],
            "acao": "MEDIA_ACCESSED",
            "sobre": "message",
            "sobre_id": str(seen["document"]),
            "quem_tipo": "attendant",
            "quem_id": ADMIN.id,
        }
    ]
    assert "CONSENT_GRANTED" in {e["acao"] for e in trail}


def test_xlsx_has_one_sheet_per_section(channel: Channel) -> None:
    seen = customer_with_history(channel)
    link = access.create_export(
        channel.tenant_id, seen["customer"], context=RequestContext(ADMIN)
    )
    book = load_workbook(io.BytesIO(_fetch(link, "dados.xlsx")), read_only=True)
    assert book.sheetnames == [
        "Cadastro",
        "Autorizações",
        "Conversas",
        "Mensagens",
        "Contatos",
        "Documentos",
        "Pedidos LGPD",
        "Registro de acessos",
    ]
    profile = list(book["Cadastro"].iter_rows(values_only=True))
    assert profile[0][:3] == ("Identificador", "ID no WhatsApp", "Telefone")
    assert profile[1][:3] == (str(seen["customer"]), CUSTOMER, "+55 11 98765-4321")
    contacts = list(book["Contatos"].iter_rows(values_only=True))
    assert contacts[0][:3] == ("Tipo", "Valor", "Encontrado por")
    assert sorted(r[:2] for r in contacts[1:]) == [
        ("CPF", "529.982.247-25"),
        ("E-mail", "ana.souza@example.com"),
    ]
    requests = list(book["Pedidos LGPD"].iter_rows(values_only=True))
    assert requests == [("(nenhum registro)",)]


def test_files_are_encrypted_under_the_tenant_prefix(channel: Channel) -> None:
    seen = customer_with_history(channel)
    link = access.create_export(
        channel.tenant_id, seen["customer"], context=RequestContext(ADMIN)
    )
    s3 = aws.client("s3")
    listed = s3.list_objects_v2(
        Bucket=get_settings().documents_bucket, Prefix=f"tenants/{channel.tenant_id}/"
    )
    keys = sorted(o["Key"] for o in listed["Contents"])
    prefix = f"tenants/{channel.tenant_id}/lgpd/exports/{link.export_id}/"
    assert keys == [
        prefix + "dados.html.enc",
        prefix + "dados.json.enc",
        prefix + "dados.xlsx.enc",
    ]
    sealed = s3.get_object(Bucket=get_settings().documents_bucket, Key=keys[0])
    raw = sealed["Body"].read()
    assert b"ana.souza" not in raw and b"529.982.247-25" not in raw


def test_link_works_once_per_file_and_expires(channel: Channel) -> None:
    seen = customer_with_history(channel)
    link = access.create_export(
        channel.tenant_id, seen["customer"], context=RequestContext(ADMIN)
    )
    assert link.url("dados.json") == (
        f"http://127.0.0.1:8000/v1/lgpd/exports/{link.export_id}/dados.json"
        f"?token={link.token}"
    )
    wrong = f"{channel.tenant_id}.not-the-secret"
    for export_id, name, token in (
        (link.export_id, "dados.json", wrong),
        (link.export_id, "dados.json", None),
        (link.export_id, "dados.json", "garbage"),
        (link.export_id, "outro.txt", link.token),
        (uuid4(), "dados.json", link.token),
    ):
        with pytest.raises(access.ExportLinkInvalid) as caught:
            access.offer_export(export_id, name, token)
        assert caught.value.code == "LINK_INVALIDO"
    assert _fetch(link, "dados.json")
    with pytest.raises(access.ExportLinkUsed) as used:
        _fetch(link, "dados.json")  # one time
    assert used.value.code == "LINK_JA_USADO"
    assert used.value.user_message == (
        "Este link de download já foi usado. Peça uma nova cópia dos seus dados."
    )
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute("UPDATE lgpd_exports SET expires_at = now() - interval '1 second'")
    with pytest.raises(access.ExportLinkInvalid):
        _fetch(link, "dados.xlsx")  # expired
    audit = rows(
        channel,
        "SELECT action, actor_type, host(ip) AS ip, details FROM audit_events"
        " WHERE action LIKE 'LGPD_EXPORT_%%' ORDER BY id",
    )
    assert [(a["action"], a["actor_type"]) for a in audit] == [
        ("LGPD_EXPORT_CREATED", "attendant"),
        ("LGPD_EXPORT_DELIVERED", "customer"),
    ]
    assert audit[1]["ip"] == "198.51.100.7"
    assert audit[1]["details"] == {
        "export_id": str(link.export_id),
        "file": "dados.json",
    }


def test_export_of_an_unknown_customer_is_refused(channel: Channel) -> None:
    with pytest.raises(access.CustomerNotFound) as caught:
        access.create_export(channel.tenant_id, uuid4(), context=RequestContext(ADMIN))
    assert caught.value.code == "CLIENTE_NAO_ENCONTRADO"
    assert caught.value.user_message == "Cliente não encontrado."


def test_an_unsure_access_request_is_clarified_with_buttons_first(
    channel: Channel,
) -> None:
    """A typed message the NLU only guessed was an access request ("vcs vendem
    passagem de aviao?" → meus_dados 0.73) gets the clarifying question with
    "Ver meus dados" among the options; nothing is opened or exported until
    the customer taps it (a tap is certain)."""
    seen = customer_with_history(channel)
    conversation = seen["conversation"]
    dispatcher = CollectingDispatcher()
    guessed = tracker_for(
        channel,
        conversation,
        "vcs vendem passagem de aviao?",
        "meus_dados",
        confidence=0.73,
        ranking=[("meus_dados", 0.73), ("status_pedido", 0.12), ("afirmar", 0.1)],
    )
    assert ActionSolicitarAcessoDados().run(dispatcher, guessed, {}) == []
    [asked] = dispatcher.messages
    assert "outras palavras" in asked["text"]
    assert [b["payload"] for b in asked["buttons"]] == ["/meus_dados", "/status_pedido"]
    assert rows(channel, "SELECT id FROM lgpd_requests") == []
    assert rows(channel, "SELECT id FROM lgpd_exports") == []

    tapped = CollectingDispatcher()
    ActionSolicitarAcessoDados().run(
        tapped,
        tracker_for(channel, conversation, "/meus_dados", "meus_dados", confidence=1),
        {},
    )
    assert "protocolo" in tapped.messages[0]["text"]
    assert len(rows(channel, "SELECT id FROM lgpd_exports")) == 1


def test_the_customer_asks_the_bot_and_gets_the_link(channel: Channel) -> None:
    seen = customer_with_history(channel)
    dispatcher = CollectingDispatcher()
    ActionSolicitarAcessoDados().run(
        dispatcher,
        tracker_for(
            channel, seen["conversation"], "quais dados vcs tem?", "meus_dados"
        ),
        {},
    )
    # What Rasa hears (and keeps in its tracker) has no link in it.
    said = dispatcher.messages[0]["text"]
    assert "15 minutos" in said and "token=" not in said
    [request] = rows(channel, "SELECT id, kind, status, resolved_at FROM lgpd_requests")
    assert request["kind"] == "access" and request["status"] == "done"
    assert str(request["id"]).split("-")[0].upper() in said
    [export] = rows(channel, "SELECT id, request_id, created_by_type FROM lgpd_exports")
    assert export["request_id"] == request["id"]
    assert export["created_by_type"] == "customer"

    # The links reach the customer through WhatsApp, then leave the history.
    channel.engine.deliver_outbox(channel.tenant_id, seen["conversation"])
    text = channel.sent()[-1]["text"]["body"]
    assert f"/v1/lgpd/exports/{export['id']}/dados.xlsx?token=" in text
    stored = rows(
        channel,
        "SELECT body, status FROM messages WHERE payload->>'secret' = 'true'",
    )
    assert stored == [{"body": texts.ONE_TIME_LINKS_HIDDEN, "status": "sent"}]
    assert not rows(channel, "SELECT id FROM messages WHERE strpos(body, 'token=') > 0")
    token = text.split("dados.json?token=")[1].split()[0]
    offered = access.offer_export(export["id"], "dados.json", token)
    data = _download(offered).json()
    assert data["perfil"]["id"] == str(seen["customer"])
    assert [r["status"] for r in data["solicitacoes_lgpd"]] == ["open"]


def test_erased_customer_has_nothing_to_export(channel: Channel) -> None:
    seen = customer_with_history(channel)
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute(
            "UPDATE customers SET erased_at = now() WHERE id = %s", (seen["customer"],)
        )
    with pytest.raises(access.CustomerErased) as caught:
        access.create_export(
            channel.tenant_id,
            seen["customer"],
            context=RequestContext(Actor("system", "x")),
        )
    assert caught.value.code == "CLIENTE_APAGADO"


def test_text_that_looks_like_a_formula_stays_text(channel: Channel) -> None:
    seen = customer_with_history(channel)
    say(channel, "=)")
    say(channel, '=HYPERLINK("http://exemplo.com")')
    link = access.create_export(
        channel.tenant_id, seen["customer"], context=RequestContext(ADMIN)
    )
    book = load_workbook(io.BytesIO(_fetch(link, "dados.xlsx")))
    sheet = book["Mensagens"]
    body = [c.value for c in sheet[1]].index("Texto") + 1
    cells = [row[body - 1] for row in sheet.iter_rows(min_row=2)]
    typed = {c.value: c.data_type for c in cells if str(c.value).startswith("=")}
    assert typed == {"=)": "s", '=HYPERLINK("http://exemplo.com")': "s"}


def test_an_export_too_big_for_an_api_response_downloads_from_s3(
    channel: Channel,
) -> None:
    seen = customer_with_history(channel)
    # ~8 MB of messages: over Lambda's 6 MB response (4.5 MB once base64'd).
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute(
            "INSERT INTO messages (tenant_id, conversation_id, direction, type, body)"
            " SELECT current_tenant_id(), %s, 'inbound', 'text',"
            " repeat(md5(n::text), 125) FROM generate_series(1, 2000) AS n",
            (seen["conversation"],),
        )
    link = access.create_export(
        channel.tenant_id, seen["customer"], context=RequestContext(ADMIN)
    )

    offered = access.offer_export(link.export_id, "dados.json", link.token)

    assert offered.expires_in == 300
    assert parse_qs(urlsplit(offered.url).query)["X-Amz-Expires"] == ["300"]
    response = _download(offered)
    assert len(response.content) > 6 * 1024 * 1024
    assert len(json.loads(response.content)["mensagens"]) > 2000
    assert response.headers["content-disposition"] == (
        'attachment; filename="dados.json"'
    )
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    # The copy S3 serves lies under the export's prefix, encrypted by S3 with
    # the tenant's own key.
    bucket = get_settings().documents_bucket
    prefix = f"tenants/{channel.tenant_id}/lgpd/exports/{link.export_id}/"
    assert urlsplit(offered.url).path.endswith(f"/{prefix}download/dados.json")
    stored = aws.client("s3").head_object(
        Bucket=bucket, Key=f"{prefix}download/dados.json"
    )
    [tenant] = rows(channel, "SELECT kms_key_arn FROM tenants")
    assert stored["ServerSideEncryption"] == "aws:kms"
    assert stored["SSEKMSKeyId"] == tenant["kms_key_arn"]


def _refuse(operation: str) -> Callable[..., None]:
    def refuse(**_: object) -> None:
        raise ClientError(
            {"Error": {"Code": "ServiceUnavailable", "Message": "indisponível"}},
            operation,
        )

    return refuse


@contextmanager
def _missing_object(key: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    s3, bucket = aws.client("s3"), get_settings().documents_bucket
    sealed = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.delete_object(Bucket=bucket, Key=key)
    yield
    s3.put_object(Bucket=bucket, Key=key, Body=sealed)


@contextmanager
def _s3_refuses_the_copy(key: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    events = aws.client("s3").meta.events
    refuse = _refuse("PutObject")
    events.register("before-call.s3.PutObject", refuse)
    try:
        yield
    finally:
        events.unregister("before-call.s3.PutObject", refuse)


@contextmanager
def _kms_refuses(key: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The tenant's key can't be used (disabled, throttled, KMS down)."""
    new_client = aws.new_client

    def refusing(service: str, *args: Any, **kwargs: Any) -> Any:
        client = new_client(service, *args, **kwargs)
        client.meta.events.register("before-call.kms.Decrypt", _refuse("Decrypt"))
        return client

    monkeypatch.setattr(aws, "new_client", refusing)
    crypto.clear_cache()
    try:
        yield
    finally:
        monkeypatch.setattr(aws, "new_client", new_client)
        crypto.clear_cache()


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (_missing_object, access.ExportUnavailable),
        (_s3_refuses_the_copy, access.ExportUnavailable),
        (_kms_refuses, DecryptionRefused),
    ],
)
def test_a_failure_before_the_url_leaves_the_link_usable(
    channel: Channel,
    monkeypatch: pytest.MonkeyPatch,
    fault: Callable[[str, pytest.MonkeyPatch], AbstractContextManager[None]],
    error: type[AtendeError],
) -> None:
    seen = customer_with_history(channel)
    link = access.create_export(
        channel.tenant_id, seen["customer"], context=RequestContext(ADMIN)
    )
    key = f"tenants/{channel.tenant_id}/lgpd/exports/{link.export_id}/dados.json.enc"

    with fault(key, monkeypatch), pytest.raises(error) as caught:
        access.offer_export(link.export_id, "dados.json", link.token)
    if error is access.ExportUnavailable:
        assert caught.value.code == "EXPORTACAO_INDISPONIVEL"
        assert "o link continua válido" in caught.value.user_message
    assert _delivered(channel) == []

    data = json.loads(_fetch(link, "dados.json"))
    assert data["perfil"]["id"] == str(seen["customer"])
    assert len(_delivered(channel)) == 1


def test_concurrent_uses_of_a_link_issue_one_url(channel: Channel) -> None:
    seen = customer_with_history(channel)
    link = access.create_export(
        channel.tenant_id, seen["customer"], context=RequestContext(ADMIN)
    )
    barrier = threading.Barrier(6)
    urls: list[str] = []
    refused: list[str] = []

    def use() -> None:
        barrier.wait()
        try:
            urls.append(
                access.offer_export(link.export_id, "dados.xlsx", link.token).url
            )
        except access.ExportLinkUsed as error:
            refused.append(error.code)

    threads = [threading.Thread(target=use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(urls) == 1 and refused == ["LINK_JA_USADO"] * 5
    assert len(_delivered(channel)) == 1
    assert load_workbook(io.BytesIO(requests.get(urls[0], timeout=30).content))
