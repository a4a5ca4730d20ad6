"""The attendants' Cognito user pool as template.yaml declares it, for moto.

E-mail usernames, the immutable ``custom:tenant_id`` attribute, the invitation
e-mail (``infra/local_mailbox.py`` writes it locally) and a public console
client with USER_PASSWORD_AUTH that can't write the e-mail: ``make run``,
the tests and the benchmarks create the same pool, so their tokens are the ones
AWS would issue.
"""

from __future__ import annotations

from atende import aws

# template.yaml's AttendantUserPool InviteMessageTemplate (a test compares them).
INVITE_MESSAGE = {
    "EmailSubject": "Seu acesso ao console Atende",
    "EmailMessage": (
        "Olá! Seu acesso ao console Atende foi criado. Usuário: {username} "
        "Senha provisória: {####} (no primeiro acesso você define uma nova)."
    ),
}


def create_attendant_pool() -> tuple[str, str]:
    """Create the pool and the console's client; returns their ids."""
    idp = aws.client("cognito-idp")
    pool_id: str = idp.create_user_pool(
        PoolName="atende-attendants",
        UsernameAttributes=["email"],
        Schema=[{"Name": "tenant_id", "AttributeDataType": "String", "Mutable": False}],
        AdminCreateUserConfig={
            "AllowAdminCreateUserOnly": True,
            "InviteMessageTemplate": INVITE_MESSAGE,
        },
    )["UserPool"]["Id"]
    client_id: str = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="atende-console",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        ReadAttributes=["email", "email_verified", "custom:tenant_id"],
        # Never the e-mail (template.yaml says why); moto doesn't enforce it.
        WriteAttributes=["locale"],
    )["UserPoolClient"]["ClientId"]
    return pool_id, client_id
