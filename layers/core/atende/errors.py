"""Errors with stable machine codes and PT-BR messages.

Clients see ``{"error": {"code": ..., "message": ...}}`` and never a stack trace.
The HTTP status of each error kind is decided here and nowhere else.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AtendeError(Exception):
    """Base error: a stable ``code`` and a message a Brazilian user can read."""

    code: ClassVar[str] = "ERRO_INTERNO"
    message: ClassVar[str] = "Ocorreu um erro interno. Tente novamente em instantes."

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.user_message = message or self.message
        self.details = details
        super().__init__(self.user_message)

    def to_body(self) -> dict[str, Any]:
        """The JSON body sent to clients."""
        body: dict[str, Any] = {"code": self.code, "message": self.user_message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(AtendeError):
    code = "ENTRADA_INVALIDA"
    message = "Os dados enviados são inválidos."


class PageLimitInvalid(InvalidInput):
    """A list's ``limit`` outside 1..its maximum: refused, never clamped, so
    a client never mistakes a short page for the end of the list."""

    code = "LIMITE_INVALIDO"
    message = "O parâmetro 'limit' está fora do permitido."


class CursorInvalid(InvalidInput):
    code = "CURSOR_INVALIDO"
    message = "O cursor de paginação é inválido. Recomece da primeira página."


class UnknownLabel(InvalidInput):
    code = "ETIQUETA_INEXISTENTE"
    message = "Etiqueta não encontrada. Atualize a lista de etiquetas."


class UnknownTeam(InvalidInput):
    code = "EQUIPE_INEXISTENTE"
    message = "Equipe não encontrada. Escolha uma das equipes da lista."


class CannedShortcutInvalid(InvalidInput):
    code = "ATALHO_INVALIDO"
    message = (
        "O atalho deve ter de 1 a 32 caracteres: letras minúsculas sem acento,"
        " números, - ou _ (ex.: saudacao)."
    )


class CannedBodyTooLong(InvalidInput):
    code = "RESPOSTA_LONGA_DEMAIS"
    message = "O texto da resposta rápida passa de 4.096 caracteres."


class UnknownTemplateVariable(InvalidInput):
    code = "VARIAVEL_DESCONHECIDA"
    message = "Variável desconhecida. Use {{nome}}, {{protocolo}} ou {{atendente}}."


class UnfilledVariable(InvalidInput):
    code = "VARIAVEL_NAO_PREENCHIDA"
    message = "Preencha as variáveis ({{...}}) antes de enviar."


class TemplateNotFound(InvalidInput):
    code = "MODELO_INEXISTENTE"
    message = (
        "Modelo não encontrado entre os modelos do WhatsApp desta empresa."
        " Atualize a lista de modelos e tente de novo."
    )


class TemplateVariablesMissing(InvalidInput):
    code = "VARIAVEIS_DO_MODELO_FALTANDO"
    message = "Preencha todas as variáveis do modelo antes de enviar."


class PresenceInvalid(InvalidInput):
    code = "PRESENCA_INVALIDA"
    message = "Presença inválida. Use online (Disponível), away (Ausente) ou offline."


class CapacityInvalid(InvalidInput):
    code = "CAPACIDADE_INVALIDA"
    message = "O máximo de conversas simultâneas deve ser um número inteiro de 1 a 100."


class TimeoutInvalid(InvalidInput):
    code = "TEMPO_LIMITE_INVALIDO"
    message = "O tempo para responder deve ser um número inteiro de 1 a 1.440 minutos."


class Unauthenticated(AtendeError):
    code = "NAO_AUTENTICADO"
    message = "Credencial ausente ou inválida."


class Forbidden(AtendeError):
    code = "ACESSO_NEGADO"
    message = "Você não tem permissão para esta operação."


class NotFound(AtendeError):
    code = "NAO_ENCONTRADO"
    message = "Recurso não encontrado."


class Conflict(AtendeError):
    code = "CONFLITO"
    message = "A operação conflita com o estado atual do recurso."


class CannedShortcutTaken(Conflict):
    code = "ATALHO_DUPLICADO"
    message = "Já existe uma resposta rápida com esse atalho."


class TemplateNotApproved(Conflict):
    code = "MODELO_NAO_APROVADO"
    message = "Este modelo não está aprovado pelo WhatsApp e não pode ser enviado."


class MethodNotAllowed(AtendeError):
    code = "METODO_NAO_PERMITIDO"
    message = "Método HTTP não permitido para este recurso."


class PayloadTooLarge(AtendeError):
    code = "CONTEUDO_GRANDE_DEMAIS"
    message = "O conteúdo enviado excede o tamanho permitido."


class UnsupportedMediaType(InvalidInput):
    code = "TIPO_NAO_SUPORTADO"
    message = "Tipo de arquivo não suportado."


class MediaTooLarge(PayloadTooLarge):
    code = "MIDIA_GRANDE_DEMAIS"
    message = "O arquivo passa do tamanho permitido para envio pelo WhatsApp."


class MediaTypeNotAllowed(UnsupportedMediaType):
    code = "TIPO_DE_MIDIA_NAO_ACEITO"
    message = (
        "Tipo de arquivo não aceito. Envie imagem JPEG ou PNG, PDF ou áudio OGG (Opus)."
    )


class MediaContentMismatch(UnsupportedMediaType):
    code = "MIDIA_NAO_CONFERE"
    message = "O conteúdo do arquivo não corresponde ao tipo informado."


class RateLimited(AtendeError):
    code = "LIMITE_DE_REQUISICOES"
    message = "Muitas requisições. Aguarde e tente novamente."

    def __init__(self, retry_after_s: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ServiceUnavailable(AtendeError):
    code = "SERVICO_INDISPONIVEL"
    message = "Serviço temporariamente indisponível. Tente novamente em instantes."

    def __init__(self, retry_after_s: int | None = None, message: str | None = None):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TemplatesUnavailable(ServiceUnavailable):
    code = "MODELOS_INDISPONIVEIS"
    message = (
        "Não foi possível carregar os modelos do WhatsApp agora."
        " Tente novamente em instantes."
    )


class DependencyFailed(AtendeError):
    code = "FALHA_DE_DEPENDENCIA"
    message = "Um serviço necessário falhou. Tente novamente em instantes."


class DecryptionRefused(AtendeError):
    """Ciphertext not decryptable under this tenant's key or context."""

    code = "DECIFRAGEM_RECUSADA"
    message = "Não foi possível abrir os dados protegidos deste cliente."


# The single place where error kinds become HTTP statuses; the most specific
# class in an error's MRO wins.
_HTTP_STATUS: dict[type[AtendeError], int] = {
    AtendeError: 500,
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    MethodNotAllowed: 405,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    RateLimited: 429,
    DependencyFailed: 502,
    ServiceUnavailable: 503,
    DecryptionRefused: 500,
}


def http_status(error: AtendeError) -> int:
    """HTTP status for an error, by its nearest mapped class."""
    return status_of(type(error))


def status_of(kind: type[AtendeError]) -> int:
    """HTTP status for an error class (the API contract lists them by class)."""
    for cls in kind.__mro__:
        if cls in _HTTP_STATUS:
            return _HTTP_STATUS[cls]
    return 500


def http_headers(error: AtendeError) -> dict[str, str]:
    """Extra response headers an error calls for (e.g. ``Retry-After``)."""
    retry_after = getattr(error, "retry_after_s", None)
    return {"Retry-After": str(retry_after)} if retry_after is not None else {}
