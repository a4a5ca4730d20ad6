"""Searching conversations: by message text, customer name, phone, @username,
protocol or label, in keyset pages, newest activity first.

What was typed is classified by the same rule as the Privacidade page's
customer search (:mod:`atende.contacts.lookup`): a number, an @username or a
protocol is looked up exactly; anything else is a name (accents and case
folded, anywhere in it) or words of a message (Portuguese full text through
``messages_search_idx``; quotes for a phrase, ``-palavra`` to exclude).

Everyone finds only what they may open: supervisors and admins every
conversation of the tenant, attendants theirs and the ones waiting in their
queue (the rule :func:`~atende.console.access.may_read` applies). Each result
carries a short excerpt of the latest matching message, CPFs masked, as text
parts (the console never renders it as HTML). The search is audited with its
kind, length and result count; never the term, which is personal data (a
phone or a name), and not its hash either (a phone's hash is a phone).
"""

# Queries compose only this module's fixed conditions; values are bound.
# ruff: noqa: S608

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from atende.audit import RequestContext, record_event
from atende.console.access import masked_phone, shown_text
from atende.console.annotations import labels_of, require_label
from atende.console.views import LabelView
from atende.contacts.lookup import (
    like_pattern,
    phone_forms,
    protocol_range,
    search_kind,
)
from atende.conversations.store import State
from atende.db import Connection, tenant_transaction
from atende.db.paging import decode_cursor, keyset_page, page_limit
from atende.errors import InvalidInput
from atende.identity import AttendantPrincipal

__all__ = [
    "SEARCH_LIMIT",
    "SearchHit",
    "SearchPage",
    "SearchRequired",
    "SnippetPart",
    "search_conversations",
]

SEARCH_LIMIT = 50
SNIPPET_CHARS = 160  # about two lines of the results list
MatchedBy = Literal["protocol", "username", "phone", "name", "text", "label"]

# The same expression as messages_search_idx (0023.search.sql), so the index
# answers it; hidden texts (one-time links) are never searched.
_TEXT_MATCH = (
    "m.body IS NOT NULL AND (m.payload->>'secret') IS DISTINCT FROM 'true'"
    " AND to_tsvector('portuguese'::regconfig, fold_accents(m.body))"
    " @@ websearch_to_tsquery('portuguese'::regconfig, fold_accents(%(text)s))"
)
_NAME_MATCH = "fold_accents(c.display_name) LIKE fold_accents(%(name)s)"
# Attendants: their own conversations and the ones waiting in their queue.
_ATTENDANT_SCOPE = (
    " AND (v.assigned_attendant_id = %(me)s OR (v.state = 'waiting_human'"
    " AND (v.team IS NULL OR v.team = %(team)s)))"
)


class SearchRequired(InvalidInput):
    code = "BUSCA_VAZIA"
    message = "Digite o que procurar ou escolha uma etiqueta."


@dataclass(frozen=True)
class SnippetPart:
    text: str
    hit: bool  # a word the search matched: highlighted


@dataclass(frozen=True)
class SearchHit:
    conversation_id: UUID
    state: State
    team: str | None
    customer: str
    username: str | None
    phone: str | None  # masked: the last four digits
    attendant: str | None
    last_activity_at: datetime
    labels: list[LabelView]
    matched_by: MatchedBy
    snippet: list[SnippetPart] | None  # text matches: the matching message


@dataclass(frozen=True)
class SearchPage:
    results: list[SearchHit]
    next_cursor: str | None  # None: this was the last page


def _candidates(q: str | None, params: dict[str, Any]) -> tuple[str, MatchedBy]:
    """The conversations matching ``q`` (a subquery of ids), and how."""
    if q is None:
        return "", "label"
    by, value = search_kind(q)
    if by == "protocol":
        # A conversation's own id, or an LGPD request's protocol (its customer).
        params["lo"], params["hi"] = protocol_range(value)
        return (
            "SELECT id FROM conversations WHERE id BETWEEN %(lo)s AND %(hi)s"
            " UNION SELECT v.id FROM lgpd_requests r JOIN conversations v"
            "  ON v.tenant_id = r.tenant_id AND v.customer_id = r.customer_id"
            " WHERE r.id BETWEEN %(lo)s AND %(hi)s"
        ), by
    if by == "username":
        params["username"] = value
        return (
            "SELECT v.id FROM customers c JOIN conversations v"
            " ON v.tenant_id = c.tenant_id AND v.customer_id = c.id"
            " WHERE lower(ltrim(c.username, '@')) = %(username)s"
        ), by
    if by == "phone":
        params["forms"] = phone_forms(value)
        return (
            "SELECT v.id FROM customers c JOIN conversations v"
            " ON v.tenant_id = c.tenant_id AND v.customer_id = c.id"
            " WHERE c.phone = ANY(%(forms)s) OR c.wa_user_id = ANY(%(forms)s)"
        ), by
    params["name"], params["text"] = like_pattern(value), value
    return (
        "SELECT v.id FROM customers c JOIN conversations v"
        " ON v.tenant_id = c.tenant_id AND v.customer_id = c.id"
        f" WHERE {_NAME_MATCH}"
        f" UNION SELECT m.conversation_id FROM messages m WHERE {_TEXT_MATCH}"
    ), "text"


