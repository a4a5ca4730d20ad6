"""Contract fields read by the private LLM, each one checked against the source.

The tenant-private Ollama host (never an external API: contracts carry personal
data) is asked, with a JSON schema (``format=``), temperature 0 and a PT-BR
system prompt that forbids invention, for the parties, addresses, object, value,
term and people's names of a contract.

Nothing the model says is trusted: every value must be found in the text that
was sent (accents, case and whitespace ignored, whole words; a party's document
by its digits/letters alone, punctuation ignored). A value not found is dropped
and counted in :attr:`ContractFields.dropped` (its path, never its content, in
:attr:`ContractFields.dropped_fields`). A party whose name is not found is
dropped whole; its document or role alone may be dropped (the role becomes
``"outro"``).

Long documents: only the first ``max_chars`` characters are sent (default
:data:`DEFAULT_MAX_CHARS`, cut at a word boundary; no chunking, since parties,
object, value and term are in a contract's opening clauses) and the result says
``truncated=True``. Values are checked against that excerpt.

Unavailability: :func:`extract_contract_fields` raises
:class:`atende.llm.LlmUnavailable` when no LLM is configured (``OLLAMA_HOST``),
it cannot be reached, it fails, or it answers something that is not a JSON
object. A caller that completes without the LLM (the document pipeline, with
validator entities only) uses :func:`extract_contract_fields_or_unavailable`,
which returns :meth:`ContractFields.unavailable` (``llm == "indisponivel"``)
instead of raising.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import httpx
import ollama

from atende.config import get_settings
from atende.llm import LlmUnavailable, default_client
from atende.observability import logger
from atende.validators import normalize_cnpj

__all__ = [
    "CONTRACT_SCHEMA",
    "DEFAULT_MAX_CHARS",
    "PAPEIS",
    "ContractFields",
    "LlmStatus",
    "Parte",
    "extract_contract_fields",
    "extract_contract_fields_or_unavailable",
]

#: Characters of the document sent to the LLM at most. llama3:8b has an 8k-token
#: context; ~12k characters of Portuguese leave room for the prompt and answer.
DEFAULT_MAX_CHARS = 12_000

LlmStatus = Literal["ok", "indisponivel"]

#: Roles a party may have; ``outro`` when none fits or the role is not in the text.
PAPEIS: tuple[str, ...] = (
    "contratante",
    "contratada",
    "locador",
    "locatario",
    "vendedor",
    "comprador",
    "prestador",
    "tomador",
    "fiador",
    "interveniente",
    "testemunha",
    "outro",
)

CONTRACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "partes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "nome": {"type": "string"},
                    "papel": {"type": "string", "enum": list(PAPEIS)},
                    "documento": {"type": "string"},
                },
                "required": ["nome", "papel", "documento"],
            },
        },
        "enderecos": {"type": "array", "items": {"type": "string"}},
        "objeto": {"type": "string"},
        "valor": {"type": "string"},
        "prazo": {"type": "string"},
        "nomes": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["partes", "enderecos", "objeto", "valor", "prazo", "nomes"],
}

_SYSTEM = (
    "Você extrai dados de contratos brasileiros. Responda somente com o JSON "
    "pedido. Copie cada valor LITERALMENTE do texto do contrato, exatamente como "
    "está escrito; não resuma, não traduza, não corrija e NUNCA invente. Se uma "
    'informação não estiver no texto, use "" (ou uma lista vazia). Campos: '
    "partes (nome de cada parte, seu papel no contrato e o CPF ou CNPJ dela como "
    'escrito, ou ""), enderecos (endereços completos como escritos), objeto (o '
    "trecho que descreve o objeto do contrato), valor (o valor como escrito, por "
    "exemplo R$ 1.500,00), prazo (o prazo ou vigência como escrito) e nomes "
    "(nomes de pessoas físicas citadas)."
)


@dataclass(frozen=True)
class Parte:
    """A party of the contract."""

    nome: str
    papel: str
    documento: str | None = None


@dataclass(frozen=True)
class ContractFields:
    """Contract fields found by the LLM and confirmed in the source text.

    Attributes:
        llm: ``"ok"``, or ``"indisponivel"`` when the LLM could not be used (all
            other fields are then empty).
        dropped: how many values the LLM gave that were not in the text.
        dropped_fields: where those values were (``"partes[1].nome"``,
            ``"valor"``), never the values themselves.
        truncated: the document was longer than the cap and only its beginning
            was sent.
        chars_sent: characters of the document sent to the LLM.
    """

    partes: tuple[Parte, ...] = ()
    enderecos: tuple[str, ...] = ()
    objeto: str | None = None
    valor: str | None = None
    prazo: str | None = None
    nomes: tuple[str, ...] = ()
    llm: LlmStatus = "ok"
    dropped: int = 0
    dropped_fields: tuple[str, ...] = field(default=())
    truncated: bool = False
    chars_sent: int = 0

    @classmethod
    def unavailable(cls) -> ContractFields:
        """The result when the LLM could not be used."""
        return cls(llm="indisponivel")

    @property
    def available(self) -> bool:
        """Whether the LLM answered."""
        return self.llm == "ok"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tuples as lists)."""
        body = asdict(self)
        body["partes"] = [asdict(p) for p in self.partes]
        for key in ("enderecos", "nomes", "dropped_fields"):
            body[key] = list(body[key])
        return body


