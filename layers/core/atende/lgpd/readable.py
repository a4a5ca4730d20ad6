"""The access export as a person reads it: PT-BR section names, column
headers and values instead of codes, São Paulo times; as a spreadsheet and as
an HTML page (no script, every value escaped). The JSON keeps the codes for
machines (its times carry the São Paulo offset)."""

from __future__ import annotations

import html
import io
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from atende.spreadsheets import literal

__all__ = ["SAO_PAULO", "link_error_page", "to_html", "to_xlsx"]

SAO_PAULO = ZoneInfo("America/Sao_Paulo")

SECTIONS: dict[str, str] = {
    "perfil": "Cadastro",
    "consentimentos": "Autorizações",
    "conversas": "Conversas",
    "mensagens": "Mensagens",
    "contatos": "Contatos",
    "documentos": "Documentos",
    "solicitacoes_lgpd": "Pedidos LGPD",
    "registro_de_acessos": "Registro de acessos",
}
SECTION_HINTS: dict[str, str] = {
    "perfil": "Como o WhatsApp nos identifica.",
    "consentimentos": "Cada vez que você autorizou ou não o uso dos seus dados.",
    "contatos": "Dados de contato que você nos escreveu nas mensagens.",
    "documentos": "Arquivos que você nos enviou.",
    "registro_de_acessos": "Quem fez o quê com os seus dados, e quando.",
}
HEADERS: dict[str, str] = {
    "id": "Identificador",
    "whatsapp_id": "ID no WhatsApp",
    "telefone": "Telefone",
    "usuario_whatsapp": "Usuário no WhatsApp",
    "nome_no_whatsapp": "Nome no WhatsApp",
    "whatsapp_ids_anteriores": "IDs anteriores no WhatsApp",
    "criado_em": "Primeiro contato em",
    "atualizado_em": "Atualizado em",
    "finalidade": "Finalidade",
    "autorizado": "Autorizou?",
    "revogacao": "Retirada de autorização?",
    "versao_do_texto": "Versão do texto",
    "origem": "Onde foi registrado",
    "registrado_em": "Registrado em",
    "estado": "Situação",
    "aberta_em": "Aberta em",
    "encerrada_em": "Encerrada em",
    "motivo_encerramento": "Motivo do encerramento",
    "conversa_id": "Conversa",
    "direcao": "Direção",
    "tipo": "Tipo",
    "texto": "Texto",
    "status": "Situação",
    "criada_em": "Data e hora",
    "valor": "Valor",
    "encontrado_por": "Encontrado por",
    "mensagem_de_origem": "Mensagem de origem",
    "visto_primeiro_em": "Visto pela primeira vez em",
    "visto_por_ultimo_em": "Visto pela última vez em",
    "mensagem_id": "Mensagem",
    "tipo_de_arquivo": "Tipo de arquivo",
    "nome_do_arquivo": "Nome do arquivo",
    "guardado_conosco": "Guardado conosco?",
    "recebido_em": "Recebido em",
    "solicitado_em": "Pedido em",
    "concluido_em": "Concluído em",
    "quando": "Quando",
    "acao": "O que aconteceu",
    "sobre": "Sobre",
    "sobre_id": "Registro",
    "quem_tipo": "Quem",
    "quem_id": "Identificador de quem",
}
_MESSAGE_TYPES = {
    "text": "Texto",
    "document": "Documento",
    "image": "Imagem",
    "audio": "Áudio",
    "video": "Vídeo",
    "sticker": "Figurinha",
    "location": "Localização",
    "contacts": "Contato",
    "interactive": "Resposta a botão ou lista",
    "button": "Resposta a botão",
    "reaction": "Reação",
    "template": "Mensagem modelo",
}
# Values by column; a code missing here is shown as it is.
VALUES: dict[str, dict[str, str]] = {
    "direcao": {"inbound": "Enviada por você", "outbound": "Enviada pela empresa"},
    "status": {
        "received": "Recebida",
        "pending": "Na fila de envio",
        "sent": "Enviada",
        "delivered": "Entregue",
        "read": "Lida",
        "failed": "Não enviada",
        "open": "Aberto",
        "in_progress": "Em andamento",
        "done": "Concluído",
        "rejected": "Recusado",
    },
    "estado": {
        "bot": "Com o assistente virtual",
        "waiting_human": "Aguardando atendente",
        "with_human": "Com atendente",
        "closed": "Encerrada",
    },
    "tipo": {
        **_MESSAGE_TYPES,
        "name": "Nome",
        "cpf": "CPF",
        "email": "E-mail",
        "phone": "Telefone",
        "address": "Endereço",
        "cep": "CEP",
        "access": "Acesso aos dados",
        "erasure": "Exclusão dos dados",
    },
    "tipo_de_arquivo": {
        "application/pdf": "PDF",
        "image/jpeg": "Imagem JPEG",
        "image/png": "Imagem PNG",
    },
    "encontrado_por": {
        "validator": "Verificação automática",
        "llm": "Assistente de IA",
    },
    "finalidade": {"atendimento_whatsapp": "Atendimento pelo WhatsApp"},
    "origem": {
        "whatsapp_bot": "No WhatsApp, por você",
        "admin_api": "Pela empresa, a seu pedido",
    },
    "motivo_encerramento": {
        "inactivity": "Sem atividade",
        "merged": "Unida a outra conversa",
        "transferencia": "Transferida",
    },
    "acao": {
        "CONSENT_GRANTED": "Você autorizou o uso dos seus dados",
        "CONSENT_REFUSED": "Você não autorizou o uso dos seus dados",
        "CONSENT_WITHDRAWN": "Você retirou a autorização",
        "LGPD_ACCESS_REQUESTED": "Pedido de acesso aos dados aberto",
        "LGPD_ERASURE_REQUESTED": "Pedido de exclusão dos dados aberto",
        "LGPD_EXPORT_CREATED": "Cópia dos seus dados preparada",
        "LGPD_EXPORT_DELIVERED": "Cópia dos seus dados baixada",
        "LGPD_REQUEST_DONE": "Pedido LGPD concluído",
        "LGPD_CUSTOMER_NOTIFIED": "Aviso enviado a você pelo WhatsApp",
        "LGPD_NOTICE_FAILED": "Aviso pelo WhatsApp não pôde ser enviado",
        "CUSTOMER_LOOKED_UP": "Seu cadastro foi consultado pela empresa",
        "MEDIA_ACCESSED": "Arquivo aberto por um atendente",
        "HANDOFF_REQUESTED": "Conversa passada para um atendente",
        "CONVERSATION_CLAIMED": "Um atendente assumiu a conversa",
        "CONVERSATION_VIEWED": "Conversa lida por um atendente",
        "CONVERSATION_TRANSFERRED": "Conversa transferida",
        "CONVERSATION_RETURNED_TO_BOT": "Conversa devolvida ao assistente",
        "CONVERSATION_CLOSED": "Conversa encerrada",
        "CONVERSATION_LABELLED": "Etiqueta na conversa",
        "ATTENDANT_REPLIED": "Um atendente respondeu",
        "NOTE_ADDED": "Anotação interna na conversa",
        "BOT_MEMORY_ERASED": "Memória do assistente apagada",
    },
    "sobre": {
        "customer": "Seu cadastro",
        "conversation": "Conversa",
        "message": "Mensagem",
    },
    "quem_tipo": {
        "customer": "Você",
        "attendant": "Atendente",
        "system": "Sistema",
        "api_key": "Integração",
        "operator": "Operação",
    },
}