def _snippet(conn: Connection, body: str, text: str) -> list[SnippetPart]:
    """About :data:`SNIPPET_CHARS` of ``body`` around its first word that
    ``text`` matched, CPFs masked, the matched words marked."""
    shown = shown_text(body) or ""
    words = sorted(set(re.findall(r"\w+", shown)))
    # A word is a hit when it stems to one of the query's words (accents
    # folded): the same analysis the index uses.
    hits = {
        row["w"]
        for row in conn.execute(
            "SELECT w FROM unnest(%s::text[]) w WHERE"
            " tsvector_to_array(to_tsvector('portuguese'::regconfig,"
            " fold_accents(w))) && tsvector_to_array(to_tsvector("
            "'portuguese'::regconfig, fold_accents(%s)))",
            (words, text),
        )
    }
    spans = [m for m in re.finditer(r"\w+", shown) if m.group(0) in hits]
    start = max(0, spans[0].start() - SNIPPET_CHARS // 3) if spans else 0
    end = min(len(shown), start + SNIPPET_CHARS)
    if start > 0:  # begin on a word
        start = shown.find(" ", start) + 1 or start
    parts: list[SnippetPart] = [SnippetPart("…", False)] if start > 0 else []
    at = start
    for span in spans:
        if span.start() < start or span.end() > end:
            continue
        if span.start() > at:
            parts.append(SnippetPart(shown[at : span.start()], False))
        parts.append(SnippetPart(span.group(0), True))
        at = span.end()
    if at < end:
        parts.append(SnippetPart(shown[at:end], False))
    if end < len(shown):
        parts.append(SnippetPart("…", False))
    return parts


def search_conversations(
    principal: AttendantPrincipal,
    *,
    q: str | None,
    label: UUID | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    context: RequestContext,
) -> SearchPage:
    """A page of the conversations matching ``q`` (and ``label``), newest
    activity first; audited without the term.

    Raises:
        SearchRequired: neither a term nor a label.
        SearchTermInvalid: a term too short, too long or a number too short.
        UnknownLabel: ``label`` is not one of the tenant's.
        CursorInvalid, PageLimitInvalid: a bad page.
    """
    q = q.strip() if q is not None and q.strip() else None
    if q is None and label is None:
        raise SearchRequired()
    limit = page_limit(limit, default=20, maximum=SEARCH_LIMIT)
    params: dict[str, Any] = {
        "me": principal.attendant_id,
        "team": principal.team,
        "label": label,
        "limit": limit + 1,
    }
    candidates, matched_by = _candidates(q, params)
    condition = f"v.id IN ({candidates})" if candidates else "true"
    if not principal.oversees:
        condition += _ATTENDANT_SCOPE
    if label is not None:
        condition += (
            " AND EXISTS (SELECT 1 FROM conversation_labels cl"
            " WHERE cl.conversation_id = v.id AND cl.label_id = %(label)s)"
        )
    if cursor is not None:
        params["at"], params["id"] = decode_cursor(cursor, datetime, UUID)
        condition += " AND (v.last_activity_at, v.id) < (%(at)s, %(id)s)"
    # A free-text match shows its latest matching message; a customer found
    # by name shows none.
    excerpt = (
        "(SELECT m.body FROM messages m WHERE m.tenant_id = page.tenant_id"
        f" AND m.conversation_id = page.id AND {_TEXT_MATCH}"
        " ORDER BY m.created_at DESC LIMIT 1)"
        if matched_by == "text"
        else "NULL::text"
    )
    by_name = _NAME_MATCH if matched_by == "text" else "false"
    with tenant_transaction(principal.tenant_id) as conn:
        if label is not None:
            require_label(conn, label)
        rows = conn.execute(
            f"SELECT page.*, {excerpt} AS excerpt"
            " FROM (SELECT v.id, v.tenant_id, v.state, v.team,"
            " v.last_activity_at, c.display_name, c.username, c.phone,"
            f" a.display_name AS attendant, {by_name} AS by_name"
            " FROM conversations v"
            " JOIN customers c ON c.tenant_id = v.tenant_id AND c.id = v.customer_id"
            " LEFT JOIN attendants a ON a.tenant_id = v.tenant_id"
            "  AND a.id = v.assigned_attendant_id"
            f" WHERE {condition}"
            " ORDER BY v.last_activity_at DESC, v.id DESC LIMIT %(limit)s) page"
            " ORDER BY page.last_activity_at DESC, page.id DESC",
            params,
        ).fetchall()
        page, next_cursor = keyset_page(
            rows, limit, lambda r: (r["last_activity_at"], r["id"])
        )
        labels = labels_of(conn, [r["id"] for r in page])
        results = [
            SearchHit(
                conversation_id=r["id"],
                state=State(r["state"]),
                team=r["team"],
                customer=r["display_name"]
                or (f"@{r['username']}" if r["username"] else "Cliente"),
                username=r["username"],
                phone=masked_phone(r["phone"]),
                attendant=r["attendant"],
                last_activity_at=r["last_activity_at"],
                labels=labels.get(r["id"], []),
                matched_by="name"
                if matched_by == "text" and r["by_name"] and not r["excerpt"]
                else matched_by,
                snippet=_snippet(conn, r["excerpt"], params["text"])
                if r["excerpt"]
                else None,
            )
            for r in page
        ]
        record_event(
            conn,
            action="CONVERSATIONS_SEARCHED",
            subject_type="conversations",
            subject_id=None,
            context=context,
            details={
                # How it was searched, never what: the term is personal data.
                "search_kind": matched_by if q is None else search_kind(q)[0],
                "search_length": len(q) if q is not None else 0,
                "label_id": str(label) if label is not None else None,
                "rows": len(results),
                "page": "next" if cursor is not None else "first",
            },
        )
    return SearchPage(results=results, next_cursor=next_cursor)
