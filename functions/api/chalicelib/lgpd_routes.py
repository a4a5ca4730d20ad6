"""LGPD rights and contacts: the admin API (``/v1/admin``) and the one-time
download of access exports (``/v1/lgpd/exports``).

Admin routes take a signed-in attendant (``Authorization: Bearer``); export,
erasure, consent texts, customer search, LGPD requests and retention are for
admins, consents for admins and supervisors, contacts for every role (CPF
masked unless admin). The download route is public: its one-time token is the
credential, and it answers with a 303 to a presigned S3 URL, as the contacts
spreadsheet does; a browser whose link can't be used gets a PT-BR page.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from atende import composition, consent, contacts
from atende.db import tenant_transaction
from atende.errors import AtendeError, InvalidInput, http_status
from atende.identity import AttendantPrincipal, Role
from atende.lgpd import access, customers, retention
from atende.lgpd import requests as lgpd_requests
from atende.lgpd.access import CustomerNotFound
from atende.lgpd.readable import link_error_page

from .bodies import ConsentDecision, ConsentTextBody, LgpdRequestBody, RetentionBody
from .web import Plumbing, api_errors, client_ip, json_response, uuid_param

blueprint = Blueprint(__name__)
route = Plumbing(blueprint)


def _public_base() -> str | None:
    """This API's own public URL as API Gateway names it (None locally, where
    PUBLIC_API_URL applies)."""
    context = route.request().context or {}
    domain, stage = context.get("domainName"), context.get("stage")
    if not domain or not stage or domain == "localhost":
        return None
    return f"https://{domain}/{stage}"


def _customer_exists(principal: AttendantPrincipal, customer_id: Any) -> None:
    with tenant_transaction(principal.tenant_id) as conn:
        if not conn.execute(
            "SELECT 1 FROM customers WHERE id = %s", (customer_id,)
        ).fetchone():
            raise CustomerNotFound()


def _see_other(url: str, body: dict[str, Any]) -> Response:
    """303 to a presigned S3 download: any size (an API response stops at
    6 MB); browsers and `curl -L` follow it."""
    return Response(
        body=body,
        status_code=303,
        headers={
            "Location": url,
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
        },
    )


# -- consent -------------------------------------------------------------


@blueprint.route("/v1/admin/consent-text", methods=["GET"])
@api_errors
def get_consent_text() -> Response:
    principal = route.attendant(Role.ADMIN, Role.SUPERVISOR)
    with tenant_transaction(principal.tenant_id) as conn:
        text = consent.current_text(conn)
    if text is None:
        return json_response({"version": None, "body": None})
    return json_response(
        {
            "version": text.version,
            "body": text.body,
            "published_at": text.published_at.isoformat(),
        }
    )


@blueprint.route("/v1/admin/consent-text", methods=["PUT"])
@api_errors
def publish_consent_text() -> Response:
    principal = route.attendant(Role.ADMIN)
    try:
        body = route.body(ConsentTextBody).body
    except InvalidInput as exc:
        raise consent.ConsentTextInvalid() from exc
    with tenant_transaction(principal.tenant_id) as conn:
        text = consent.publish_text(conn, body, context=route.context(principal.actor))
    return json_response(
        {
            "version": text.version,
            "body": text.body,
            "published_at": text.published_at.isoformat(),
        },
        status_code=201,
    )


@blueprint.route("/v1/admin/consent-texts", methods=["GET"])
@api_errors
def list_consent_texts() -> Response:
    """Every published version, newest first, with who published it."""
    principal = route.attendant(Role.ADMIN)
    with tenant_transaction(principal.tenant_id) as conn:
        return json_response({"versions": consent.list_texts(conn)})


@blueprint.route("/v1/admin/customers/{customer_id}/consents", methods=["GET"])
@api_errors
def list_consents(customer_id: str) -> Response:
    principal = route.attendant(Role.ADMIN, Role.SUPERVISOR)
    customer = uuid_param(customer_id, "cliente")
    _customer_exists(principal, customer)
    with tenant_transaction(principal.tenant_id) as conn:
        decisions = consent.history(
            conn,
            customer,
            limit=route.optional_int("limit"),
            cursor=route.query().get("cursor"),
        )
        in_force = consent.has_consent(conn, customer)
    return json_response(
        {
            "granted": in_force,
            "decisions": decisions.items,
            "next_cursor": decisions.next_cursor,
        }
    )


@blueprint.route("/v1/admin/customers/{customer_id}/consents", methods=["POST"])
@api_errors
def withdraw_consent(customer_id: str) -> Response:
    """Records the customer's withdrawal (told to the business by phone, in
    the shop…). A grant comes only from the customer, in the chat."""
    principal = route.attendant(Role.ADMIN, Role.SUPERVISOR)
    customer = uuid_param(customer_id, "cliente")
    if route.body(ConsentDecision).granted is not False:
        raise InvalidInput(
            'Pelo painel só é possível registrar a revogação ("granted": false); '
            "a autorização é dada pelo próprio cliente."
        )
    _customer_exists(principal, customer)
    with tenant_transaction(principal.tenant_id) as conn:
        decision = consent.record_consent(
            conn,
            customer_id=customer,
            granted=False,
            source="admin_api",
            context=route.context(principal.actor),
        )
    return json_response(
        {
            "granted": decision.granted,
            "withdrawal": decision.withdrawal,
            "text_version": decision.text_version,
            "recorded_at": decision.recorded_at.isoformat()
            if decision.recorded_at
            else None,
        },
        status_code=201,
    )


# -- access and erasure ----------------------------------------------------


@blueprint.route("/v1/admin/customers", methods=["GET"])
@api_errors
def search_customers() -> Response:
    """Find a customer by WhatsApp number, @username, name or protocol
    (``q``); every customer shown is audited."""
    principal = route.attendant(Role.ADMIN)
    with tenant_transaction(principal.tenant_id) as conn:
        hits = customers.search_customers(
            conn, route.query().get("q", ""), context=route.context(principal.actor)
        )
    return json_response({"customers": hits})


@blueprint.route("/v1/admin/lgpd-requests", methods=["GET"])
@api_errors
def list_lgpd_requests() -> Response:
    """Open requests (``situacao=abertos``, the default) or all (``todos``),
    with LGPD's 15-day deadline; pages (``limit``, ``cursor``)."""
    principal = route.attendant(Role.ADMIN)
    which = route.query().get("situacao", "abertos")
    if which not in ("abertos", "todos"):
        raise InvalidInput('Situação inválida (use "abertos" ou "todos").')
    with tenant_transaction(principal.tenant_id) as conn:
        listed = lgpd_requests.list_requests(
            conn,
            status="open" if which == "abertos" else "all",
            context=route.context(principal.actor),
            limit=route.optional_int("limit"),
            cursor=route.query().get("cursor"),
        )
    return json_response({"requests": listed.items, "next_cursor": listed.next_cursor})