def _fold(text: str) -> str:
    """Case-folded, without accents (same length per kept character)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


class _Source:
    """The text sent to the LLM, for checking values against it."""

    def __init__(self, text: str) -> None:
        self.folded = _fold(text)
        self.text = text

    def contains(self, value: str) -> bool:
        """``value`` occurs in the text as whole words, ignoring accents, case and
        whitespace."""
        chars = [ch for ch in _fold(value) if not ch.isspace()]
        if not chars:
            return False
        pattern = r"\s*".join(re.escape(ch) for ch in chars)
        if chars[0].isalnum():
            pattern = r"(?<!\w)" + pattern
        if chars[-1].isalnum():
            pattern += r"(?!\w)"
        return re.search(pattern, self.folded) is not None

    def find_document(self, value: str) -> str | None:
        """The CPF/CNPJ ``value`` as written in the text, matched by its digits and
        letters alone (punctuation and spacing ignored), or None."""
        chars = normalize_cnpj(value)
        if not any(ch.isdigit() for ch in chars):
            return None
        pattern = r"[\s./-]*".join(re.escape(ch) for ch in chars)
        found = re.search(
            r"(?<![0-9A-Za-z])" + pattern + r"(?![0-9A-Za-z])", self.text, re.IGNORECASE
        )
        return found.group() if found else None

    def has_role(self, papel: str) -> bool:
        """The role's word, either gender (``contratad``), occurs in the text."""
        stem = papel[:-1] if papel.endswith(("a", "o")) else papel
        return re.search(r"(?<!\w)" + re.escape(stem), self.folded) is not None