def _when(value: str) -> str:
    return (
        datetime.fromisoformat(value).astimezone(SAO_PAULO).strftime("%d/%m/%Y %H:%M")
    )


def _phone(digits: str) -> str:
    """A Brazilian number as people write it; others as they are."""
    if digits.startswith("55") and len(digits) in (12, 13) and digits.isdigit():
        local = digits[4:]
        return f"+55 {digits[2:4]} {local[:-4]}-{local[-4:]}"
    return digits


def _value(column: str, value: Any) -> str:
    """One value as a person reads it."""
    if value is None or value == []:
        return ""
    if column == "telefone":
        return _phone(str(value))
    if isinstance(value, bool):
        return "Sim" if value else "Não"
    if isinstance(value, list | dict):
        return (
            ", ".join(map(str, value))
            if isinstance(value, list)
            else json.dumps(value, ensure_ascii=False)
        )
    text = str(value)
    if column.endswith(("_em", "quando")):
        try:
            return _when(text)
        except ValueError:
            return text
    return VALUES.get(column, {}).get(text, text)


def _sections(
    data: Mapping[str, Any],
) -> list[tuple[str, str, list[str], list[list[str]]]]:
    """(key, title, headers, rows) of each section, values readable."""
    out = []
    for key, title in SECTIONS.items():
        content = data.get(key, [])
        rows = [content] if isinstance(content, dict) else list(content)
        columns = list(rows[0]) if rows else []
        headers = [HEADERS.get(c, c) for c in columns]
        values = [[_value(c, row.get(c)) for c in columns] for row in rows]
        if key == "solicitacoes_lgpd" and "id" in columns:
            # The customer knows a request by the protocol the bot gave them.
            at = columns.index("id")
            headers[at] = "Protocolo"
            for row in values:
                row[at] = row[at].split("-")[0].upper()
        out.append((key, title, headers, values))
    return out


