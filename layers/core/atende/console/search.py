"""Searching conversations: by message text, customer name, phone, @username,
protocol or label, in keyset pages, newest activity first.

What was typed is classified by the same rule as the Privacidade page's
customer search (:mod:`atende.contacts.lookup`): a number, an @username or a
protocol is looked up exactly (the number in all the ways Meta may have
written it); anything else is words, found in the conversation's messages
and its customer's name (Portuguese full text, accents folded, stemmed:
"boleto" finds "boletos"; quotes for a phrase, ``-palavra`` to exclude, ``or``
for either). Whole words: the Privacidade page's name search matches any part
of a name, which a table scan answers for its 20 results; here it would be a
scan of every customer at every keystroke-sized search.

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
from atende.contacts.lookup import phone_forms, protocol_range, search_kind
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
MAX_WORDS = 8  # words of a query looked up; the full-text check sees all
#: How far a word's holders are counted to choose the plan: past this, the
#: word is common enough that walking newest first wins.
COUNTED = 50_000
MatchedBy = Literal["protocol", "username", "phone", "name", "text", "label"]
_EXCLUDED = re.compile(r'-"[^"]*"|-\S+')
_OR = re.compile(r"\bor\b", re.IGNORECASE)
_QUERY = "websearch_to_tsquery('portuguese'::regconfig, fold_accents(%(text)s))"
# Attendants: their own conversations and the ones waiting in their queue.
_ATTENDANT_SCOPE = (
    "(v.assigned_attendant_id = %(me)s OR (v.state = 'waiting_human'"
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


def _exact(q: str, params: dict[str, Any]) -> tuple[str | None, MatchedBy]:
    """The condition on the conversation ``v`` for a phone, @username or
    protocol; None for words."""
    by, value = search_kind(q)
    if by == "protocol":
        # A conversation's own id, or an LGPD request's protocol (its customer).
        params["lo"], params["hi"] = protocol_range(value)
        # Two index lookups, not an OR: that would read every conversation.
        return (
            "v.id IN (SELECT id FROM conversations WHERE id BETWEEN %(lo)s"
            " AND %(hi)s UNION ALL SELECT o.id FROM lgpd_requests r JOIN"
            " conversations o ON o.tenant_id = r.tenant_id"
            " AND o.customer_id = r.customer_id"
            " WHERE r.id BETWEEN %(lo)s AND %(hi)s)"
        ), by
    if by == "username":
        params["username"] = value
        return (
            "v.customer_id IN (SELECT id FROM customers"
            " WHERE username_key = %(username)s)"
        ), by
    if by == "phone":
        params["forms"] = phone_forms(value)
        return (
            "v.customer_id IN (SELECT id FROM customers"
            " WHERE phone = ANY(%(forms)s) OR wa_user_id = ANY(%(forms)s))"
        ), by
    params["text"] = value
    return None, "text"


def _lexemes(conn: Connection, text: str) -> tuple[list[str], bool]:
    """The words a conversation must hold for ``text`` to match it, stemmed
    and folded as conversation_terms keeps them, and whether any one of them
    will do (``a or b``) rather than all. Excluded words (``-palavra``) are
    left to the full-text check."""
    positive = _EXCLUDED.sub(" ", text)
    any_of = bool(_OR.search(positive))
    row = conn.execute(
        "SELECT message_lexemes(%s) AS lexemes", (_OR.sub(" ", positive),)
    ).fetchone()
    return (list(row["lexemes"]) if row else [])[:MAX_WORDS], any_of


def _rare_words(
    conn: Connection, lexemes: list[str], any_of: bool, page: int
) -> str | None:
    """The conversations to read when the words are rare (a condition on
    ``v``), or None when walking every conversation newest first should fill
    a page sooner.

    Each word's holders are counted (up to :data:`COUNTED`, index only); the
    share of conversations matching is estimated as if the words were
    independent, against the table's size in the catalogue."""
    rows = conn.execute(
        "SELECT w, (SELECT count(*) FROM (SELECT 1 FROM conversation_terms"
        "  WHERE lexeme = w LIMIT %(counted)s) s) AS n,"
        " (SELECT greatest(reltuples, 1) FROM pg_class"
        "  WHERE oid = 'conversations'::regclass) AS total"
        " FROM unnest(%(lexemes)s::text[]) w ORDER BY n",
        {"lexemes": lexemes, "counted": COUNTED},
    ).fetchall()
    shares = [min(1.0, row["n"] / row["total"]) for row in rows]
    if any_of:  # any one word: every holder of each
        missed = 1.0
        for share in shares:
            missed *= 1 - share
        share, read = 1 - missed, sum(row["n"] for row in rows)
        rare = "= ANY(%(lexemes)s)"
    else:  # all the words: the holders of the rarest
        share, read = 1.0, rows[0]["n"]
        for each in shares:
            share *= each
        rare = f"= %(w{lexemes.index(rows[0]['w'])})s"
    walked = page / share if share else float("inf")
    if walked < read:
        return None
    return (
        f"v.id IN (SELECT conversation_id FROM conversation_terms WHERE lexeme {rare})"
    )


