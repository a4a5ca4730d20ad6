"""Custom actions: handoff, grounded LLM answers, clarifying questions, consent,
LGPD rights, forms.

Each action on a tenant's data learns the tenant from the metadata the
conversation worker sends with every message, and only once its signature
checks out (``atende.bot.signing``: this tenant, this conversation, lately);
the conversation is the sender id. It then calls one atende use case inside
that tenant's transaction. An unsigned or forged tenant gets a neutral answer
and an error log, and no data is read or written.
"""

from __future__ import annotations

import abc
import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from atende import composition, conversations, lgpd, llm
from atende.audit import Actor, RequestContext
from atende.bot.signing import TenantNotVerified, verify_tenant
from atende.bot.tracker import GROUNDED_SLOT
from atende.config import get_settings
from atende.consent import PROMPT_BUTTONS
from atende.consent import status as consent_status
from atende.conversations import store, waiting
from atende.conversations.after_hours import out_of_hours_reply
from atende.conversations.handoff import handoff_to_human
from atende.conversations.store import State
from atende.db import tenant_transaction
from atende.lgpd import access
from atende.observability import logger, mask_pii
from atende.tenancy.hours import hours_answer
from atende.validators import is_valid_cpf, only_digits

BOT = Actor("system", "bot")

# The handoff message answers what the customer just said (see _handoff_text).
HANDOFF_ASKED = (
    "Certo! Vou te passar para uma pessoa da nossa equipe. Em instantes alguém "
    "continua o atendimento por aqui, tá bom?"
)
HANDOFF_CANT_ANSWER = (
    "Essa eu não consigo te responder por aqui 😕 Vou te passar para uma pessoa da "
    "nossa equipe, que continua o atendimento em instantes, tá bom?"
)
# After utter_empatia_* already said a person takes over.
HANDOFF_AFTER_EMPATHY = "Em instantes alguém continua o atendimento por aqui, tá bom?"
HANDOFF_NOT_SOLVED = (
    "Que pena que não resolveu 😕 Vou te passar para uma pessoa do suporte, que "
    "continua o atendimento por aqui em instantes."
)
HANDOFF_WITH_CPF = (
    "Recebi seu CPF ({cpf}), obrigado! Vou te passar para uma pessoa da nossa "
    "equipe, que localiza o seu boleto e continua o atendimento por aqui em instantes."
)
HANDOFF_WITH_ORDER = (
    "Recebi o número do pedido ({pedido}), obrigado! Vou te passar para uma pessoa da "
    "nossa equipe, que confere o seu pedido e continua por aqui em instantes."
)
HANDOFF_DEFAULT = (
    "Vou te passar para uma pessoa da nossa equipe. Em instantes alguém continua o "
    "atendimento por aqui, tá bom?"
)
# After a return to the bot, a question it can't answer no longer goes
# straight back to people: the customer decides.
CANT_ANSWER_AFTER_RETURN = (
    "Essa eu não consigo te responder por aqui 😕 Se quiser falar com uma pessoa "
    "de novo, é só escrever *atendente*."
)
NOT_VERIFIED_TEXT = (
    "Desculpe, não consegui concluir isso agora. Pode tentar de novo daqui a pouco?"
)
HANDOFF_REASONS = {
    "falar_com_atendente": "pedido_do_cliente",
    "reclamacao": "reclamacao",
    "cancelar": "cancelamento",
    "segunda_via_boleto": "segunda_via_boleto",
    "status_pedido": "status_pedido",
    "suporte_tecnico": "suporte_tecnico",
    "negar": "suporte_tecnico",
}
ORDER_NUMBER = re.compile(r"(?:PED-?)?(\d{6,10})")


def _signed_tenant(tracker: Tracker) -> UUID:
    """The tenant the worker signed into this turn's message (the last user
    event: an action runs in the turn of the message that triggered it).

    Raises:
        TenantNotVerified: unsigned, forged, for another conversation, or old.
    """
    metadata = next(
        (
            event.get("metadata") or {}
            for event in reversed(tracker.events)
            if event.get("event") == "user"
        ),
        {},
    )
    return verify_tenant(
        composition.action_signing_key() or "",
        metadata,
        sender=str(tracker.sender_id),
        max_age_s=get_settings().action_signature_max_age_s,
    )


