"""The attendants' user pool is shared by every tenant: an e-mail can be
neither squatted (attendants can't change theirs) nor probed (an invitation
answers alike whether or not another tenant has the address).

moto's Cognito (created as template.yaml declares it), real PostgreSQL, the
Chalice app through its test client.
"""

from __future__ import annotations

import json
import re
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


def test_locally_an_invitation_lands_in_the_mailbox_and_first_access_completes(
    channel: Channel,
    identity_pool: IdentityPool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found walking the journeys (issue 18, point 12): locally no e-mail went
    out and moto kept no password, so an invited attendant could never sign
    in. The local stack's moto e-mails the temporary password, as Cognito
    does, into a folder."""
    from email import message_from_bytes, policy

    from moto.cognitoidp.models import CognitoIdpBackend

    from atende.identity import sessions
    from infra import local_mailbox
    from infra.identity_pool import INVITE_MESSAGE

    # The same invitation text as in AWS.
    assert (
        _resource("AttendantUserPool")["AdminCreateUserConfig"]["InviteMessageTemplate"]
        == INVITE_MESSAGE
    )
    monkeypatch.setattr(
        CognitoIdpBackend,
        "admin_create_user",
        local_mailbox.mailing(CognitoIdpBackend.admin_create_user, tmp_path),
    )
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    status, _created = _invite(admin, "bia@loja.example", "Bia")
    assert status == 201
    [mail] = tmp_path.glob("*.eml")
    assert mail.stat().st_mode & 0o077 == 0
    message = message_from_bytes(mail.read_bytes(), policy=policy.default)
    assert message["To"] == "bia@loja.example"
    assert message["Subject"] == "Seu acesso ao console Atende"
    text = message.get_body().get_content()  # type: ignore[union-attr]
    found = re.search(r"Senha provisória: (\S+) ", text)
    assert found is not None, text
    with pytest.raises(sessions.NewPasswordRequired) as challenge:
        sessions.sign_in("bia@loja.example", found.group(1))
    session = sessions.complete_new_password(
        "bia@loja.example", challenge.value.details["session"], "Nova-senha-da-Bia-2026"
    )
    assert session.id_token
    # The demo attendants (a password set, e-mail suppressed) get no mail.
    assert len(list(tmp_path.glob("*.eml"))) == 1