def _words_page(conn: Connection, text: str, base: str, params: dict[str, Any]) -> str:
    """The page of conversations (``base``, already scoped) that hold the
    words of ``text``, in their messages or their customer's name.

    Under FORCE RLS PostgreSQL uses an index only for a leakproof condition,
    and the full-text match is not one: the words are looked up by equality
    in conversation_terms (0023.search.sql), one index probe per word and
    conversation. That answers plain words exactly; a phrase or an exclusion
    is then checked on the conversation's text, newest conversation first,
    only until the page is full."""
    lexemes, any_of = _lexemes(conn, text)
    if not lexemes:  # only stop words or exclusions: nothing to look up
        return f"{base} AND false"
    params |= {f"w{n}": w for n, w in enumerate(lexemes)}
    params["lexemes"] = lexemes

    def holds(words: str) -> str:
        # A scalar probe, so the planner keeps it per conversation instead of
        # reading every conversation that holds a common word.
        return (
            "(SELECT true FROM conversation_terms t WHERE t.tenant_id = v.tenant_id"
            f" AND t.conversation_id = v.id AND t.lexeme {words} LIMIT 1)"
        )

    found = (
        holds("= ANY(%(lexemes)s)")
        if any_of
        else " AND ".join(holds(f"= %(w{n})s") for n in range(len(lexemes)))
    )
    checked = ""
    if '"' in text or _EXCLUDED.search(text):
        checked = (
            " WHERE (SELECT to_tsvector('portuguese'::regconfig, fold_accents("
            "coalesce(c.display_name, '') || ' ' || coalesce((SELECT"
            " string_agg(m.body, ' . ' ORDER BY m.created_at) FROM messages m"
            " WHERE m.tenant_id ="
            " w.tenant_id AND m.conversation_id = w.id AND m.body IS NOT NULL"
            " AND (m.payload->>'secret') IS DISTINCT FROM 'true'), '')))"
            f" @@ {_QUERY} FROM customers c WHERE c.tenant_id = w.tenant_id"
            " AND c.id = w.customer_id)"
        )
    order = " ORDER BY w.last_activity_at DESC, w.id DESC LIMIT %(limit)s"
    rare = _rare_words(conn, lexemes, any_of, params["limit"])
    if rare is not None:
        # Rare words: their conversations, newest first (OFFSET 0 keeps a
        # phrase's check out of the sort), checked until the page is full.
        return (
            f"SELECT w.* FROM ({base} AND {rare} AND {found}"
            " ORDER BY v.last_activity_at DESC, v.id DESC"
            f" OFFSET 0) w{checked}{order}"
        )
    # Common words: walking the conversations newest first fills a page soon.
    return f"SELECT w.* FROM ({base} AND {found}) w{checked}{order}"


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
    exact, matched_by = _exact(q, params) if q is not None else (None, "label")
    scope = "true" if principal.oversees else _ATTENDANT_SCOPE
    if label is not None:
        scope += (
            " AND EXISTS (SELECT 1 FROM conversation_labels cl"
            " WHERE cl.conversation_id = v.id AND cl.label_id = %(label)s)"
        )
    if cursor is not None:
        params["at"], params["id"] = decode_cursor(cursor, datetime, UUID)
        scope += " AND (v.last_activity_at, v.id) < (%(at)s, %(id)s)"
    base = (
        "SELECT v.id, v.tenant_id, v.customer_id, v.assigned_attendant_id,"
        f" v.last_activity_at FROM conversations v WHERE {scope}"
    )
    with tenant_transaction(principal.tenant_id) as conn:
        if label is not None:
            require_label(conn, label)
        if matched_by == "text":
            page_sql = _words_page(conn, params["text"], base, params)
        else:
            page_sql = (
                base
                + (f" AND {exact}" if exact else "")
                + " ORDER BY v.last_activity_at DESC, v.id DESC LIMIT %(limit)s"
            )
        # Words show the latest message holding one of them; found by the
        # name alone, none.
        excerpt = (
            "(SELECT m.body FROM messages m WHERE m.tenant_id = w.tenant_id"
            " AND m.conversation_id = w.id AND m.body IS NOT NULL"
            " AND (m.payload->>'secret') IS DISTINCT FROM 'true'"
            " AND message_lexemes(m.body) && %(lexemes)s::text[]"
            " ORDER BY m.created_at DESC LIMIT 1)"
            if matched_by == "text" and "lexemes" in params
            else "NULL::text"
        )
        # The page's customers and attendants, read for the page only.
        rows = conn.execute(
            "SELECT w.id, w.last_activity_at, v.state, v.team, c.display_name,"
            f" c.username, c.phone, a.display_name AS attendant, {excerpt} AS excerpt"
            f" FROM ({page_sql}) w"
            " JOIN conversations v ON v.tenant_id = w.tenant_id AND v.id = w.id"
            " JOIN customers c ON c.tenant_id = w.tenant_id AND c.id = w.customer_id"
            " LEFT JOIN attendants a ON a.tenant_id = w.tenant_id"
            "  AND a.id = w.assigned_attendant_id"
            " ORDER BY w.last_activity_at DESC, w.id DESC",
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
                if matched_by == "text" and not r["excerpt"]
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
                "search_kind": "words" if matched_by == "text" else matched_by,
                "search_length": len(q) if q is not None else 0,
                "label_id": str(label) if label is not None else None,
                "rows": len(results),
                "page": "next" if cursor is not None else "first",
            },
        )
    return SearchPage(results=results, next_cursor=next_cursor)
