"""The attendants' user pool is shared by every tenant: an e-mail can be
neither squatted (attendants can't change theirs) nor probed (an invitation
answers alike whether or not another tenant has the address).

moto's Cognito (created as template.yaml declares it), real PostgreSQL, the
Chalice app through its test client.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from app import app
from chalice.test import Client

from atende import aws, db, tenancy
from atende.audit import list_events
from tests.support.channel import Channel
from tests.support.identity import IdentityPool, SignedIn

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


class _TemplateLoader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (!Ref, !Sub, …) as plain values."""


_TemplateLoader.add_multi_constructor(
    "!",
    lambda loader, _suffix, node: (
        loader.construct_yaml_str(node) if isinstance(node, yaml.ScalarNode) else None
    ),
)


def _resource(name: str) -> dict[str, Any]:
    template = yaml.load(
        (ROOT / "template.yaml").read_text(),
        Loader=_TemplateLoader,  # noqa: S506 - SafeLoader plus CloudFormation tags
    )
    properties: dict[str, Any] = template["Resources"][name]["Properties"]
    return properties


def _invite(admin: SignedIn, email: str, name: str) -> tuple[int, dict[str, Any]]:
    with Client(app) as client:
        response = client.http.post(
            "/v1/console/attendants",
            headers={**admin.headers, "Content-Type": "application/json"},
            body=json.dumps({"email": email, "display_name": name}),
        )
    return response.status_code, json.loads(response.body)


def test_attendants_cannot_change_their_own_email(
    identity_pool: IdentityPool,
) -> None:
    client = _resource("AttendantConsoleClient")
    # Listed, never empty: an empty list lets the client write every standard
    # attribute, the e-mail included.
    assert client["WriteAttributes"]
    assert "email" not in client["WriteAttributes"]
    # Were the e-mail ever writable again, a new address would count only once
    # its owner proved it (a code sent to it).
    pool = _resource("AttendantUserPool")
    assert pool["UserAttributeUpdateSettings"] == {
        "AttributesRequireVerificationBeforeUpdate": ["email"]
    }
    # make run and the tests create the same client.
    local = aws.client("cognito-idp").describe_user_pool_client(
        UserPoolId=identity_pool.pool_id, ClientId=identity_pool.client_id
    )["UserPoolClient"]
    assert local["WriteAttributes"] == client["WriteAttributes"]
    assert local["ReadAttributes"] == client["ReadAttributes"]


def test_inviting_an_email_another_tenant_uses_reveals_nothing(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    other_tenant = tenancy.create_tenant("Outra Loja").tenant.id
    theirs = identity_pool.attendant(other_tenant)
    admin = identity_pool.attendant(channel.tenant_id, "admin")

    fresh_status, fresh = _invite(admin, "nova@loja.example", "Nova")
    status, squatted = _invite(admin, theirs.email.upper(), "Bia")
    # The same answer as for an address nobody uses.
    assert (status, fresh_status) == (201, 201), squatted
    assert set(squatted) == set(fresh)
    assert (squatted["email"], squatted["role"], squatted["active"]) == (
        theirs.email,
        "attendant",
        True,
    )
    # The other tenant's attendant is untouched.
    user = aws.client("cognito-idp").admin_get_user(
        UserPoolId=identity_pool.pool_id, Username=theirs.email
    )
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["custom:tenant_id"] == str(other_tenant)
    with db.tenant_transaction(channel.tenant_id) as conn:
        row = conn.execute(
            "SELECT identity_sub FROM attendants WHERE id = %s", (squatted["id"],)
        ).fetchone()
        events = list_events(conn, subject_type="attendant", subject_id=squatted["id"])
    # Nobody can ever sign in as this row; the trail says why, internally.
    assert row == {"identity_sub": None}
    assert [(e.action, e.details) for e in events] == [
        ("ATTENDANT_CREATED", {"role": "attendant", "email_in_use": True})
    ]

    # Inviting it again is the ordinary repeat of this tenant's own invitation.
    assert _invite(admin, theirs.email, "Bia") == (
        409,
        {
            "error": {
                "code": "CONFLITO",
                "message": "Já existe um atendente com este e-mail.",
            }
        },
    )
