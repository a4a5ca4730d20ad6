"""WhatsApp message templates in the composer: listed from Meta, cached per
tenant, checked before a send.

- The list comes from ``GET /{waba-id}/message_templates`` (every page) and is
  kept in ``whatsapp_templates`` for :data:`CACHE_TTL`; a supervisor's
  "Atualizar" reads it again at once. When Meta can't be reached the last
  list read is served (``stale``).
- Attendants see the APPROVED templates; supervisors and admins see every one
  with its status (pending and rejected ones are never sent).
- A send names a template and fills its body's variables (``{{1}}`` or named
  ``{{nome}}``); the server checks them against the cached template, builds
  Meta's components and stores the text the customer gets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from uuid import UUID

from psycopg.types.json import Jsonb

from atende.audit import RequestContext, record_event
from atende.console.access import load, may_read
from atende.db import Connection, tenant_transaction
from atende.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    TemplateNotApproved,
    TemplateNotFound,
    TemplatesUnavailable,
    TemplateVariablesMissing,
)
from atende.identity import AttendantPrincipal
from atende.observability import logger
from atende.whatsapp.graph import (
    CUSTOMER_WINDOW,
    CircuitOpenError,
    GraphApiError,
    GraphClient,
    MessageTemplate,
    check_template,
)
from atende.whatsapp.pricing import Charge, charge

__all__ = [
    "CACHE_TTL",
    "TemplateCatalog",
    "TemplateView",
    "list_templates",
    "prepare_template",
    "refresh_templates",
]

CACHE_TTL: Final = timedelta(minutes=15)
PAGE_SIZE: Final = 100
MAX_PAGES: Final = 50  # 5,000 templates: far above Meta's 250 per WABA
MAX_VARIABLE_CHARS: Final = 1024
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")

GraphFor = Callable[[str], GraphClient]


@dataclass(frozen=True)
class TemplateView:
    name: str
    language: str
    category: str  # MARKETING, UTILITY, AUTHENTICATION
    status: str  # APPROVED, PENDING, REJECTED...
    approved: bool
    body: str | None  # the BODY component's text, variables as {{1}} / {{nome}}
    parameters: list[str]  # the body's variables in order: "1", "2" or "nome"
    charge: Charge  # for the conversation asked about (window closed if none)


@dataclass(frozen=True)
class TemplateCatalog:
    templates: list[TemplateView]
    fetched_at: datetime
    stale: bool  # Meta unreachable: this is the last list read


def list_templates(
    principal: AttendantPrincipal,
    *,
    graph_for: GraphFor,
    conversation_id: UUID | None = None,
) -> TemplateCatalog:
    """The tenant's templates, from the cache while it is fresh.

    Raises:
        TemplatesUnavailable: no WhatsApp Business Account configured, or Meta
            unreachable with nothing cached.
    """
    window_open = _window_open(principal, conversation_id)
    rows, fetched_at, stale = _catalog(principal.tenant_id, graph_for, force=False)
    return _views(principal, rows, fetched_at, stale, window_open)


def refresh_templates(
    principal: AttendantPrincipal,
    *,
    graph_for: GraphFor,
    context: RequestContext,
    conversation_id: UUID | None = None,
) -> TemplateCatalog:
    """Read the list from Meta now (supervisors and admins).

    Raises:
        Forbidden: an attendant asked.
        TemplatesUnavailable: Meta unreachable (the cache is kept).
    """
    if not principal.oversees:
        raise Forbidden("Só supervisores e administradores atualizam os modelos.")
    window_open = _window_open(principal, conversation_id)
    rows, fetched_at, stale = _catalog(principal.tenant_id, graph_for, force=True)
    with tenant_transaction(principal.tenant_id) as conn:
        record_event(
            conn,
            action="WHATSAPP_TEMPLATES_REFRESHED",
            subject_type="whatsapp_templates",
            subject_id=None,
            context=context,
            details={"templates": len(rows)},
        )
    return _views(principal, rows, fetched_at, stale, window_open)


def prepare_template(
    tenant_id: UUID, template: object, *, graph_for: GraphFor
) -> tuple[str, dict[str, Any]]:
    """The text the customer will read and the outbox payload of a template
    send, checked against the cached template.

    Raises:
        InvalidInput: malformed request (name, language, parameters).
        TemplateNotFound: not among the tenant's templates.
        TemplateNotApproved: pending, rejected, paused...
        TemplateVariablesMissing: a body variable left empty (nothing is sent).
    """
    if not isinstance(template, Mapping):
        raise InvalidInput("O modelo (template) deve ser um objeto.")
    if "components" in template:
        raise InvalidInput(
            "Envie as variáveis do modelo em parameters; o Atende monta os componentes."
        )
    name = str(template.get("name") or "")
    language = str(template.get("language") or "pt_BR")
    check_template(name, language)
    values = _parameters(template.get("parameters"))
    rows, _fetched_at, _stale = _catalog(tenant_id, graph_for, force=False)
    row = next(
        (r for r in rows if r["name"] == name and r["language"] == language), None
    )
    if row is None:
        raise TemplateNotFound()
    if row["status"] != "APPROVED":
        raise TemplateNotApproved(status=row["status"])
    body = _body(row["components"])
    wanted = _variables(body)
    unknown = sorted(set(values) - set(wanted))
    if unknown:
        raise InvalidInput(
            f"O modelo {name} não tem a variável {{{{{unknown[0]}}}}}.",
            unknown=unknown,
        )
    missing = [v for v in wanted if not values.get(v)]
    if missing:
        shown = ", ".join(f"{{{{{v}}}}}" for v in missing)
        raise TemplateVariablesMissing(
            f"Preencha as variáveis {shown} do modelo antes de enviar.",
            missing=missing,
        )
    named = row["parameter_format"] == "NAMED"
    components: list[dict[str, Any]] = []
    if wanted:
        components.append(
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "parameter_name": v, "text": values[v]}
                    if named
                    else {"type": "text", "text": values[v]}
                    for v in wanted
                ],
            }
        )
    shown_body = _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), body or "")
    text = f"[modelo: {name}] {shown_body}".rstrip()
    spec = {"name": name, "language": language, "components": components}
    return text, {"template": spec}


# -- the cache -------------------------------------------------------------


def _catalog(
    tenant_id: UUID, graph_for: GraphFor, *, force: bool
) -> tuple[list[dict[str, Any]], datetime, bool]:
    """The cached rows, read again from Meta when stale (or ``force``)."""
    now = datetime.now(UTC)
    with tenant_transaction(tenant_id) as conn:
        cached = _cached(conn)
        number = _number(conn)
    if cached is not None and not force and now - cached[1] < CACHE_TTL:
        return cached[0], cached[1], False
    if number is None:
        raise TemplatesUnavailable(
            message="Esta empresa não tem uma conta do WhatsApp (WABA) configurada:"
            " os modelos não podem ser listados."
        )
    phone_number_id, waba_id = number
    try:
        templates = _fetch(graph_for(phone_number_id), waba_id)
    except (GraphApiError, CircuitOpenError) as error:
        logger.warning(
            "whatsapp templates not listed",
            extra={"error_code": error.code, "cached": cached is not None},
        )
        if cached is None or force:
            raise TemplatesUnavailable() from error
        return cached[0], cached[1], True
    with tenant_transaction(tenant_id) as conn:
        _store(conn, tenant_id, waba_id, templates, now)
        stored = _cached(conn)
    assert stored is not None
    return stored[0], stored[1], False


def _fetch(graph: GraphClient, waba_id: str) -> list[MessageTemplate]:
    found: list[MessageTemplate] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        page = graph.list_templates(waba_id, after=after, limit=PAGE_SIZE)
        found.extend(page.templates)
        after = page.after
        if after is None:
            break
    return found


def _number(conn: Connection) -> tuple[str, str] | None:
    """The tenant's first business number that names its WABA."""
    row = conn.execute(
        "SELECT phone_number_id, waba_id FROM whatsapp_numbers"
        " WHERE waba_id IS NOT NULL ORDER BY created_at, phone_number_id LIMIT 1"
    ).fetchone()
    return (row["phone_number_id"], row["waba_id"]) if row else None


