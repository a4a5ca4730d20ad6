"""``atende`` command line: operator tasks (tenants, migrations).

Examples:
    atende tenant create "Loja Exemplo"
    atende attendant invite --tenant <id> --email ana@loja.com.br --name Ana
    atende db migrate
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from atende.config import get_settings
from atende.errors import AtendeError


def _tenant_create(args: argparse.Namespace) -> int:
    from atende.tenancy import create_tenant

    provisioned = create_tenant(args.name)
    print(f"Cliente criado: {provisioned.tenant.name}")
    print(f"  id:          {provisioned.tenant.id}")
    print(f"  chave KMS:   {provisioned.tenant.kms_key_arn}")
    print(f"  chave de API (mostrada só agora, guarde-a): {provisioned.api_key}")
    return 0


def _attendant_invite(args: argparse.Namespace) -> int:
    """The first admin of a tenant (later ones are invited from the console)."""
    from uuid import UUID

    from atende.audit import Actor
    from atende.identity import create_attendant

    created = create_attendant(
        UUID(args.tenant),
        email=args.email,
        display_name=args.name,
        role=args.role,
        team=args.team,
        actor=Actor("operator", "cli"),
    )
    print(f"Atendente convidado: {created['display_name']} ({created['role']})")
    print(f"  id: {created['id']}")
    print("  A senha provisória foi enviada por e-mail pelo Cognito.")
    return 0


def _db_migrate(_args: argparse.Namespace) -> int:
    from atende.db.migrate import apply_migrations

    settings = get_settings()
    if settings.embedded_database:
        from atende.db.embedded import start_embedded

        start_embedded(settings.data_dir)  # bootstraps and migrates
        print("Banco embutido migrado.")
        return 0
    if settings.database_owner_url is not None:
        owner_url = settings.database_owner_url.get_secret_value()
    elif settings.database_owner_secret_arn is not None:
        from atende.db.secrets import conninfo_from_secret

        owner_url = conninfo_from_secret(settings.database_owner_secret_arn)
    else:
        print(
            "Defina DATABASE_OWNER_URL ou DATABASE_OWNER_SECRET_ARN.", file=sys.stderr
        )
        return 2
    applied = apply_migrations(owner_url)
    print(f"Migrações aplicadas: {', '.join(applied) or 'nenhuma pendente'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atende", description="Atende operations")
    groups = parser.add_subparsers(dest="group", required=True)

    tenant = groups.add_parser("tenant", help="tenants").add_subparsers(
        dest="command", required=True
    )
    create = tenant.add_parser("create", help="provision a tenant, its key and API key")
    create.add_argument("name", help='tenant name, e.g. "Loja Exemplo"')
    create.set_defaults(func=_tenant_create)

    attendant = groups.add_parser("attendant", help="attendants").add_subparsers(
        dest="command", required=True
    )
    invite = attendant.add_parser(
        "invite", help="invite an attendant (the pool e-mails a temporary password)"
    )
    invite.add_argument("--tenant", required=True, help="tenant id")
    invite.add_argument("--email", required=True)
    invite.add_argument("--name", required=True, help="display name")
    invite.add_argument(
        "--role", default="admin", choices=["admin", "supervisor", "attendant"]
    )
    invite.add_argument("--team", default=None)
    invite.set_defaults(func=_attendant_invite)

    db = groups.add_parser("db", help="database").add_subparsers(
        dest="command", required=True
    )
    db.add_parser("migrate", help="apply pending migrations").set_defaults(
        func=_db_migrate
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except AtendeError as error:
        print(f"erro [{error.code}]: {error.user_message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
