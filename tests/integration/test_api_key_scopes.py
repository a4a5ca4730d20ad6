"""API keys carry scopes: a key does only what it was created for.

Real PostgreSQL, moto, the Chalice app through its test client, the CLI.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from uuid import UUID

import psycopg
import pytest
from app import app
from chalice.test import Client
from psycopg.conninfo import make_conninfo

from atende import cli, db, tenancy
from atende.conversations.handoff import handoff_to_human
from atende.db.bootstrap import bootstrap, drop_database
from atende.db.embedded import EmbeddedDatabase
from atende.errors import Unauthenticated
from atende.tenancy import Scope
from tests.support.api_routes import api_key_routes as walk_api_key_routes
from tests.support.api_routes import scoped_key
from tests.support.channel import Channel, drain, post_webhook, signed, text_update

pytestmark = pytest.mark.integration


def _waiting_conversation(ch: Channel) -> UUID:
    post_webhook(*signed(text_update("quero um atendente", wamid="wamid.S1")))
    drain(ch)
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute("SELECT id FROM conversations").fetchone()
    assert row is not None
    assert handoff_to_human(ch.tenant_id, row["id"], reason="x", summary=None)
    return UUID(str(row["id"]))


def _state(ch: Channel, conversation_id: UUID) -> str:
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute(
            "SELECT state FROM conversations WHERE id = %s", (conversation_id,)
        ).fetchone()
    assert row is not None
    return str(row["state"])


def _refusal(response: Any) -> dict[str, Any]:
    assert response.status_code == 403, response.body
    error: dict[str, Any] = json.loads(response.body)["error"]
    assert error["code"] == "ACESSO_NEGADO"
    return error


def test_a_documents_key_cannot_return_a_conversation_to_the_bot(
    channel: Channel,
) -> None:
    conversation_id = _waiting_conversation(channel)
    documents_key = scoped_key(channel.tenant_id, Scope.DOCUMENTS)
    path = f"/v1/conversations/{conversation_id}/return-to-bot"
    with Client(app) as client:
        refused = client.http.post(path, headers={"X-API-Key": documents_key})
    error = _refusal(refused)
    assert error["message"] == (
        "Esta chave de API não tem o escopo 'conversations', necessário para esta"
        " operação."
    )
    assert _state(channel, conversation_id) == "waiting_human"
    assert channel.rasa.resumed == []

    conversations_key = scoped_key(channel.tenant_id, Scope.CONVERSATIONS)
    with Client(app) as client:
        allowed = client.http.post(path, headers={"X-API-Key": conversations_key})
    assert allowed.status_code == 200 and _state(channel, conversation_id) == "bot"


def test_a_conversations_key_cannot_touch_documents(channel: Channel) -> None:
    conversations_key = scoped_key(channel.tenant_id, Scope.CONVERSATIONS)
    headers = {"X-API-Key": conversations_key}
    with Client(app) as client:
        upload = client.http.post(
            "/v1/documents",
            headers={**headers, "Content-Type": "application/pdf"},
            body=b"%PDF-1.7",
        )
        listing = client.http.get("/v1/documents", headers=headers)
    for response in (upload, listing):
        assert "'documents'" in _refusal(response)["message"]
    with db.tenant_transaction(channel.tenant_id) as conn:
        assert conn.execute("SELECT count(*) AS n FROM documents").fetchone() == {
            "n": 0
        }


def test_every_api_key_route_declares_a_scope(
    channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Walks every registered route with two keys that each lack one scope: a
    route that authenticates an API key must refuse the key without its scope."""
    api_key_routes = walk_api_key_routes(channel.tenant_id, monkeypatch)
    undeclared = sorted(route for route, scopes in api_key_routes.items() if not scopes)
    assert undeclared == []
    assert api_key_routes[("POST", "/v1/documents")] == {Scope.DOCUMENTS}
    assert api_key_routes[
        ("POST", "/v1/conversations/{conversation_id}/return-to-bot")
    ] == {Scope.CONVERSATIONS}
    assert len(api_key_routes) >= 5