class _TenantAction(Action, abc.ABC):
    """An action on a tenant's data; abstract, so rasa-sdk doesn't register it.

    ``run`` checks the tenant before anything else; ``run_for`` does the work.
    """

    @abc.abstractmethod
    def name(self) -> str: ...

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            tenant_id = _signed_tenant(tracker)
        except TenantNotVerified as refused:
            # Neither the claimed tenant nor the metadata: only why, and where.
            logger.error(
                "tenant not verified",
                extra={
                    "action": self.name(),
                    "reason": refused.reason,
                    "conversation_id": str(tracker.sender_id),
                },
            )
            dispatcher.utter_message(text=NOT_VERIFIED_TEXT)
            return []
        return self.run_for(tenant_id, dispatcher, tracker, domain)

    @abc.abstractmethod
    def run_for(
        self,
        tenant_id: UUID,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]: ...


def _intent(tracker: Tracker) -> str:
    return str((tracker.latest_message.get("intent") or {}).get("name") or "")


def _conversation_id(tracker: Tracker) -> UUID:
    return UUID(tracker.sender_id)


def _masked_cpf(cpf: str) -> str:
    digits = only_digits(cpf)
    return f"***.***.***-{digits[-2:]}"


class ActionHandoff(_TenantAction):
    def name(self) -> str:
        return "action_handoff"

    def run_for(
        self,
        tenant_id: UUID,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        intents = [
            e["parse_data"]["intent"]["name"]
            for e in tracker.events
            if e.get("event") == "user" and e.get("parse_data", {}).get("intent")
        ]
        trigger = next((i for i in reversed(intents) if i in HANDOFF_REASONS), "")
        reason = (
            "llm_indisponivel"
            if tracker.get_slot("llm_disponivel") is False
            else (HANDOFF_REASONS.get(trigger, "bot"))
        )
        # The reason travels as a code, shown in words (atende.conversations.reasons).
        details: list[str] = []
        if tracker.get_slot("cpf"):
            details.append(f"CPF validado {_masked_cpf(tracker.get_slot('cpf'))}")
        if tracker.get_slot("numero_pedido"):
            details.append(f"Pedido {tracker.get_slot('numero_pedido')}")
        last_text = tracker.latest_message.get("text") or ""
        if last_text:
            details.append(f'Última mensagem: "{mask_pii(last_text)[:200]}"')
        handoff_to_human(
            tenant_id,
            _conversation_id(tracker),
            reason=reason,
            summary="; ".join(details) or None,
        )
        # Outside business hours: when a person will answer, not "em instantes".
        closed = out_of_hours_reply(tenant_id, _conversation_id(tracker))
        dispatcher.utter_message(text=closed or _handoff_text(tracker))
        # No ConversationPaused: while people have it, the rules send every
        # message to action_aguardando, and LGPD requests to their actions.
        return [
            SlotSet("handoff_motivo", reason),
            SlotSet("atendimento_humano", True),
            SlotSet("aviso_fila_em", None),
            SlotSet("aviso_fila_posicao", None),
        ]


def _handoff_text(tracker: Tracker) -> str:
    """The handoff message for what the customer just said: "Certo!" only to
    someone who asked for a person, never to a question the bot can't answer."""
    intent = _intent(tracker)
    if intent == "falar_com_atendente":
        return HANDOFF_ASKED
    if intent in ("fora_do_escopo", "nlu_fallback"):
        return HANDOFF_CANT_ANSWER
    if intent in ("reclamacao", "cancelar"):
        return HANDOFF_AFTER_EMPATHY
    if intent == "negar":
        return HANDOFF_NOT_SOLVED
    if intent in ("segunda_via_boleto", "informar_cpf") and tracker.get_slot("cpf"):
        return HANDOFF_WITH_CPF.format(cpf=_masked_cpf(tracker.get_slot("cpf")))
    if intent in ("status_pedido", "informar_pedido") and tracker.get_slot(
        "numero_pedido"
    ):
        return HANDOFF_WITH_ORDER.format(pedido=tracker.get_slot("numero_pedido"))
    return HANDOFF_DEFAULT


class ActionAguardando(_TenantAction):
    """Any message while people have the conversation: the customer hears
    they were heard, without a reply to every message (atende.conversations.waiting)."""

    def name(self) -> str:
        return "action_aguardando"

    def run_for(
        self,
        tenant_id: UUID,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        last_at = tracker.get_slot("aviso_fila_em")
        last_position = tracker.get_slot("aviso_fila_posicao")
        now = datetime.now(UTC)
        conversation_id = _conversation_id(tracker)
        with tenant_transaction(tenant_id) as conn:
            if store.get_conversation(conn, conversation_id).state is State.BOT:
                # Given back to the bot while this message was on its way:
                # the dialogue leaves the people's mode.
                dispatcher.utter_message(response="utter_default")
                return [SlotSet("atendimento_humano", None)]
            ack = waiting.acknowledgement(
                conn,
                conversation_id,
                asked_for_person=_intent(tracker) == "falar_com_atendente",
                last_at=datetime.fromisoformat(last_at) if last_at else None,
                last_position=int(last_position) if last_position else None,
                now=now,
            )
        if ack is None:
            return []
        dispatcher.utter_message(text=ack.text)
        return [
            SlotSet("aviso_fila_em", now.isoformat()),
            SlotSet("aviso_fila_posicao", ack.position),
        ]


class ActionHorario(_TenantAction):
    """ "Qual o horário de vocês?": the hours this tenant's admin set in the
    console, and whether people answer now (a fixed text would be another
    tenant's hours)."""

    def name(self) -> str:
        return "action_horario"

    def run_for(
        self,
        tenant_id: UUID,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        with tenant_transaction(tenant_id) as conn:
            dispatcher.utter_message(text=hours_answer(conn, datetime.now(UTC)))
        return []


class ActionLlmAnswer(_TenantAction):
    """Out-of-scope or low-confidence turns: the tenant's knowledge base via the
    private LLM; ``llm_disponivel=False`` makes the rules hand off instead."""

    def name(self) -> str:
        return "action_llm_answer"

    def run_for(
        self,
        tenant_id: UUID,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        question = tracker.latest_message.get("text") or ""
        returned = False
        try:
            with tenant_transaction(tenant_id) as conn:
                customer_id = store.get_conversation(
                    conn, _conversation_id(tracker)
                ).customer_id
                returned = store.returned_by_people(conn, _conversation_id(tracker))
                if not lgpd.has_consent(conn, customer_id):
                    # No LLM on the messages of someone who hasn't consented
                    # (LGPD): a person answers instead.
                    return _cant_answer(dispatcher, returned=returned)
                answer = llm.answer_from_knowledge_base(conn, question)
        except llm.LlmUnavailable:
            return _cant_answer(dispatcher, returned=returned)
        dispatcher.utter_message(text=answer.text)
        return [
            SlotSet("llm_disponivel", True),
            SlotSet(GROUNDED_SLOT, answer.grounded),
        ]


# The intents a clarifying question may offer, with what the customer reads on
# each button (WhatsApp: at most 20 characters). Never consent (decided only on
# its own buttons), nor small talk, yes/no or bare data: nothing to choose.
CLARIFY_OPTIONS = {
    "segunda_via_boleto": "2ª via do boleto",
    "status_pedido": "Status do pedido",
    "suporte_tecnico": "Problema na internet",
    "reclamacao": "Fazer reclamação",
    "cancelar": "Cancelar serviço",
    "horario_atendimento": "Horário atendimento",
    "falar_com_atendente": "Falar com atendente",
    "meus_dados": "Ver meus dados",
    "apagar_meus_dados": "Apagar meus dados",
}
MAX_CLARIFY_BUTTONS = 3  # WhatsApp's reply buttons
# Below this, a typed access request is asked about before the data is sent.
ACCESS_CONFIDENCE = 0.9
CLARIFY_TEXT = (
    "Não tenho certeza se entendi 🤔 É sobre alguma destas opções? Se não for, "
    "me conta com outras palavras."
)
REPHRASE_TEXT = "Não tenho certeza se entendi 🤔 Me conta com outras palavras?"


class ActionEsclarecer(Action):
    """A first low-confidence message: one question offering the likeliest
    intents of the NLU's ranking as buttons (a tap sends ``/intent``); the
    rules send a second miss in a row to the LLM or a person, as before."""

    def name(self) -> str:
        return "action_esclarecer"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        _clarify(dispatcher, tracker)
        return []


def _clarify(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Ask which of the ranking's likeliest intents the customer meant."""
    ranking = tracker.latest_message.get("intent_ranking") or []
    likeliest = [
        str(ranked.get("name"))
        for ranked in ranking
        if ranked.get("name") in CLARIFY_OPTIONS
    ][:MAX_CLARIFY_BUTTONS]
    if not likeliest:
        dispatcher.utter_message(text=REPHRASE_TEXT)
        return
    dispatcher.utter_message(
        text=CLARIFY_TEXT,
        buttons=[
            {"payload": f"/{intent}", "title": CLARIFY_OPTIONS[intent]}
            for intent in likeliest
        ],
    )


def _unsure(tracker: Tracker, floor: float) -> bool:
    """A typed message whose intent the NLU gave less than ``floor``; a tap
    (the text is the button's ``/intent`` payload) is always sure."""
    intent = tracker.latest_message.get("intent") or {}
    if tracker.latest_message.get("text") == f"/{intent.get('name')}":
        return False
    return float(intent.get("confidence") or 0) < floor


def _cant_answer(
    dispatcher: CollectingDispatcher, *, returned: bool
) -> list[EventType]:
    """No LLM answer: the rules hand off (``llm_disponivel`` false), except
    in a conversation people just gave back to the bot, where the customer
    is told how to reach a person again instead of being queued at once."""
    if not returned:
        return [SlotSet("llm_disponivel", False)]
    dispatcher.utter_message(text=CANT_ANSWER_AFTER_RETURN)
    return [SlotSet("llm_disponivel", True), SlotSet(GROUNDED_SLOT, False)]


CONFIRM_CONSENT = (
    "Só para confirmar, porque é sobre os seus dados: você autoriza o uso dos "
    "seus dados neste atendimento? Toque em um dos botões."
)

ALREADY_GRANTED = (
    "Sua autorização já está registrada 👍 Se mudar de ideia, é só dizer que não "
    "autoriza mais."
)
ALREADY_REFUSED = (
    "Já está registrado que você não autoriza 👍 Seguimos só com o necessário para "
    "te atender."
)


class ActionRegistrarConsentimento(_TenantAction):
    """Records a consent decision only from a tap on the consent buttons."""

    def name(self) -> str:
        return "action_registrar_consentimento"

    def run_for(
        self,
        tenant_id: UUID,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        intent = _intent(tracker)
        granted = intent == "consentimento_aceitar"
        conversation_id = _conversation_id(tracker)
        if tracker.latest_message.get("text") != f"/{intent}":
            # Typed words are the NLU's guess (an "aceito" may be a refusal
            # misread): only a tap on a button decides, so ask with buttons,
            # unless it only repeats the decision already in force.
            with tenant_transaction(tenant_id) as conn:
                customer_id = store.get_conversation(conn, conversation_id).customer_id
                in_force = consent_status(conn, customer_id).granted
            if in_force is granted:
                dispatcher.utter_message(
                    text=ALREADY_GRANTED if granted else ALREADY_REFUSED
                )
                return []
            dispatcher.utter_message(
                text=CONFIRM_CONSENT,
                buttons=[{"payload": p, "title": t} for p, t in PROMPT_BUTTONS],
            )
            return []
        with tenant_transaction(tenant_id) as conn:
            customer_id = store.get_conversation(conn, conversation_id).customer_id
            decision = lgpd.record_consent(
                conn,
                customer_id=customer_id,
                purpose=lgpd.PURPOSE,
                granted=granted,
                source="whatsapp_bot",
                context=RequestContext(BOT),
            )
        if granted:
            text = (
                "Obrigado! Registrei a sua autorização para usarmos seus dados neste "
                "atendimento. Você pode mudar de ideia quando quiser."
            )
        elif decision.withdrawal:
            text = (
                "Pronto, registrei que você retirou a sua autorização. A partir de "
                "agora usamos só o necessário para te responder. Se quiser que "
                "apaguemos seus dados, é só pedir."
            )
        else:
            text = (
                "Tudo bem, registrei que você não autoriza. Seguimos só com o "
                "necessário para te atender."
            )
        dispatcher.utter_message(text=text)
        return []


class _LgpdRequestAction(_TenantAction, abc.ABC):
    """Base of the LGPD request actions; abstract, so rasa-sdk doesn't register it."""

    kind: lgpd.RequestKind
    opened_text: str
    existing_text: str

    def run_for(
        self,
        tenant_id: UUID,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        conversation_id = _conversation_id(tracker)
        with tenant_transaction(tenant_id) as conn:
            customer_id = store.get_conversation(conn, conversation_id).customer_id
            request_id, new = lgpd.open_request(
                conn,
                customer_id=customer_id,
                kind=self.kind,
                conversation_id=conversation_id,
                context=RequestContext(Actor("customer", str(customer_id))),
            )
        protocol = conversations.protocol(request_id)
        text = self.opened_text if new else self.existing_text
        dispatcher.utter_message(text=text.format(protocolo=protocol))
        return []


class ActionSolicitarAcessoDados(_TenantAction):
    """The customer asks what we hold: the request is opened and fulfilled at
    once with a one-time link to the export (JSON and Excel)."""

    def name(self) -> str:
        return "action_solicitar_acesso_dados"

    def run_for(
        self,
        tenant_id: UUID,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        if _unsure(tracker, ACCESS_CONFIDENCE):
            # Sending someone their data on a misread ("vcs vendem passagem
            # de aviao?" read as meus_dados 0.73) answers a question they
            # didn't ask: ask first, with the option to tap.
            _clarify(dispatcher, tracker)
            return []
        conversation_id = _conversation_id(tracker)
        with tenant_transaction(tenant_id) as conn:
            customer_id = store.get_conversation(conn, conversation_id).customer_id
            request_id, _new = lgpd.open_request(
                conn,
                customer_id=customer_id,
                kind="access",
                conversation_id=conversation_id,
                context=RequestContext(Actor("customer", str(customer_id))),
            )
        protocol = conversations.protocol(request_id)
        link = access.create_export(
            tenant_id,
            customer_id,
            context=RequestContext(Actor("customer", str(customer_id))),
        )
        # The links go straight to the outbox as a secret reply: sent to the
        # customer, then hidden in the history; Rasa's tracker never sees them.
        with tenant_transaction(tenant_id) as conn:
            store.enqueue_outbound(
                conn,
                conversation_id=conversation_id,
                body=(
                    f"Seus dados (protocolo {protocol}):\n"
                    f"• Página para ler: {link.url('dados.html')}\n"
                    f"• Planilha: {link.url('dados.xlsx')}\n"
                    f"• Arquivo JSON: {link.url('dados.json')}"
                ),
                secret=True,
            )
        minutes = round(get_settings().lgpd_export_link_ttl_min)
        dispatcher.utter_message(
            text=(
                f"Pronto! Enviei acima os links dos seus dados (protocolo {protocol})."
                f" Cada link abre uma única vez e vale por {minutes} minutos."
            )
        )
        return []


class ActionSolicitarExclusaoDados(_LgpdRequestAction):
    kind = "erasure"
    opened_text = (
        "Pedido de exclusão dos seus dados registrado (protocolo {protocolo}). "
        "Vamos apagar o que a lei não nos obriga a guardar e te avisamos por aqui."
    )
    existing_text = (
        "Já existe um pedido de exclusão dos seus dados em andamento "
        "(protocolo {protocolo}). Te avisamos assim que for concluído."
    )

    def name(self) -> str:
        return "action_solicitar_exclusao_dados"


class ValidateCpfForm(FormValidationAction):
    def name(self) -> str:
        return "validate_cpf_form"

    def validate_cpf(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        digits = only_digits(str(slot_value or ""))
        if is_valid_cpf(digits):
            cpf = f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"
            return {"cpf": cpf, "cpf_invalido": False}
        logger.info("invalid cpf in form")
        dispatcher.utter_message(response="utter_cpf_invalido")
        # The form's re-ask (utter_ask_cpf) is then the short variation.
        return {"cpf": None, "cpf_invalido": True}


class ValidatePedidoForm(FormValidationAction):
    def name(self) -> str:
        return "validate_pedido_form"

    def validate_numero_pedido(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        text = str(slot_value or "").upper().replace("#", "").replace(" ", "")
        match = ORDER_NUMBER.fullmatch(text)
        if match:
            return {"numero_pedido": match.group(1)}
        dispatcher.utter_message(response="utter_pedido_invalido")
        return {"numero_pedido": None}