class _Checker:
    def __init__(self, source: _Source) -> None:
        self.source = source
        self.dropped: list[str] = []

    def text(self, value: Any, where: str, *, required: bool = False) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            # "Not in the text", as the prompt asks: nothing dropped, unless the
            # value is what makes its item (a party's name).
            if required:
                self.dropped.append(where)
            return None
        if isinstance(value, str) and self.source.contains(value):
            return " ".join(value.split())
        self.dropped.append(where)
        return None

    def texts(self, values: Any, where: str) -> tuple[str, ...]:
        if not isinstance(values, list):
            if values:
                self.dropped.append(where)
            return ()
        kept: list[str] = []
        for i, value in enumerate(values):
            checked = self.text(value, f"{where}[{i}]")
            if checked and _fold(checked) not in {_fold(k) for k in kept}:
                kept.append(checked)
        return tuple(kept)

    def partes(self, values: Any) -> tuple[Parte, ...]:
        if not isinstance(values, list):
            if values:
                self.dropped.append("partes")
            return ()
        kept: list[Parte] = []
        for i, value in enumerate(values):
            where = f"partes[{i}]"
            if not isinstance(value, dict):
                self.dropped.append(where)
                continue
            nome = self.text(value.get("nome"), f"{where}.nome", required=True)
            if nome is None:
                continue  # the party is dropped whole
            kept.append(Parte(nome, self._papel(value, where), self._doc(value, where)))
        return tuple(kept)

    def _papel(self, value: dict[str, Any], where: str) -> str:
        papel = str(value.get("papel") or "outro").strip().lower()
        if papel == "outro":
            return papel
        if papel not in PAPEIS or not self.source.has_role(papel):
            self.dropped.append(f"{where}.papel")
            return "outro"
        return papel

    def _doc(self, value: dict[str, Any], where: str) -> str | None:
        documento = value.get("documento")
        if not documento or (isinstance(documento, str) and not documento.strip()):
            return None
        found = (
            self.source.find_document(documento) if isinstance(documento, str) else None
        )
        if found is None:
            self.dropped.append(f"{where}.documento")
        return found


def _excerpt(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    if not text[max_chars].isspace():  # don't send half a word
        last_space = max(cut.rfind(ch) for ch in " \n\t")
        if last_space > max_chars // 2:
            cut = cut[:last_space]
    return cut


def extract_contract_fields(
    text: str,
    *,
    client: ollama.Client | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> ContractFields:
    """The contract fields of ``text``, each confirmed in the text.

    Args:
        text: the contract's text (text layer or OCR).
        client: the Ollama client; by default one for ``OLLAMA_HOST``.
        max_chars: at most this many characters of ``text`` are sent.

    Raises:
        LlmUnavailable: no LLM configured, it could not be reached or failed, or
            its answer was not a JSON object.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    excerpt = _excerpt(text, max_chars)
    if not excerpt.strip():
        return ContractFields()
    llm = client or default_client()
    try:
        response = llm.chat(
            model=get_settings().ollama_model,
            messages=[
                {"role": "system", "content": _SYSTEM},
                {"role": "user", "content": f"Contrato:\n{excerpt}"},
            ],
            format=CONTRACT_SCHEMA,
            options={"temperature": 0},
        )
        content = json.loads(response.message.content or "")
    except (ollama.ResponseError, ConnectionError, httpx.HTTPError, ValueError) as exc:
        logger.warning("contract llm unavailable", extra={"error": type(exc).__name__})
        raise LlmUnavailable() from exc
    if not isinstance(content, dict):
        logger.warning("contract llm unavailable", extra={"error": "NotAnObject"})
        raise LlmUnavailable()

    check = _Checker(_Source(excerpt))
    result = ContractFields(
        partes=check.partes(content.get("partes")),
        enderecos=check.texts(content.get("enderecos"), "enderecos"),
        objeto=check.text(content.get("objeto"), "objeto"),
        valor=check.text(content.get("valor"), "valor"),
        prazo=check.text(content.get("prazo"), "prazo"),
        nomes=check.texts(content.get("nomes"), "nomes"),
        dropped=len(check.dropped),
        dropped_fields=tuple(check.dropped),
        truncated=len(excerpt) < len(text),
        chars_sent=len(excerpt),
    )
    if check.dropped:
        logger.info(
            "contract llm values not in the text dropped",
            extra={"dropped": len(check.dropped), "fields": list(check.dropped)},
        )
    return result


def extract_contract_fields_or_unavailable(
    text: str,
    *,
    client: ollama.Client | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> ContractFields:
    """Like :func:`extract_contract_fields`, but an unavailable LLM gives
    :meth:`ContractFields.unavailable` (``llm == "indisponivel"``) instead of
    raising, for callers that complete with validator entities only."""
    try:
        return extract_contract_fields(text, client=client, max_chars=max_chars)
    except LlmUnavailable:
        return ContractFields.unavailable()