def test_keys_are_created_listed_and_revoked_with_their_scopes_by_the_cli(
    channel: Channel, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = str(channel.tenant_id)
    create = ["apikey", "create", "--tenant", tenant, "--name", "ERP"]
    assert cli.main([*create, "--scope", "documents"]) == 0
    out = capsys.readouterr().out
    assert "escopos: documents" in out
    raw_key = next(w for w in out.split() if w.startswith("atd_"))
    principal = tenancy.authenticate_api_key(raw_key)
    assert principal.scopes == frozenset({Scope.DOCUMENTS})

    # A scope must be chosen; unknown ones are refused.
    with pytest.raises(SystemExit):
        cli.main(create)
    capsys.readouterr()
    assert cli.main([*create, "--scope", "admin"]) == 1
    assert "Escopo desconhecido: 'admin'" in capsys.readouterr().err

    assert cli.main(["apikey", "list", "--tenant", tenant]) == 0
    listed = capsys.readouterr().out
    erp = next(line for line in listed.splitlines() if "ERP" in line)
    assert str(principal.api_key_id) in erp and "documents" in erp
    assert "conversations" not in erp and raw_key not in listed
    default = next(line for line in listed.splitlines() if "default" in line)
    assert "conversations,documents" in default

    revoke = ["apikey", "revoke", "--tenant", tenant, str(principal.api_key_id)]
    assert cli.main(revoke) == 0
    with pytest.raises(Unauthenticated):
        tenancy.authenticate_api_key(raw_key)
    assert cli.main(revoke) == 1  # already revoked
    assert "NAO_ENCONTRADO" in capsys.readouterr().err


def test_the_tenants_first_key_shows_its_scopes(
    database: EmbeddedDatabase, aws_mock: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["tenant", "create", "Loja Escopos"]) == 0
    out = capsys.readouterr().out
    assert "escopos: conversations, documents" in out
    raw_key = next(w for w in out.split() if w.startswith("atd_"))
    assert tenancy.authenticate_api_key(raw_key).scopes == frozenset(Scope)
    assert cli.main(["tenant", "create", "Só Docs", "--scope", "documents"]) == 0
    raw_key = next(w for w in capsys.readouterr().out.split() if w.startswith("atd_"))
    assert tenancy.authenticate_api_key(raw_key).scopes == {Scope.DOCUMENTS}


def test_migration_0008_gives_existing_keys_both_scopes(
    database: EmbeddedDatabase,
) -> None:
    """Keys made before scopes existed keep working (both scopes); new rows
    must name theirs, from the known ones."""
    from yoyo import get_backend, read_migrations

    from atende.db.migrate import MIGRATIONS_DIR, _yoyo_uri, apply_migrations

    name = f"atende_scopes_{uuid.uuid4().hex[:8]}"
    bootstrap(database.admin_url, name)
    try:
        owner = make_conninfo(database.admin_url, dbname=name, user="atende_owner")
        backend = get_backend(_yoyo_uri(owner))
        before = read_migrations(str(MIGRATIONS_DIR)).filter(lambda m: m.id < "0008")
        with backend.lock():
            backend.apply_migrations(backend.to_apply(before))
        admin = make_conninfo(database.admin_url, dbname=name)
        tenant_id = uuid.uuid4()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO tenants (id, name, kms_key_arn)"
                " VALUES (%s, 'Antiga', 'k')",
                (tenant_id,),
            )
            conn.execute(
                "INSERT INTO api_keys (tenant_id, name, prefix, key_hash)"
                " VALUES (%s, 'legada', 'atd_x', 'h')",
                (tenant_id,),
            )
        apply_migrations(owner)
        with psycopg.connect(admin, autocommit=True) as conn:
            scopes = conn.execute("SELECT scopes FROM api_keys").fetchone()
            assert scopes is not None and sorted(scopes[0]) == [
                "conversations",
                "documents",
            ]
            with pytest.raises(psycopg.errors.NotNullViolation):
                conn.execute(
                    "INSERT INTO api_keys (tenant_id, name, prefix, key_hash)"
                    " VALUES (%s, 'nova', 'atd_y', 'h2')",
                    (tenant_id,),
                )
            for bad in (["admin"], []):
                with pytest.raises(psycopg.errors.CheckViolation):
                    conn.execute(
                        "INSERT INTO api_keys (tenant_id, name, prefix, key_hash,"
                        " scopes) VALUES (%s, 'nova', 'atd_y', 'h3', %s)",
                        (tenant_id, bad),
                    )
    finally:
        drop_database(database.admin_url, name)