def to_xlsx(data: Mapping[str, Any]) -> bytes:
    """One sheet per section (write-only mode), PT-BR headers and values."""
    workbook = Workbook(write_only=True)
    for _key, title, headers, rows in _sections(data):
        sheet = workbook.create_sheet(title[:31])
        if not rows:
            sheet.append(["(nenhum registro)"])
            continue
        sheet.append(headers)
        for row in rows:
            sheet.append([literal(sheet, cell) for cell in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:72rem;"
    "padding:1rem;color:#1b1b1b;line-height:1.4}"
    "table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}"
    "th,td{border:1px solid #c8c8c8;padding:.35rem .5rem;text-align:left;"
    "vertical-align:top}th{background:#eef2f7}"
    # The section's heading shows the title; the caption names the table.
    "caption{position:absolute;width:1px;height:1px;overflow:hidden;"
    "clip-path:inset(50%)}.hint{color:#444}section{margin-bottom:1.5rem}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}"
    "dt{font-weight:600}dd{margin:0}"
)


def to_html(data: Mapping[str, Any], *, business: str) -> bytes:
    """A page to read in the browser: the profile as a list, each other
    section as a table; no script, every value escaped."""
    e = html.escape
    parts = [
        "<!doctype html><html lang='pt-BR'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Seus dados — {e(business)}</title><style>{_STYLE}</style>",
        "</head><body><main>",
        f"<h1>Seus dados guardados por {e(business)}</h1>",
        "<p>Cópia gerada em "
        f"{e(_value('gerado_em', data.get('gerado_em')))} (horário de Brasília),"
        " conforme a Lei Geral de Proteção de Dados (LGPD, art. 18).</p>",
    ]
    for key, title, headers, rows in _sections(data):
        parts.append(f"<section><h2>{e(title)}</h2>")
        if key in SECTION_HINTS:
            parts.append(f"<p class='hint'>{e(SECTION_HINTS[key])}</p>")
        if not rows:
            parts.append("<p>Nenhum registro.</p></section>")
            continue
        if key == "perfil":
            items = "".join(
                f"<dt>{e(h)}</dt><dd>{e(v) or '—'}</dd>"
                for h, v in zip(headers, rows[0], strict=True)
            )
            parts.append(f"<dl>{items}</dl></section>")
            continue
        head = "".join(f"<th scope='col'>{e(h)}</th>" for h in headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{e(v)}</td>" for v in row) + "</tr>" for row in rows
        )
        parts.append(
            f"<table><caption>{e(title)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></section>"
        )
    parts.append("</main></body></html>")
    return "".join(parts).encode()


def link_error_page(title: str, message: str) -> str:
    """What a customer's browser shows when their download link can't be used
    (expired, already used, wrong): a page in PT-BR, not an API error."""
    e = html.escape
    return (
        "<!doctype html><html lang='pt-BR'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>{e(title)}</h1><p>{e(message)}</p>"
        "<p>Para receber uma nova cópia dos seus dados, escreva no WhatsApp da"
        " empresa: <strong>quero acessar meus dados</strong>.</p></main></body></html>"
    )