def _cached(conn: Connection) -> tuple[list[dict[str, Any]], datetime] | None:
    catalog = conn.execute(
        "SELECT fetched_at FROM whatsapp_template_catalogs"
    ).fetchone()
    if catalog is None:
        return None
    rows = conn.execute(
        "SELECT name, language, status, category, parameter_format, components"
        " FROM whatsapp_templates ORDER BY name, language"
    ).fetchall()
    return [dict(r) for r in rows], catalog["fetched_at"]


def _store(
    conn: Connection,
    tenant_id: UUID,
    waba_id: str,
    templates: list[MessageTemplate],
    now: datetime,
) -> None:
    # The catalog row's lock serialises two refreshes of one tenant.
    conn.execute(
        "INSERT INTO whatsapp_template_catalogs (tenant_id, waba_id, fetched_at)"
        " VALUES (%s, %s, %s) ON CONFLICT (tenant_id) DO UPDATE"
        " SET waba_id = EXCLUDED.waba_id, fetched_at = EXCLUDED.fetched_at",
        (tenant_id, waba_id, now),
    )
    conn.execute("DELETE FROM whatsapp_templates")
    unique = {(t.name, t.language): t for t in templates}
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO whatsapp_templates (tenant_id, name, language, status,"
            " category, parameter_format, components)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    tenant_id,
                    t.name,
                    t.language,
                    t.status,
                    t.category,
                    t.parameter_format,
                    Jsonb(list(t.components)),
                )
                for t in unique.values()
            ],
        )