@blueprint.route("/v1/admin/customers/{customer_id}/lgpd-requests", methods=["POST"])
@api_errors
def open_lgpd_request(customer_id: str) -> Response:
    """Record a request the customer made another way (phone, e-mail…)."""
    principal = route.attendant(Role.ADMIN)
    customer = uuid_param(customer_id, "cliente")
    kind = route.body(LgpdRequestBody).kind
    with tenant_transaction(principal.tenant_id) as conn:
        request_id, new = lgpd_requests.open_for_customer(
            conn, customer, kind, context=route.context(principal.actor)
        )
    return json_response(
        {
            "id": request_id,
            "protocol": lgpd_requests.protocol(request_id),
            "kind": kind,
            "new": new,
        },
        status_code=201 if new else 200,
    )


@blueprint.route("/v1/admin/customers/{customer_id}/export", methods=["POST"])
@api_errors
def export_customer(customer_id: str) -> Response:
    """The export's one-time links; when it answers the customer's open access
    request, they also go to the customer on WhatsApp."""
    principal = route.attendant(Role.ADMIN)
    base = _public_base()
    done = lgpd_requests.export_and_notify(
        principal.tenant_id,
        uuid_param(customer_id, "cliente"),
        engine=composition.engine(),
        context=route.context(principal.actor),
        base_url=base,
    )
    link = done.link
    return json_response(
        {
            "export_id": str(link.export_id),
            "expires_at": link.expires_at.isoformat(),
            "json_url": link.url("dados.json", base_url=base),
            "xlsx_url": link.url("dados.xlsx", base_url=base),
            "html_url": link.url("dados.html", base_url=base),
            "request_id": done.request_id,
            "customer_notified": done.customer_notified,
            "notice_error": done.notice_error,
        },
        status_code=201,
    )


