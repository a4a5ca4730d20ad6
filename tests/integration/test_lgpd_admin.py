"""LGPD from the admin's side (issue 18, points 4, 6 and 7), through the
Chalice app: the demo's consent text and its versions; finding a customer by
number, @username, name or protocol; the requests with their 15-day deadline;
export and erasure that tell the customer on WhatsApp; an export a person can
read, and link errors as pages."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from urllib.parse import quote
from uuid import UUID

import pytest
import requests
from openpyxl import load_workbook

from atende import consent, db, lgpd, tenancy
from atende.audit import Actor, RequestContext
from infra.local_stack import DEMO_CONSENT_TEXT, seed_demo_consent
from tests.support.channel import Channel
from tests.support.identity import IdentityPool, call_app
from tests.support.lgpd import (
    OTHER,
    PHONE,
    conversation_ids,
    customer_id,
    customer_with_history,
    make_bucket,
    rows,
    say,
)

pytestmark = pytest.mark.integration

BASE = "http://127.0.0.1:8000"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


_call = call_app


def _texts_sent(channel: Channel) -> list[str]:
    return [s["text"]["body"] for s in channel.sent() if s.get("type") == "text"]


def _erasure_requested_in_chat(channel: Channel, customer: UUID) -> UUID:
    """What the bot's action does when the customer asks to be erased."""
    [conversation] = conversation_ids(channel, customer)
    with db.tenant_transaction(channel.tenant_id) as conn:
        request_id, _ = lgpd.open_request(
            conn,
            customer_id=customer,
            kind="erasure",
            conversation_id=conversation,
            context=RequestContext(Actor("customer", str(customer))),
        )
    return request_id


# -- point 4: the demo's consent text; versions in the console ----------------