# -- shaping -----------------------------------------------------------------


def _window_open(principal: AttendantPrincipal, conversation_id: UUID | None) -> bool:
    if conversation_id is None:
        return False
    with tenant_transaction(principal.tenant_id) as conn:
        conv = load(conn, conversation_id)
    if not may_read(principal, conv):
        raise NotFound("Conversa não encontrada.")
    last = conv["last_inbound_at"]
    return bool(last and datetime.now(UTC) - last < CUSTOMER_WINDOW)


def _views(
    principal: AttendantPrincipal,
    rows: list[dict[str, Any]],
    fetched_at: datetime,
    stale: bool,
    window_open: bool,
) -> TemplateCatalog:
    today = datetime.now(UTC).date()
    views = []
    for row in rows:
        approved = row["status"] == "APPROVED"
        if not approved and not principal.oversees:
            continue
        body = _body(row["components"])
        views.append(
            TemplateView(
                name=row["name"],
                language=row["language"],
                category=row["category"],
                status=row["status"],
                approved=approved,
                body=body,
                parameters=_variables(body),
                charge=charge(row["category"], window_open=window_open, on=today),
            )
        )
    # Approved first (what can be sent), then by name.
    views.sort(key=lambda v: (not v.approved, v.name, v.language))
    return TemplateCatalog(views, fetched_at, stale)


def _body(components: object) -> str | None:
    for component in components if isinstance(components, list) else []:
        if isinstance(component, dict) and str(component.get("type")).upper() == "BODY":
            text = component.get("text")
            return text if isinstance(text, str) else None
    return None


def _variables(body: str | None) -> list[str]:
    """The body's variables, each once, in the order the customer reads them
    (positional ones by number)."""
    seen: list[str] = []
    for match in _VARIABLE.finditer(body or ""):
        if match.group(1) not in seen:
            seen.append(match.group(1))
    if seen and all(v.isdigit() for v in seen):
        seen.sort(key=int)
    return seen


def _parameters(raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidInput(
            'As variáveis do modelo devem ser um objeto, ex.: {"1": "Ana"}.'
        )
    values: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            raise InvalidInput("Cada variável do modelo deve ser um texto.")
        clean = value.strip()
        # Meta refuses line breaks and tabs in a template's parameter.
        if "\n" in clean or "\t" in clean:
            raise InvalidInput("As variáveis do modelo não podem ter quebras de linha.")
        if len(clean) > MAX_VARIABLE_CHARS:
            raise InvalidInput(
                "Cada variável do modelo tem no máximo"
                f" {MAX_VARIABLE_CHARS} caracteres."
            )
        values[str(key)] = clean
    return values
