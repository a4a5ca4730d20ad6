"""LGPD rights and contacts: the admin API (``/v1/admin``) and the one-time
download of access exports (``/v1/lgpd/exports``).

Admin routes take a signed-in attendant (``Authorization: Bearer``); export,
erasure, consent text and retention are for admins, consents for admins and
supervisors, contacts for every role (CPF masked unless admin). The download
route is public: its one-time token is the credential, and it answers with a
303 to a presigned S3 URL, as the contacts spreadsheet does.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from atende import consent, contacts
from atende.db import tenant_transaction
from atende.errors import InvalidInput
from atende.identity import AttendantPrincipal, Role
from atende.lgpd import access, erasure, retention
from atende.lgpd.access import CustomerNotFound

from .bodies import ConsentDecision, ConsentTextBody, RetentionBody
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


@blueprint.route("/v1/admin/customers/{customer_id}/export", methods=["POST"])
@api_errors
def export_customer(customer_id: str) -> Response:
    principal = route.attendant(Role.ADMIN)
    link = access.create_export(
        principal.tenant_id,
        uuid_param(customer_id, "cliente"),
        context=route.context(principal.actor),
    )
    return json_response(
        {
            "export_id": str(link.export_id),
            "expires_at": link.expires_at.isoformat(),
            "json_url": link.url("dados.json", base_url=_public_base()),
            "xlsx_url": link.url("dados.xlsx", base_url=_public_base()),
        },
        status_code=201,
    )


@blueprint.route("/v1/lgpd/exports/{export_id}/{name}", methods=["GET"])
@api_errors
def download_export(export_id: str, name: str) -> Response:
    """The customer's click on a one-time link: 303 to a presigned S3 download
    (valid 5 minutes), which the browser follows; the link is then used."""
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
    return _see_other(
        offered.url, {"url": offered.url, "expires_in": offered.expires_in}
    )


@blueprint.route("/v1/admin/customers/{customer_id}/erasure", methods=["POST"])
@api_errors
def erase_customer(customer_id: str) -> Response:
    principal = route.attendant(Role.ADMIN)
    proof = erasure.erase_customer(
        principal.tenant_id,
        uuid_param(customer_id, "cliente"),
        context=route.context(principal.actor),
    )
    return json_response(proof.to_json())


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
