"""The private LLM (Ollama, llama3:8b in the VPC), grounded on a tenant's
knowledge base. No personal data ever goes to an external LLM API: the only
LLM is the tenant-private Ollama host.

Answers use only the articles found for the question; when they don't hold the
answer the customer is told so ("não sei") instead of getting an invention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import ollama

from atende.config import get_settings
from atende.db import Connection
from atende.errors import DependencyFailed
from atende.observability import logger

__all__ = [
    "DONT_KNOW",
    "GroundedAnswer",
    "KnowledgeArticle",
    "LlmUnavailable",
    "answer_from_knowledge_base",
    "default_client",
    "search_articles",
]

DONT_KNOW = (
    "Não encontrei essa informação na nossa base de atendimento, então prefiro não "
    "chutar. Se quiser, posso chamar uma pessoa da equipe para te ajudar."
)

_ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "found": {"type": "boolean"},
        "answer": {"type": "string"},
    },
    "required": ["found", "answer"],
}

_SYSTEM = (
    "Você é o assistente de atendimento de uma empresa brasileira no WhatsApp. "
    "Responda em português do Brasil, em no máximo 3 frases curtas, usando SOMENTE "
    "as informações dos artigos fornecidos. Se os artigos não contiverem a resposta, "
    'responda com found=false e answer="". Nunca invente preços, prazos ou regras.'
)


class LlmUnavailable(DependencyFailed):
    code = "LLM_INDISPONIVEL"
    message = "O assistente de respostas automáticas está indisponível."


@dataclass(frozen=True)
class KnowledgeArticle:
    id: str
    title: str
    body: str


@dataclass(frozen=True)
class GroundedAnswer:
    text: str
    grounded: bool
    article_ids: tuple[str, ...] = ()


def search_articles(
    conn: Connection, question: str, limit: int = 3
) -> list[KnowledgeArticle]:
    """The tenant's active articles that best match ``question`` (full text, PT)."""
    rows = conn.execute(
        # Any of the question's words may match (OR), best ranked first; accents
        # are folded on both sides.
        "SELECT id::text AS id, title, body FROM knowledge_articles,"
        " CAST(replace(plainto_tsquery('portuguese', fold_accents(%s))::text, '&', '|')"
        " AS tsquery)"
        " AS q"
        " WHERE active AND search @@ q ORDER BY ts_rank(search, q) DESC LIMIT %s",
        (question, limit),
    ).fetchall()
    return [KnowledgeArticle(**row) for row in rows]


def default_client() -> ollama.Client:
    """The Ollama client of the settings.

    Raises:
        LlmUnavailable: no ``OLLAMA_HOST`` configured (the degraded mode).
    """
    settings = get_settings()
    if not settings.ollama_host:
        raise LlmUnavailable()
    return ollama.Client(host=settings.ollama_host, timeout=settings.ollama_timeout_s)


def answer_from_knowledge_base(
    conn: Connection, question: str, *, client: ollama.Client | None = None
) -> GroundedAnswer:
    """Answer ``question`` from the current tenant's knowledge base.

    Raises:
        LlmUnavailable: no LLM configured, or it could not be reached or failed.
    """
    articles = search_articles(conn, question)
    if not articles:
        return GroundedAnswer(DONT_KNOW, grounded=False)
    llm = client or default_client()
    context = "\n\n".join(f"[{a.id}] {a.title}\n{a.body}" for a in articles)
    try:
        response = llm.chat(
            model=get_settings().ollama_model,
            messages=[
                {"role": "system", "content": _SYSTEM},
                {
                    "role": "user",
                    "content": f"Artigos:\n{context}\n\nPergunta: {question}",
                },
            ],
            format=_ANSWER_SCHEMA,
            options={"temperature": 0},
        )
        content = json.loads(response.message.content or "{}")
    except (ollama.ResponseError, ConnectionError, httpx.HTTPError, ValueError) as exc:
        logger.warning("llm unavailable", extra={"error": type(exc).__name__})
        raise LlmUnavailable() from exc
    answer = str(content.get("answer") or "").strip()
    if not content.get("found") or not answer:
        return GroundedAnswer(DONT_KNOW, grounded=False)
    return GroundedAnswer(
        answer, grounded=True, article_ids=tuple(a.id for a in articles)
    )
