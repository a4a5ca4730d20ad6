"""The LGPD admin API and the export download, through the Chalice app: roles,
stable error codes with PT-BR messages, files that open."""

from __future__ import annotations

import io
import json
from urllib.parse import quote
from uuid import uuid4

import pytest
import requests
from openpyxl import load_workbook

from atende import aws, contacts, db
from atende.config import get_settings
from atende.contacts import Found
from tests.support.channel import Channel
from tests.support.identity import IdentityPool, call_app
from tests.support.lgpd import customer_with_history, rows

pytestmark = pytest.mark.integration

BASE = "http://127.0.0.1:8000"


_call = call_app


def test_admins_export_and_the_link_downloads_once(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    seen = customer_with_history(channel)
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    attendant = identity_pool.attendant(channel.tenant_id, "attendant")
    path = f"/v1/admin/customers/{seen['customer']}/export"

    status, body, _ = _call("post", path, attendant)
    assert status == 403 and body["error"]["code"] == "ACESSO_NEGADO"
    assert body["error"]["message"] == "Seu perfil não permite esta ação."
    status, body, _ = _call("post", path)
    assert status == 401 and body["error"]["code"] == "NAO_AUTENTICADO"

    status, body, _ = _call("post", path, admin)
    assert status == 201
    json_url, xlsx_url = body["json_url"], body["xlsx_url"]
    assert json_url.startswith(f"{BASE}/v1/lgpd/exports/{body['export_id']}/")

    # A click on the link: 303 to a presigned S3 download, which browsers
    # (and `curl -L`) follow; the file never passes through the API.
    status, offered, headers = _call("get", json_url.removeprefix(BASE))
    assert status == 303 and headers["location"] == offered["url"]
    assert headers["cache-control"] == "no-store"
    assert offered["expires_in"] == 300
    download = requests.get(offered["url"], timeout=10)
    assert download.status_code == 200
    assert download.headers["content-disposition"] == (
        'attachment; filename="dados.json"'
    )
    assert download.json()["perfil"]["id"] == str(seen["customer"])
    status, again, _ = _call("get", json_url.removeprefix(BASE))
    assert status == 409 and again["error"] == {
        "code": "LINK_JA_USADO",
        "message": (
            "Este link de download já foi usado. Peça uma nova cópia dos seus dados."
        ),
    }

    status, offered, headers = _call("get", xlsx_url.removeprefix(BASE))
    assert status == 303
    download = requests.get(headers["location"], timeout=10)
    book = load_workbook(io.BytesIO(download.content), read_only=True)
    assert "Mensagens" in book.sheetnames

    [event] = rows(
        channel,
        "SELECT actor_type, actor_id FROM audit_events"
        " WHERE action = 'LGPD_EXPORT_CREATED'",
    )
    assert event == {"actor_type": "attendant", "actor_id": str(admin.attendant_id)}


def test_bad_links_and_ids(channel: Channel, identity_pool: IdentityPool) -> None:
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    status, body, _ = _call("get", "/v1/lgpd/exports/nao-e-uuid/dados.json?token=x")
    assert status == 404 and body["error"]["code"] == "LINK_INVALIDO"
    status, body, _ = _call("post", "/v1/admin/customers/123/erasure", admin)
    assert status == 400 and body["error"]["message"] == (
        "Identificador de cliente inválido."
    )
    status, body, _ = _call("post", f"/v1/admin/customers/{uuid4()}/export", admin)
    assert status == 404 and body["error"] == {
        "code": "CLIENTE_NAO_ENCONTRADO",
        "message": "Cliente não encontrado.",
    }


def test_erasure_through_the_api_returns_the_proof(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    seen = customer_with_history(channel)
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    supervisor = identity_pool.attendant(channel.tenant_id, "supervisor")
    path = f"/v1/admin/customers/{seen['customer']}/erasure"
    assert _call("post", path, supervisor)[0] == 403
    status, proof, _ = _call("post", path, admin)
    assert status == 200
    assert proof["customer_id"] == str(seen["customer"])
    assert proof["requested_by"] == {"type": "attendant", "id": str(admin.attendant_id)}
    assert proof["deleted"]["postgres"]["conversations"] == 1
    status, again, _ = _call("post", path, admin)
    assert status == 200 and again == proof


def test_consent_text_and_withdrawal_by_the_business(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    seen = customer_with_history(channel)  # published v1, customer granted
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    supervisor = identity_pool.attendant(channel.tenant_id, "supervisor")

    status, body, _ = _call(
        "put", "/v1/admin/consent-text", supervisor, {"body": "Novo texto"}
    )
    assert status == 403
    status, body, _ = _call("put", "/v1/admin/consent-text", admin, {"body": ""})
    assert status == 400
    assert body["error"]["code"] == "TEXTO_DE_CONSENTIMENTO_INVALIDO"
    status, body, _ = _call(
        "put", "/v1/admin/consent-text", admin, {"body": "Podemos usar seus dados?"}
    )
    assert status == 201 and body["version"] == 2
    status, body, _ = _call("get", "/v1/admin/consent-text", supervisor)
    assert (body["version"], body["body"]) == (2, "Podemos usar seus dados?")

    path = f"/v1/admin/customers/{seen['customer']}/consents"
    status, body, _ = _call("post", path, supervisor, {"granted": True})
    assert status == 400 and "revogação" in body["error"]["message"]
    status, body, _ = _call("post", path, supervisor, {"granted": False})
    assert status == 201 and body["withdrawal"] is True
    status, body, _ = _call("get", path, supervisor)
    assert body["granted"] is False
    assert [(d["granted"], d["source"]) for d in body["decisions"]] == [
        (True, "whatsapp_bot"),
        (False, "admin_api"),
    ]
    attendant = identity_pool.attendant(channel.tenant_id, "attendant")
    assert _call("get", path, attendant)[0] == 403


def test_contacts_list_and_excel_by_role(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    customer_with_history(channel)
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    attendant = identity_pool.attendant(channel.tenant_id, "attendant")

    status, body, _ = _call("get", "/v1/admin/contacts?q=529982", admin)
    [found] = body["contacts"]
    assert {v["value"] for v in found["values"] if v["kind"] == "cpf"} == {
        "529.982.247-25"
    }
    status, body, _ = _call("get", "/v1/admin/contacts", attendant)
    assert status == 400  # attendants search; they don't browse the base
    status, body, _ = _call("get", "/v1/admin/contacts?q=ana.souza", attendant)
    [found] = body["contacts"]
    assert {v["value"] for v in found["values"] if v["kind"] == "cpf"} == {
        "***.***.***-25"
    }
    status, body, _ = _call("get", "/v1/admin/contacts?q=a", attendant)
    assert status == 400 and body["error"]["code"] == "BUSCA_CURTA_DEMAIS"
    status, body, _ = _call("get", "/v1/admin/contacts?q=ana&limit=x", attendant)
    assert status == 400
    listed = rows(
        channel,
        "SELECT actor_id, details FROM audit_events WHERE action = 'CONTACTS_LISTED'"
        " ORDER BY id",
    )
    assert [e["details"]["cpf_visible"] for e in listed] == [True, False]

    # Exporting the whole base is for supervisors and admins.
    status, body, _ = _call(
        "get", "/v1/admin/contacts.xlsx", attendant, accept="application/octet-stream"
    )
    assert status == 403
    supervisor = identity_pool.attendant(channel.tenant_id, "supervisor")
    status, offered, headers = _call("get", "/v1/admin/contacts.xlsx", supervisor)
    # Any size: a 303 to a short presigned S3 download, not the file itself.
    assert status == 303 and headers["location"] == offered["url"]
    assert offered["rows"] == 1 and offered["expires_in"] == 300
    download = requests.get(offered["url"], timeout=10)
    assert download.status_code == 200
    assert download.headers["content-disposition"] == (
        'attachment; filename="contatos.xlsx"'
    )
    [key] = [
        o["Key"]
        for o in aws.client("s3").list_objects_v2(
            Bucket=get_settings().documents_bucket,
            Prefix=f"tenants/{channel.tenant_id}/exports/contacts/",
        )["Contents"]
    ]
    stored = aws.client("s3").head_object(
        Bucket=get_settings().documents_bucket, Key=key
    )
    assert stored["ServerSideEncryption"] == "aws:kms"  # under the tenant's key
    with db.tenant_transaction(channel.tenant_id) as conn:
        tenant_key_arn = conn.execute("SELECT kms_key_arn FROM tenants").fetchone()
    assert tenant_key_arn is not None
    assert stored["SSEKMSKeyId"] == tenant_key_arn["kms_key_arn"]
    sheet = list(
        load_workbook(io.BytesIO(download.content), read_only=True)[
            "Contatos"
        ].iter_rows(values_only=True)
    )
    assert sheet[0][2] == "CPF" and sheet[1][2] == "***.***.***-25"
    [event] = rows(
        channel,
        "SELECT actor_id, details FROM audit_events WHERE action = 'CONTACTS_EXPORTED'",
    )
    assert event["actor_id"] == str(supervisor.attendant_id)
    assert event["details"]["cpf_visible"] is False


def test_retention_policy(channel: Channel, identity_pool: IdentityPool) -> None:
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    status, body, _ = _call(
        "put", "/v1/admin/retention", admin, {"messages_days": 0, "exports_hours": 24}
    )
    assert status == 400 and body["error"]["code"] == "RETENCAO_INVALIDA"
    status, body, _ = _call(
        "put", "/v1/admin/retention", admin, {"messages_days": 90, "exports_hours": 12}
    )
    assert status == 200 and body == {"messages_days": 90, "exports_hours": 12}
    assert rows(
        channel, "SELECT messages_days, exports_hours FROM retention_policies"
    ) == [{"messages_days": 90, "exports_hours": 12}]


def _customers_with_contacts(ch: Channel, names: list[str]) -> list[str]:
    """One customer per name, each with a name and an e-mail; returns their ids."""
    ids = []
    with db.tenant_transaction(ch.tenant_id) as conn:
        for i, name in enumerate(names):
            row = conn.execute(
                "INSERT INTO customers (tenant_id, wa_user_id)"
                " VALUES (current_tenant_id(), %s) RETURNING id",
                (f"BR.{uuid4().int % 10**16}",),
            ).fetchone()
            assert row is not None
            contacts.merge(
                conn,
                customer_id=row["id"],
                message_id=None,
                found=[
                    Found("name", name, "llm"),
                    Found("email", f"cliente{i}@example.com", "validator"),
                ],
            )
            ids.append(str(row["id"]))
    return ids


@pytest.mark.parametrize(
    "wildcards", ["%25%25", "__", "%25%25%25%25%25", "%5C%5C%5C", "%20ab%20", "%25a%25"]
)
def test_attendants_cannot_list_everyone_with_wildcards(
    channel: Channel, identity_pool: IdentityPool, wildcards: str
) -> None:
    _customers_with_contacts(channel, ["Ana Souza", "Bruno Lima", "Carla Dias"])
    attendant = identity_pool.attendant(channel.tenant_id, "attendant")
    status, body, _ = _call("get", f"/v1/admin/contacts?q={wildcards}", attendant)
    assert status == 400, body
    assert body["error"]["code"] == "BUSCA_CURTA_DEMAIS"
    assert "3 letras ou números" in body["error"]["message"]


def test_contact_search_wildcards_are_literal_text(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    ana, _, sale = _customers_with_contacts(
        channel, ["Ana Souza", "Bruno Lima", "Loja 100%_Off"]
    )
    attendant = identity_pool.attendant(channel.tenant_id, "attendant")
    found = {}
    for term in ("so_za", "souza", "ana%souza", "100%_off", "100%%"):
        status, body, _ = _call("get", f"/v1/admin/contacts?q={quote(term)}", attendant)
        assert status == 200, body
        found[term] = [c["customer_id"] for c in body["contacts"]]
    assert found == {
        "so_za": [],
        "souza": [ana],
        "ana%souza": [],
        "100%_off": [sale],
        "100%%": [],
    }


def test_contact_pages_are_capped_and_attendants_see_one_page_per_search(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    everyone = set(
        _customers_with_contacts(channel, [f"Cliente Silva {i}" for i in range(7)])
    )
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    attendant = identity_pool.attendant(channel.tenant_id, "attendant")
    for who in (admin, attendant):
        status, body, _ = _call("get", "/v1/admin/contacts?q=silva&limit=51", who)
        assert status == 400 and body["error"]["code"] == "LIMITE_INVALIDO"
        assert body["error"]["message"] == (
            "O parâmetro 'limit' deve estar entre 1 e 50."
        )
    status, body, _ = _call("get", "/v1/admin/contacts?limit=0", admin)
    assert status == 400 and body["error"]["code"] == "LIMITE_INVALIDO"

    # Supervisors and admins browse the base page by page: no overlap, no loss.
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        status, body, _ = _call(
            "get", f"/v1/admin/contacts?limit=3&offset={offset}", admin
        )
        assert status == 200 and len(body["contacts"]) <= 3
        seen += [c["customer_id"] for c in body["contacts"]]
        offset = body["next_offset"]
    assert sorted(seen) == sorted(everyone)

    # An attendant looks a customer up: the first 50 matches of a search, no
    # paging further through the base.
    status, body, _ = _call("get", "/v1/admin/contacts?q=silva&limit=5", attendant)
    assert status == 200 and len(body["contacts"]) == 5
    status, body, _ = _call(
        "get", "/v1/admin/contacts?q=silva&limit=5&offset=50", attendant
    )
    assert status == 400 and body["error"]["code"] == "BUSCA_AMPLA_DEMAIS"


def test_contact_searches_are_audited_without_the_term(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    _customers_with_contacts(channel, ["Ana Souza", "Bruno Lima"])
    attendant = identity_pool.attendant(channel.tenant_id, "attendant")
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    assert _call("get", "/v1/admin/contacts?q=Souza", attendant)[0] == 200
    assert _call("get", "/v1/admin/contacts?q=52998224725", attendant)[0] == 200
    assert _call("get", "/v1/admin/contacts", admin)[0] == 200
    assert _call("get", "/v1/admin/contacts?q=%25%25", attendant)[0] == 400
    listed = rows(
        channel,
        "SELECT actor_id, details FROM audit_events"
        " WHERE action = 'CONTACTS_LISTED' ORDER BY occurred_at, id",
    )
    assert [
        (e["actor_id"], e["details"]["search_kind"], e["details"]["search_length"])
        for e in listed
    ] == [
        (str(attendant.attendant_id), "text", 5),
        (str(attendant.attendant_id), "digits", 11),
        (str(admin.attendant_id), None, None),
    ]
    assert [e["details"]["rows"] for e in listed] == [1, 0, 2]
    assert "souza" not in json.dumps(listed).lower()
    assert "52998224725" not in json.dumps(listed)