@blueprint.route("/v1/lgpd/exports/{export_id}/{name}", methods=["GET"])
@api_errors
def download_export(export_id: str, name: str) -> Response:
    """The customer's click on a one-time link: 303 to a presigned S3 download
    (valid 5 minutes), which the browser follows; the link is then used."""
    try:
        try:
            export = uuid_param(export_id, "exportação")
        except InvalidInput as exc:
            raise access.ExportLinkInvalid() from exc
        offered = access.offer_export(
            export,
            name,
            route.query().get("token"),
            ip=client_ip(route.request()),
        )
    except AtendeError as error:
        # The customer clicked in their browser: a page, not an API error.
        if "text/html" in route.request().headers.get("accept", ""):
            return Response(
                body=link_error_page("Link indisponível", error.user_message),
                status_code=http_status(error),
                headers={
                    "Content-Type": "text/html; charset=utf-8",
                    "Cache-Control": "no-store",
                },
            )
        raise
    return _see_other(
        offered.url, {"url": offered.url, "expires_in": offered.expires_in}
    )


@blueprint.route("/v1/admin/customers/{customer_id}/erasure", methods=["POST"])
@api_errors
def erase_customer(customer_id: str) -> Response:
    """Erase the customer; when that answers their request, they are told on
    WhatsApp (``notice_error`` says why not, when it could not go)."""
    principal = route.attendant(Role.ADMIN)
    proof, notice_error = lgpd_requests.erase_and_notify(
        principal.tenant_id,
        uuid_param(customer_id, "cliente"),
        engine=composition.engine(),
        context=route.context(principal.actor),
    )
    return json_response({**proof.to_json(), "notice_error": notice_error})


# -- retention -------------------------------------------------------------


@blueprint.route("/v1/admin/retention", methods=["PUT"])
@api_errors
def set_retention() -> Response:
    principal = route.attendant(Role.ADMIN)
    try:
        # Strict integers: JSON true is not a number of days.
        body = route.body(RetentionBody)
    except InvalidInput as exc:
        raise retention.PolicyInvalid() from exc
    with tenant_transaction(principal.tenant_id) as conn:
        policy = retention.set_policy(
            conn,
            messages_days=body.messages_days,
            exports_hours=body.exports_hours,
            context=route.context(principal.actor),
        )
    return json_response(
        {"messages_days": policy.messages_days, "exports_hours": policy.exports_hours}
    )


# -- contacts --------------------------------------------------------------


@blueprint.route("/v1/admin/contacts", methods=["GET"])
@api_errors
def list_contacts() -> Response:
    """Look contacts up (attendants: a search, its first 50 results) or browse
    them (supervisors and admins); pages of at most 50, audited without the term."""
    principal = route.attendant()
    page = contacts.search_contacts(
        principal,
        search=route.query().get("q"),
        limit=route.optional_int("limit"),
        offset=route.int_param("offset", 0),
        context=route.context(principal.actor),
    )
    return json_response(page)


@blueprint.route("/v1/admin/contacts.xlsx", methods=["GET"])
@api_errors
def export_contacts() -> Response:
    """The whole base in one file: supervisors and admins only (minimisation);
    attendants look contacts up one search at a time."""
    principal = route.attendant(Role.ADMIN, Role.SUPERVISOR)
    offered = contacts.offer_xlsx(
        principal.tenant_id,
        role=principal.role,
        context=route.context(principal.actor),
        search=route.query().get("q"),
    )
    return _see_other(
        offered.url,
        {"url": offered.url, "rows": offered.rows, "expires_in": offered.expires_in},
    )
