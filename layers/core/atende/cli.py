"""``atende`` command line: operator tasks (tenants, migrations, dead letters).

Examples:
    atende tenant create "Loja Exemplo"
    atende apikey create --tenant <id> --name ERP --scope documents
    atende apikey list --tenant <id>
    atende attendant invite --tenant <id> --email ana@loja.com.br --name Ana
    atende db migrate
    atende dlq list
    atende dlq show <id>
    atende dlq redrive --all
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from atende.config import get_settings
from atende.errors import AtendeError

if TYPE_CHECKING:
    from atende.conversations.dead_letters import DeadLetterQueue


def _scopes(scopes: Iterable[str]) -> str:
    return ", ".join(sorted(str(s) for s in scopes))


def _tenant_create(args: argparse.Namespace) -> int:
    from atende.tenancy import create_tenant

    provisioned = (
        create_tenant(args.name, scopes=args.scope)
        if args.scope
        else create_tenant(args.name)
    )
    print(f"Cliente criado: {provisioned.tenant.name}")
    print(f"  id:          {provisioned.tenant.id}")
    print(f"  chave KMS:   {provisioned.tenant.kms_key_arn}")
    print(f"  chave de API (mostrada só agora, guarde-a): {provisioned.api_key}")
    print(f"    escopos: {_scopes(provisioned.api_key_scopes)}")
    return 0


def _apikey_create(args: argparse.Namespace) -> int:
    from uuid import UUID

    from atende.audit import Actor
    from atende.tenancy import create_api_key

    key, raw_key = create_api_key(
        UUID(args.tenant),
        name=args.name,
        scopes=args.scope,
        actor=Actor("operator", "cli"),
    )
    print(f"Chave de API criada: {key.name} ({key.id})")
    print(f"  escopos: {_scopes(key.scopes)}")
    print(f"  chave (mostrada só agora, guarde-a): {raw_key}")
    return 0


def _apikey_list(args: argparse.Namespace) -> int:
    from uuid import UUID

    from atende.tenancy import list_api_keys

    keys = list_api_keys(UUID(args.tenant))
    if not keys:
        print("Nenhuma chave de API.")
    for key in keys:
        state = f"revogada {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "ativa"
        print(
            f"  {key.id}  {key.prefix}…  {key.name:20}"
            f"  escopos={','.join(sorted(key.scopes))}"
            f"  criada {key.created_at:%Y-%m-%d}  {state}"
        )
    return 0


def _apikey_revoke(args: argparse.Namespace) -> int:
    from uuid import UUID

    from atende.audit import Actor
    from atende.tenancy import revoke_api_key

    revoke_api_key(UUID(args.tenant), UUID(args.id), actor=Actor("operator", "cli"))
    print(f"Chave de API {args.id} revogada.")
    return 0


def _attendant_invite(args: argparse.Namespace) -> int:
    """The first admin of a tenant (later ones are invited from the console)."""
    from uuid import UUID

    from atende.audit import Actor, RequestContext
    from atende.identity import create_attendant

    created = create_attendant(
        UUID(args.tenant),
        email=args.email,
        display_name=args.name,
        role=args.role,
        team=args.team,
        context=RequestContext(Actor("operator", "cli")),
    )
    print(f"Atendente convidado: {created.display_name} ({created.role.value})")
    print(f"  id: {created.id}")
    print("  A senha provisória foi enviada por e-mail pelo Cognito.")
    if get_settings().env == "local":  # make run's Cognito writes it to a folder
        print(f"  Localmente, o e-mail está em {get_settings().local_mailbox_dir}.")
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


# The local stack's queue names (infra/local_stack.py); in AWS the stack's
# outputs ConversationQueueUrl and ConversationDeadLetterQueueUrl.
LOCAL_QUEUE = "atende-conversations.fifo"
LOCAL_DLQ = "atende-conversations-dlq.fifo"


def _queue_url(explicit: str | None, configured: str | None, local_name: str) -> str:
    if explicit or configured:
        return str(explicit or configured)
    settings = get_settings()
    if settings.env != "local":
        raise SystemExit(
            "Defina CONVERSATION_QUEUE_URL e CONVERSATION_DLQ_URL (saídas da pilha)."
        )
    from atende import aws

    return str(aws.client("sqs").get_queue_url(QueueName=local_name)["QueueUrl"])


def _dead_letters(args: argparse.Namespace) -> DeadLetterQueue:
    from atende.conversations.dead_letters import DeadLetterQueue

    settings = get_settings()
    return DeadLetterQueue(
        _queue_url(args.dlq_url, settings.conversation_dlq_url, LOCAL_DLQ)
    )


def _dlq_list(args: argparse.Namespace) -> int:
    dlq = _dead_letters(args)
    letters = dlq.letters()
    if not letters:
        print("Fila de mensagens mortas vazia.")
        return 0
    print(f"{len(letters)} registro(s) na fila de mensagens mortas:")
    for letter in letters:
        row = letter.summary()
        print(
            f"  {row['id']}  {row['failed_at'] or '-':25}  {row['reason']:13}"
            f"  tentativas={row['attempts']}  tipo={row['kind']}"
            f"  cliente(tenant)={row['tenant_id']}"
        )
    return 0


def _dlq_show(args: argparse.Namespace) -> int:
    dlq = _dead_letters(args)
    letter = dlq.show(args.id)
    if letter is None:
        print(
            f"Registro {args.id} não está na fila de mensagens mortas.", file=sys.stderr
        )
        return 1
    print(json.dumps(letter.inspect(), indent=2, ensure_ascii=False))
    return 0


def _dlq_redrive(args: argparse.Namespace) -> int:
    if not args.all and not args.id:
        print("Informe --id <id> (uma ou mais vezes) ou --all.", file=sys.stderr)
        return 2
    dlq = _dead_letters(args)
    target = _queue_url(
        args.queue_url, get_settings().conversation_queue_url, LOCAL_QUEUE
    )
    redriven = dlq.redrive(target, message_ids=None if args.all else set(args.id))
    print(f"{len(redriven)} registro(s) devolvido(s) à fila de conversas.")
    missing = sorted(set(args.id or ()) - set(redriven))
    for message_id in missing:
        print(f"  não encontrado: {message_id}", file=sys.stderr)
    return 1 if missing else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atende", description="Atende operations")
    groups = parser.add_subparsers(dest="group", required=True)

    tenant = groups.add_parser("tenant", help="tenants").add_subparsers(
        dest="command", required=True
    )
    create = tenant.add_parser("create", help="provision a tenant, its key and API key")
    create.add_argument("name", help='tenant name, e.g. "Loja Exemplo"')
    create.add_argument(
        "--scope",
        action="append",
        help="the first API key's scopes: documents, conversations, reports"
        " (repeatable; default: all)",
    )
    create.set_defaults(func=_tenant_create)

    apikey = groups.add_parser("apikey", help="a tenant's API keys").add_subparsers(
        dest="command", required=True
    )
    key_create = apikey.add_parser(
        "create", help="issue an API key with its scopes (shown once)"
    )
    key_create.add_argument("--tenant", required=True, help="tenant id")
    key_create.add_argument("--name", required=True, help="what the key is for")
    key_create.add_argument(
        "--scope",
        action="append",
        required=True,
        help="documents: upload and read documents; conversations: return"
        " conversations to the bot; reports: read the reports (repeatable)",
    )
    key_create.set_defaults(func=_apikey_create)
    key_list = apikey.add_parser("list", help="keys, their scopes and state")
    key_list.add_argument("--tenant", required=True, help="tenant id")
    key_list.set_defaults(func=_apikey_list)
    key_revoke = apikey.add_parser("revoke", help="revoke a key at once")
    key_revoke.add_argument("--tenant", required=True, help="tenant id")
    key_revoke.add_argument("id", help="the key's id, from `atende apikey list`")
    key_revoke.set_defaults(func=_apikey_revoke)

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

    dlq = groups.add_parser(
        "dlq", help="the conversation queue's dead letters (inspect, redrive)"
    )
    dlq.add_argument("--dlq-url", default=None, help="default: CONVERSATION_DLQ_URL")
    dlq_commands = dlq.add_subparsers(dest="command", required=True)
    dlq_commands.add_parser(
        "list", help="records, their reason and attempts (no content)"
    ).set_defaults(func=_dlq_list)
    show = dlq_commands.add_parser("show", help="one record, personal data masked")
    show.add_argument("id", help="the record's id, from `atende dlq list`")
    show.set_defaults(func=_dlq_show)
    redrive = dlq_commands.add_parser(
        "redrive", help="send records back to the conversation queue (idempotent)"
    )
    redrive.add_argument("--id", action="append", help="a record's id (repeatable)")
    redrive.add_argument("--all", action="store_true", help="every record")
    redrive.add_argument(
        "--queue-url", default=None, help="default: CONVERSATION_QUEUE_URL"
    )
    redrive.set_defaults(func=_dlq_redrive)
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