def test_the_demo_tenant_ships_a_consent_text_once(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    tenant = tenancy.create_tenant("Loja Demo").tenant.id
    first = seed_demo_consent(str(tenant))
    again = seed_demo_consent(str(tenant))  # every `make run` start
    assert (first.version, again.version) == (1, 1)
    with db.tenant_transaction(tenant) as conn:
        [version] = consent.list_texts(conn)
    assert version.body == DEMO_CONSENT_TEXT and version.published_by == "system"
    assert "Você autoriza?" in DEMO_CONSENT_TEXT


def test_admins_list_consent_versions_with_date_and_who_published(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    supervisor = identity_pool.attendant(channel.tenant_id, "supervisor")
    seed_demo_consent(str(channel.tenant_id))
    status, body, _ = _call(
        "put", "/v1/admin/consent-text", admin, {"body": "Podemos usar seus dados?"}
    )
    assert status == 201 and body["version"] == 2

    assert _call("get", "/v1/admin/consent-texts", supervisor)[0] == 403
    status, body, _ = _call("get", "/v1/admin/consent-texts", admin)
    assert status == 200
    [second, first] = body["versions"]
    [name] = rows(
        channel,
        "SELECT display_name FROM attendants WHERE id = %s",
        admin.attendant_id,
    )
    assert (second["version"], second["body"], second["published_by"]) == (
        2,
        "Podemos usar seus dados?",
        name["display_name"],
    )
    assert (first["version"], first["published_by"]) == (1, "system")
    assert second["published_at"] >= first["published_at"]


# -- point 6: find the customer; the requests; done, and the customer told ------


def test_admins_find_customers_by_number_in_any_format_username_name_protocol(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    say(channel, "oi")  # never answered consent: no contacts at all
    customer = customer_id(channel)
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute(
            "UPDATE customers SET display_name = 'João Conceição',"
            " username = 'joao.c' WHERE id = %s",
            (customer,),
        )
    say(channel, "oi, sou outro cliente", user=OTHER, phone="5521998877665")
    # Another tenant's customer with the same number stays invisible.
    other_tenant = tenancy.create_tenant("Outra Loja").tenant.id
    with db.tenant_transaction(other_tenant) as conn:
        conn.execute(
            "INSERT INTO customers (tenant_id, wa_user_id, phone, display_name)"
            " VALUES (current_tenant_id(), 'BR.x', %s, 'João Conceição')",
            (PHONE,),
        )
    request_id = _erasure_requested_in_chat(channel, customer)
    protocol = str(request_id).split("-")[0].upper()
    # The protocol an attendant gave in a conversation ({{protocolo}}) too.
    [conversation] = rows(
        channel, "SELECT id FROM conversations WHERE customer_id = %s", customer
    )
    conversation_protocol = str(conversation["id"]).split("-")[0].upper()

    for term in (
        "+55 11 98765-4321",
        "(11) 98765-4321",
        "11987654321",
        "5511987654321",
        "1187654321",  # without the mobile ninth digit
        "@joao.c",
        "@JOAO.C",
        "joao conceicao",
        "Conceição",
        protocol,
        f"#{protocol.lower()}",
        conversation_protocol,
    ):
        status, body, _ = _call("get", f"/v1/admin/customers?q={quote(term)}", admin)
        assert status == 200, (term, body)
        assert [c["id"] for c in body["customers"]] == [str(customer)], term
    [hit] = body["customers"]
    assert hit["name"] == "João Conceição" and hit["phone"] == PHONE
    assert hit["consent"] is None and hit["open_requests"] == ["erasure"]

    status, body, _ = _call("get", "/v1/admin/customers?q=x", admin)
    assert status == 400 and body["error"]["code"] == "BUSCA_INVALIDA"
    status, body, _ = _call("get", "/v1/admin/customers?q=98765", admin)
    assert status == 400  # too short for a number with its area code
    status, body, _ = _call("get", "/v1/admin/customers?q=%25%25", admin)
    assert status == 200 and body["customers"] == []  # a wildcard is a letter
    supervisor = identity_pool.attendant(channel.tenant_id, "supervisor")
    assert _call("get", "/v1/admin/customers?q=joao", supervisor)[0] == 403

    looked_up = rows(
        channel,
        "SELECT subject_id, actor_id, details FROM audit_events"
        " WHERE action = 'CUSTOMER_LOOKED_UP'",
    )
    assert len(looked_up) == 12
    assert {e["subject_id"] for e in looked_up} == {str(customer)}
    assert {e["actor_id"] for e in looked_up} == {str(admin.attendant_id)}
    assert {e["details"]["by"] for e in looked_up} == {
        "phone",
        "username",
        "name",
        "protocol",
    }


def test_requests_from_chat_and_admins_with_deadline_and_overdue(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    say(channel, "oi")
    customer = customer_id(channel)
    say(channel, "oi, sou outro cliente", user=OTHER, phone="5521998877665")
    other = customer_id(channel, OTHER)
    in_chat = _erasure_requested_in_chat(channel, customer)
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute(
            "UPDATE lgpd_requests SET requested_at = now() - interval '16 days'"
            " WHERE id = %s",
            (in_chat,),
        )
    path = f"/v1/admin/customers/{other}/lgpd-requests"
    status, body, _ = _call("post", path, admin, {"kind": "access"})
    assert status == 201 and body["new"] is True and len(body["protocol"]) == 8
    status, again, _ = _call("post", path, admin, {"kind": "access"})
    assert status == 200 and again["id"] == body["id"]  # one open per kind
    status, bad, _ = _call("post", path, admin, {"kind": "apagar"})
    assert status == 400 and bad["error"]["code"] == "ENTRADA_INVALIDA"

    status, listed, _ = _call("get", "/v1/admin/lgpd-requests", admin)
    assert status == 200
    overdue, fresh = listed["requests"]  # the closest deadline first
    assert (overdue["id"], overdue["kind"], overdue["overdue"]) == (
        str(in_chat),
        "erasure",
        True,
    )
    assert overdue["opened_by_type"] == "customer"
    assert overdue["protocol"] == str(in_chat).split("-")[0].upper()
    assert (fresh["kind"], fresh["overdue"], fresh["opened_by_type"]) == (
        "access",
        False,
        "attendant",
    )
    assert fresh["opened_by"] is not None
    assert fresh["customer_id"] == str(other)
    due = datetime.fromisoformat(fresh["due_at"]) - datetime.fromisoformat(
        fresh["requested_at"]
    )
    assert due == timedelta(days=15)
    # Pages: by their cursor, each request once, in the same order.
    status, first, _ = _call("get", "/v1/admin/lgpd-requests?limit=1", admin)
    assert [r["id"] for r in first["requests"]] == [str(in_chat)]
    status, second, _ = _call(
        "get", f"/v1/admin/lgpd-requests?limit=1&cursor={first['next_cursor']}", admin
    )
    assert [r["id"] for r in second["requests"]] == [fresh["id"]]
    assert second["next_cursor"] is None
    status, capped, _ = _call("get", "/v1/admin/lgpd-requests?limit=201", admin)
    assert status == 400 and capped["error"]["code"] == "LIMITE_INVALIDO"
    assert _call("get", "/v1/admin/lgpd-requests?situacao=x", admin)[0] == 400
    supervisor = identity_pool.attendant(channel.tenant_id, "supervisor")
    assert _call("get", "/v1/admin/lgpd-requests", supervisor)[0] == 403
    assert [
        r["details"]
        for r in rows(
            channel,
            "SELECT details FROM audit_events WHERE action = 'LGPD_REQUESTS_LISTED'"
            " ORDER BY id",
        )
    ] == [
        {"status": "open", "results": 2},
        {"status": "open", "results": 1},
        {"status": "open", "results": 1},
    ]


def test_erasure_answers_the_chat_request_and_tells_the_customer_once(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    make_bucket()
    say(channel, "quero apagar meus dados")
    customer = customer_id(channel)
    request_id = _erasure_requested_in_chat(channel, customer)
    before = len(_texts_sent(channel))

    path = f"/v1/admin/customers/{customer}/erasure"
    status, proof, _ = _call("post", path, admin)
    assert status == 200 and proof["request_id"] == str(request_id)
    assert proof["notice_error"] is None
    [notice] = _texts_sent(channel)[before:]
    protocol = str(request_id).split("-")[0].upper()
    assert f"protocolo {protocol}" in notice and "concluído" in notice
    assert channel.sent()[-1]["to"] == PHONE

    status, again, _ = _call("post", path, admin)
    assert status == 200 and again["id"] == proof["id"]
    assert len(_texts_sent(channel)) == before + 1  # told once
    status, listed, _ = _call("get", "/v1/admin/lgpd-requests?situacao=todos", admin)
    [done] = listed["requests"]
    assert done["status"] == "done" and done["notified_at"] is not None
    assert done["customer_erased"] is True and done["customer_name"] is None
    assert [
        r["action"]
        for r in rows(
            channel,
            "SELECT action FROM audit_events WHERE action LIKE 'LGPD_%%NOTI%%'",
        )
    ] == ["LGPD_CUSTOMER_NOTIFIED"]


def test_a_notice_whatsapp_cannot_take_is_recorded_for_the_admin(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    make_bucket()
    say(channel, "quero apagar meus dados")
    customer = customer_id(channel)
    _erasure_requested_in_chat(channel, customer)
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute(
            "UPDATE conversations SET last_inbound_at = now() - interval '2 days'"
        )
    before = len(_texts_sent(channel))
    status, proof, _ = _call("post", f"/v1/admin/customers/{customer}/erasure", admin)
    assert status == 200 and "24 horas" in proof["notice_error"]
    assert len(_texts_sent(channel)) == before
    status, listed, _ = _call("get", "/v1/admin/lgpd-requests?situacao=todos", admin)
    [done] = listed["requests"]
    assert done["notified_at"] is None and "24 horas" in done["notice_error"]


def test_an_export_for_an_admin_opened_request_reaches_the_customer(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    seen = customer_with_history(channel)
    customer = seen["customer"]
    status, opened, _ = _call(
        "post",
        f"/v1/admin/customers/{customer}/lgpd-requests",
        admin,
        {"kind": "access"},
    )
    before = len(_texts_sent(channel))
    status, body, _ = _call("post", f"/v1/admin/customers/{customer}/export", admin)
    assert status == 201 and body["request_id"] == opened["id"]
    assert body["customer_notified"] is True and body["notice_error"] is None
    [links] = _texts_sent(channel)[before:]
    assert f"protocolo {opened['protocol']}" in links
    assert body["html_url"] in links and body["xlsx_url"] in links
    # The links reach the customer, never the history.
    assert not rows(
        channel,
        "SELECT 1 FROM messages WHERE body LIKE %s",
        f"%{body['export_id']}%",
    )


def test_the_conversation_api_names_its_customer(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    say(channel, "oi")
    customer = customer_id(channel)
    [conversation] = conversation_ids(channel, customer)
    status, body, _ = _call("get", f"/v1/console/conversations/{conversation}", admin)
    assert status == 200 and body["customer"]["id"] == str(customer)


# -- point 7: an export a person can read; link errors as pages -----------------


def test_the_export_reads_in_portuguese_and_sao_paulo_time(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    seen = customer_with_history(channel)
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    status, body, _ = _call(
        "post", f"/v1/admin/customers/{seen['customer']}/export", admin
    )
    assert status == 201

    # JSON for machines: codes kept, no \\u escapes, São Paulo offsets.
    status, _, headers = _call("get", body["json_url"].removeprefix(BASE))
    raw = requests.get(headers["location"], timeout=10).content.decode()
    assert "\\u00" not in raw and "cpf é" in raw
    data = json.loads(raw)
    assert data["gerado_em"].endswith("-03:00")
    assert {m["criada_em"][-6:] for m in data["mensagens"]} == {"-03:00"}

    # The spreadsheet: PT-BR headers and values, local times.
    status, _, headers = _call("get", body["xlsx_url"].removeprefix(BASE))
    book = load_workbook(
        io.BytesIO(requests.get(headers["location"], timeout=10).content)
    )
    assert "Mensagens" in book.sheetnames and "Registro de acessos" in book.sheetnames
    sheet = [list(r) for r in book["Mensagens"].iter_rows(values_only=True)]
    assert sheet[0][:4] == ["Identificador", "Conversa", "Direção", "Tipo"]
    assert {r[2] for r in sheet[1:]} == {"Enviada por você", "Enviada pela empresa"}
    assert "Texto" in {r[3] for r in sheet[1:]}
    access_log = [r[1] for r in book["Registro de acessos"].iter_rows(values_only=True)]
    assert "Você autorizou o uso dos seus dados" in access_log
    assert "CONSENT_GRANTED" not in access_log

    # The page beside them, read in the browser.
    html_url = body["html_url"].removeprefix(BASE)
    status, _, headers = _call("get", html_url, accept=BROWSER)
    assert status == 303
    page = requests.get(headers["location"], timeout=10)
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-disposition"].startswith("inline")
    text = page.content.decode()
    assert "Seus dados guardados por Loja Exemplo" in text
    assert "Enviada por você" in text and "inbound" not in text
    assert "Você autorizou o uso dos seus dados" in text
    assert "<script" not in text

    # A second click in the browser: a page in Portuguese, not JSON.
    status, again, headers = _call("get", html_url, accept=BROWSER)
    assert status == 409 and headers["content-type"].startswith("text/html")
    assert "Este link de download já foi usado." in again
    assert "LINK_JA_USADO" not in again and "<html" in again
    status, wrong, headers = _call(
        "get", "/v1/lgpd/exports/nao-e-uuid/dados.html?token=x", accept=BROWSER
    )
    assert status == 404 and "expirou" in wrong and "<html" in wrong
