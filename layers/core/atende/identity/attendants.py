"""Managing a tenant's attendants (admins): invite, change role and team,
deactivate; everyone signed in lists them (transfers)."""

# Queries below compose only fixed column lists and conditions; values are
# always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID

import psycopg
from botocore.exceptions import ClientError

from atende import aws
from atende.audit import RequestContext, record_event
from atende.db import tenant_transaction
from atende.db.paging import Page, decode_cursor, keyset_page, page_limit
from atende.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
)
from atende.identity.principal import TENANT_CLAIM, AttendantPrincipal, Role
from atende.identity.sessions import _auth_error
from atende.identity.tokens import _pool
from atende.observability import logger

_ATTENDANT_COLUMNS = "id, email, display_name, role, team, active, created_at"
_ALREADY_HERE = "Já existe um atendente com este e-mail."
ATTENDANTS_LIMIT = 200


@dataclass(frozen=True)
class Attendant:
    id: UUID
    email: str
    display_name: str
    role: Role
    team: str | None
    active: bool


def _attendant_view(row: dict[str, Any]) -> Attendant:
    return Attendant(
        id=row["id"],
        email=row["email"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        team=row["team"],
        active=row["active"],
    )


def _clean_team(team: str | None) -> str | None:
    if team is None or not team.strip():
        return None
    if len(team.strip()) > 60:
        raise InvalidInput("O nome da equipe deve ter até 60 caracteres.")
    return team.strip()


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise InvalidInput(
            "Perfil inválido: use admin, supervisor ou attendant."
        ) from exc


def list_attendants(
    principal: AttendantPrincipal,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Attendant]:
    """The tenant's attendants by name, a page at a time (everyone signed in
    may list them: transfers)."""
    limit = page_limit(limit, default=ATTENDANTS_LIMIT, maximum=ATTENDANTS_LIMIT)
    params: list[Any] = []
    after = ""
    if cursor is not None:
        params += decode_cursor(cursor, str, UUID)
        after = " WHERE (display_name, id) > (%s, %s)"
    with tenant_transaction(principal.tenant_id) as conn:
        rows = conn.execute(
            f"SELECT {_ATTENDANT_COLUMNS} FROM attendants{after}"
            " ORDER BY display_name, id LIMIT %s",
            (*params, limit + 1),
        ).fetchall()
    page, next_cursor = keyset_page(rows, limit, lambda r: (r["display_name"], r["id"]))
    return Page([_attendant_view(r) for r in page], next_cursor)


def create_attendant(
    tenant_id: UUID,
    *,
    email: str,
    display_name: str,
    role: str,
    team: str | None = None,
    context: RequestContext,
    password: str | None = None,
) -> Attendant:
    """Create the pool user and the attendant row; audited.

    Without ``password`` Cognito e-mails a temporary one (first sign-in then
    asks for a new one); with it (local demo users) the password is permanent.

    The pool is shared by every tenant, and an e-mail has one pool user. When
    the address already has one (another tenant's attendant, most likely), the
    answer is the one a fresh invitation gets: the row is created, no pool
    user is touched, so that row can never sign in. Telling the admin would
    tell them the address works for another tenant; the audit event and an
    operator log line say it instead.

    Raises:
        InvalidInput: bad e-mail, name, role or team.
        Conflict: the e-mail is already an attendant of this tenant.
    """
    pool_id, _client_id = _pool()
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise InvalidInput("Informe um e-mail válido.")
    if not display_name.strip() or len(display_name) > 120:
        raise InvalidInput("Informe o nome do atendente (até 120 caracteres).")
    checked_role, checked_team = _role(role), _clean_team(team)
    with tenant_transaction(tenant_id) as conn:
        if conn.execute(
            "SELECT 1 FROM attendants WHERE email = %s", (email,)
        ).fetchone():
            raise Conflict(_ALREADY_HERE)
    new = partial(
        _insert_attendant,
        tenant_id,
        email,
        display_name.strip(),
        checked_role,
        checked_team,
        context=context,
    )
    cognito = aws.client("cognito-idp")
    try:
        user = cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
                {"Name": TENANT_CLAIM, "Value": str(tenant_id)},
            ],
            **({"MessageAction": "SUPPRESS"} if password else {}),
        )["User"]
        if password:
            cognito.admin_set_user_password(
                UserPoolId=pool_id, Username=email, Password=password, Permanent=True
            )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "UsernameExistsException":
            raise _auth_error(error) from error
        created = new(sub=None)
        logger.warning(
            "attendant invited with an e-mail the pool already has",
            extra={"tenant_id": str(tenant_id), "attendant_id": str(created.id)},
        )
        return created
    sub = next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")
    try:
        return new(sub=sub)
    except Exception:
        # No pool user without its attendant: a retry must not find a
        # half-made invitation ("e-mail already in use", then 403 forever).
        cognito.admin_delete_user(UserPoolId=pool_id, Username=email)
        raise


def _insert_attendant(
    tenant_id: UUID,
    email: str,
    display_name: str,
    role: Role,
    team: str | None,
    *,
    sub: str | None,
    context: RequestContext,
) -> Attendant:
    """The row (``sub`` None: an e-mail whose pool user isn't ours)."""
    details: dict[str, str | bool] = {"role": role.value}
    if sub is None:
        details["email_in_use"] = True
    try:
        with tenant_transaction(tenant_id) as conn:
            row = conn.execute(
                "INSERT INTO attendants (tenant_id, email, display_name, role, team,"
                " identity_sub) VALUES (current_tenant_id(), %s, %s, %s, %s, %s)"
                f" RETURNING {_ATTENDANT_COLUMNS}",
                (email, display_name, role.value, team, sub),
            ).fetchone()
            assert row is not None
            record_event(
                conn,
                action="ATTENDANT_CREATED",
                subject_type="attendant",
                subject_id=str(row["id"]),
                context=context,
                details=details,
            )
    except psycopg.errors.UniqueViolation as error:  # the same invitation, twice
        raise Conflict(_ALREADY_HERE) from error
    return _attendant_view(row)


def update_attendant(
    principal: AttendantPrincipal,
    attendant_id: UUID,
    *,
    role: str | None = None,
    team: str | None = None,
    active: bool | None = None,
) -> Attendant:
    """Change an attendant's role, team or access (admins); audited.

    Raises:
        Forbidden: not an admin, or an admin removing their own admin access.
        NotFound: no such attendant in this tenant.
    """
    principal.require(Role.ADMIN)
    if attendant_id == principal.attendant_id and (
        active is False or (role is not None and role != Role.ADMIN)
    ):
        raise Forbidden("Você não pode remover o seu próprio acesso de admin.")
    changes: dict[str, Any] = {}
    if role is not None:
        changes["role"] = _role(role).value
    if team is not None:
        changes["team"] = _clean_team(team)
    if active is not None:
        changes["active"] = bool(active)
    if not changes:
        raise InvalidInput("Nada para alterar: informe role, team ou active.")
    assignments = ", ".join(f"{name} = %({name})s" for name in changes)
    with tenant_transaction(principal.tenant_id) as conn:
        row = conn.execute(
            f"UPDATE attendants SET {assignments} WHERE id = %(id)s"
            f" RETURNING {_ATTENDANT_COLUMNS}",
            {**changes, "id": attendant_id},
        ).fetchone()
        if row is None:
            raise NotFound("Atendente não encontrado.")
        record_event(
            conn,
            action="ATTENDANT_UPDATED",
            subject_type="attendant",
            subject_id=str(attendant_id),
            context=RequestContext(principal.actor),
            details={k: v for k, v in changes.items() if k != "team"},
        )
    return _attendant_view(row)
