"""Parsing of WhatsApp Cloud API webhooks into typed updates."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from atende.errors import InvalidInput
from atende.whatsapp.updates import (
    ApiError,
    Button,
    Context,
    InboundMessage,
    Interactive,
    Location,
    Media,
    Order,
    ProductItem,
    Reaction,
    Referral,
    SharedContact,
    StatusUpdate,
    SystemInfo,
    Update,
    UserIdUpdate,
    WebhookError,
    parse_webhook,
    parse_webhook_detailed,
    update_from_json,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "whatsapp"

PHONE_NUMBER_ID = "106540352242922"
DISPLAY = "551140028922"
PHONE = "5511987654321"
BSUID = "BR.1502576394655843"
W = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFDNBM0Y"
OUT_ID = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjQ2QkZBMEQ2RkE1RjM5M0M5OAA="
CTX = Context(
    sender=DISPLAY,
    id="wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjk5QUJDRDEyMzQ1Njc4OTBBAA==",
)


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _msg(wamid: str, epoch: int, type_: str, **fields: Any) -> InboundMessage:
    """An inbound message from Maria (phone + BSUID) with the given parts."""
    identity: dict[str, Any] = {
        "user_id": BSUID,
        "wa_id": PHONE,
        "profile_name": "Maria Silva",
    }
    identity.update(fields)
    return InboundMessage(
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number=DISPLAY,
        wamid=W + wamid,
        timestamp=_at(epoch),
        type=type_,
        **identity,
    )


def _status(status: str, epoch: int, **fields: Any) -> StatusUpdate:
    values: dict[str, Any] = {
        "wamid": OUT_ID,
        "recipient_id": PHONE,
        "recipient_user_id": BSUID,
    }
    values.update(fields)
    return StatusUpdate(
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number=DISPLAY,
        status=status,
        timestamp=_at(epoch),
        **values,
    )


EXPECTED: dict[str, list[Update]] = {
    "text": [
        _msg(
            "wMDFURVhUTzAxAA==", 1767225600, "text", text="Olá! Vocês abrem no sábado?"
        )
    ],
    "text_reply_context": [
        _msg(
            "wMDJSRVBMWTAxAA==",
            1767225660,
            "text",
            text="Pode ser às 15h, então.",
            context=Context(
                sender=DISPLAY,
                id="wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjQ2QkZBMEQ2RkE1RjM5M0M5OAA=",
            ),
        )
    ],
    "image": [
        _msg(
            "wMDNJTUFHRTAxAA==",
            1767225720,
            "image",
            text="Segue a foto do comprovante",
            media=Media(
                id="1479537139650973",
                mime_type="image/jpeg",
                sha256="r7vH3cYz0m0wC8xqk4nQmZ0yJ6bB1p2s3t4u5v6w7x8=",
                caption="Segue a foto do comprovante",
            ),
        )
    ],
    "audio": [
        _msg(
            "wMDRBVURJTzAxAA==",
            1767225780,
            "audio",
            media=Media(
                id="1003383421387256",
                mime_type="audio/mpeg",
                sha256="a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0u1V=",
                voice=False,
            ),
        )
    ],
    "voice": [
        _msg(
            "wMDVWT0lDRTAxAA==",
            1767225840,
            "audio",
            media=Media(
                id="1125764395694286",
                mime_type="audio/ogg; codecs=opus",
                sha256="Vz1X2y3Z4a5B6c7D8e9F0g1H2i3J4k5L6m7N8o9P0q1=",
                voice=True,
            ),
        )
    ],
    "video": [
        _msg(
            "wMDZWSURFTzAxAA==",
            1767225900,
            "video",
            text="Olha o barulho que o carro está fazendo",
            media=Media(
                id="1166846181421424",
                mime_type="video/mp4",
                sha256="Qw1E2r3T4y5U6i7O8p9A0s1D2f3G4h5J6k7L8z9X0c1=",
                caption="Olha o barulho que o carro está fazendo",
            ),
        )
    ],
    "document": [
        _msg(
            "wMDdET0NVTUVOVDAxAA==",
            1767225960,
            "document",
            text="Nota fiscal de dezembro",
            media=Media(
                id="1003383421387257",
                mime_type="application/pdf",
                sha256="Zx1C2v3B4n5M6a7S8d9F0g1H2j3K4l5Q6w7E8r9T0y1=",
                caption="Nota fiscal de dezembro",
                filename="nota-fiscal-dezembro.pdf",
            ),
        )
    ],
    "sticker": [
        _msg(
            "wMDhTVElDS0VSMDEA",
            1767226020,
            "sticker",
            media=Media(
                id="1090917185812345",
                mime_type="image/webp",
                sha256="Lk1J2h3G4f5D6s7A8p9O0i1U2y3T4r5E6w7Q8m9N0b1=",
                animated=True,
            ),
        )
    ],
    "location": [
        _msg(
            "wMDlMT0NBVElPTjAxAA==",
            1767226080,
            "location",
            location=Location(
                latitude=-23.561414,
                longitude=-46.655881,
                name="MASP",
                address="Av. Paulista, 1578 - Bela Vista, São Paulo - SP, 01310-200",
                url="https://masp.org.br",
            ),
        )
    ],
    "contacts": [
        _msg(
            "wMTBDT05UQUNUUzAxAA==",
            1767226140,
            "contacts",
            shared_contacts=(
                SharedContact(
                    formatted_name="João Pereira",
                    phones=("+55 19 99876-5432", "+55 19 3232-1000"),
                    emails=("joao.pereira@exemplo.com.br",),
                    wa_ids=("5519998765432",),
                ),
            ),
        )
    ],
    "interactive_button_reply": [
        _msg(
            "wMTFCVVRUT04wMQA=",
            1767226200,
            "interactive",
            text="Confirmar",
            context=CTX,
            interactive=Interactive(
                kind="button_reply", id="confirmar-agendamento", title="Confirmar"
            ),
        )
    ],
    "interactive_list_reply": [
        _msg(
            "wMTJMSVNUMDEA",
            1767226260,
            "interactive",
            text="Troca de óleo",
            context=CTX,
            interactive=Interactive(
                kind="list_reply",
                id="troca-oleo",
                title="Troca de óleo",
                description="Óleo sintético e filtro, cerca de 40 min",
            ),
        )
    ],
    "interactive_flow_reply": [
        _msg(
            "wMTNGTE9XMDEA",
            1767226320,
            "interactive",
            text="Sent",
            context=CTX,
            interactive=Interactive(
                kind="nfm_reply",
                title="Sent",
                flow_name="flow",
                response={
                    "flow_token": "agendamento-7f3a",
                    "servico": "revisao",
                    "data": "2026-01-10",
                    "periodo": "manha",
                },
            ),
        )
    ],
    "button": [
        _msg(
            "wMTRCVVRUT04wMQA=",
            1767226380,
            "button",
            text="Quero reagendar",
            button=Button(payload="QUERO_REAGENDAR", text="Quero reagendar"),
            context=Context(
                sender=DISPLAY,
                id="wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjVBQkM5OEY3RTZENUM0QjNBAA==",
            ),
        )
    ],
    "reaction": [
        _msg(
            "wMTVSRUFDVElPTjAxAA==",
            1767226440,
            "reaction",
            reaction=Reaction(message_id=OUT_ID, emoji="\N{THUMBS UP SIGN}"),
        )
    ],
    "order": [
        _msg(
            "wMTZPUkRFUjAxAA==",
            1767226500,
            "order",
            text="Quero retirar na loja, por favor.",
            order=Order(
                catalog_id="194836987003835",
                text="Quero retirar na loja, por favor.",
                product_items=(
                    ProductItem(
                        product_retailer_id="pneu-aro-15",
                        quantity=4,
                        item_price=Decimal("459.9"),
                        currency="BRL",
                    ),
                    ProductItem(
                        product_retailer_id="alinhamento",
                        quantity=1,
                        item_price=Decimal("120"),
                        currency="BRL",
                    ),
                ),
            ),
        )
    ],
    # Legacy shape: no contacts, no BSUIDs -> an inbound system message keyed
    # by the (old) phone number.
    "system": [
        _msg(
            "wMTdTWVNURU0wMQA=",
            1767226560,
            "system",
            user_id=None,
            profile_name=None,
            system=SystemInfo(
                type="user_changed_number",
                body="User Maria Silva changed from 5511987654321 to 5511912345678",
                new_wa_id="5511912345678",
            ),
        )
    ],
    "system_number_change_with_user_ids": [
        UserIdUpdate(
            phone_number_id=PHONE_NUMBER_ID,
            display_phone_number=DISPLAY,
            timestamp=_at(1767226620),
            user_id="BR.2790114338510042",
            previous_user_id=BSUID,
            parent_user_id="BR.ENT.88120455716301927",
            previous_parent_user_id="BR.ENT.55018822314401311",
            wa_id="5511912345678",
            previous_wa_id=PHONE,
            body="User Maria Silva changed from 5511987654321 to 5511912345678",
            wamid=W + "wMThTWVNURU0wMgA=",
            source="system",
        )
    ],
    "referral": [
        _msg(
            "wMTlSRUZFUlJBTDAxAA==",
            1767226680,
            "text",
            text="Oi! Vi o anúncio da revisão por R$ 199. Ainda vale?",
            referral=Referral(
                source_url="https://fb.me/3cr4Wqqkk",
                source_type="ad",
                source_id="120212345678900123",
                headline="Revisão completa por R$ 199",
                body="Agende pelo WhatsApp e ganhe a lavagem.",
                media_type="image",
                image_url="https://scontent.xx.fbcdn.net/v/t45.1600-4/revisao.jpg",
                thumbnail_url=(
                    "https://scontent.xx.fbcdn.net/v/t45.1600-4/revisao_thumb.jpg"
                ),
                ctwa_clid=(
                    "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4"
                    "XvnO2E4Nx0-eM-GABDLOPaOdRMv-_zfUQ2a"
                ),
            ),
        )
    ],
    "unsupported_with_errors": [
        _msg(
            "wMjBVTlNVUFBPUlRFRDAxAA==",
            1767226740,
            "unsupported",
            errors=(
                ApiError(
                    code=131051,
                    title="Message type unknown",
                    message="Message type unknown",
                    details="Message type is currently not supported.",
                ),
            ),
        )
    ],
    "request_welcome": [_msg("wMjFXRUxDT01FMDEA", 1767226800, "request_welcome")],
    "status_sent": [
        _status(
            "sent",
            1767226860,
            conversation_id="7f1c3a9e2b4d6f8a0c1e3b5d7f9a1c3e",
            pricing_category="utility",
            pricing_model="PMP",
            biz_opaque_callback_data="agendamento:7f3a",
        )
    ],
    "status_delivered": [
        _status(
            "delivered",
            1767226865,
            conversation_id="7f1c3a9e2b4d6f8a0c1e3b5d7f9a1c3e",
            pricing_category="utility",
            pricing_model="PMP",
        )
    ],
    "status_read": [_status("read", 1767226900)],
    "status_failed_without_contacts": [
        _status(
            "failed",
            1767226920,
            wamid="wamid.HBgNNTUxOTk4NzY1NDMyMRUCABEYEkZBSUxFRDAxMjM0NTY3OAA=",
            recipient_id=None,
            recipient_user_id="BR.8830172465501928",
            errors=(
                ApiError(
                    code=131047,
                    title="Re-engagement message",
                    message="Re-engagement message",
                    details=(
                        "Message failed to send because more than 24 hours have "
                        "passed since the customer last replied to this number."
                    ),
                ),
            ),
        )
    ],
    "user_id_update": [
        UserIdUpdate(
            phone_number_id=PHONE_NUMBER_ID,
            display_phone_number=DISPLAY,
            timestamp=_at(1767226980),
            user_id="BR.4417730982216650",
            previous_user_id="BR.8830172465501928",
            body="User's business-scoped user ID changed",
            wamid=W + "wMjJVU0VSSUQwMQA=",
            source="system",
        )
    ],
    "user_id_update_field": [
        UserIdUpdate(
            phone_number_id=PHONE_NUMBER_ID,
            display_phone_number=DISPLAY,
            timestamp=_at(1767227040),
            user_id="BR.6620118834457712",
            previous_user_id="BR.3301992817736450",
            wa_id="5521976543210",
            source="user_id_update",
        )
    ],
    "username_user_without_phone": [
        _msg(
            "wMjNVU0VSTkFNRTAxAA==",
            1767227100,
            "text",
            text="Oi, queria saber o preço da revisão de 40 mil km.",
            user_id="BR.8830172465501928",
            wa_id=None,
            parent_user_id="BR.ENT.11815799212886844830",
            username="ana.souza",
            profile_name="Ana Souza",
        )
    ],
    "webhook_level_errors": [
        WebhookError(
            phone_number_id=PHONE_NUMBER_ID,
            display_phone_number=DISPLAY,
            errors=(
                ApiError(
                    code=131000,
                    title="Something went wrong",
                    message="Something went wrong",
                    details="Unknown error. Please retry later.",
                ),
            ),
        )
    ],
    "batch": [
        _msg("wMjRCQVRDSDAxAA==", 1767227160, "text", text="Bom dia!"),
        InboundMessage(
            phone_number_id=PHONE_NUMBER_ID,
            display_phone_number=DISPLAY,
            wamid="wamid.HBgNNTUzMTk4ODg4Nzc3NxUCABIYFDNBQkFUQ0gwMgA=",
            timestamp=_at(1767227170),
            type="text",
            user_id="BR.7741220098815532",
            wa_id="5531988887777",
            profile_name="Carlos Lima",
            text="Vocês trocam bateria?",
        ),
        _status("delivered", 1767227180),
        _status(
            "read",
            1767227190,
            wamid="wamid.HBgNNTUzMTk4ODg4Nzc3NxUCABEYEkJBVENIU1RBVFVTMDEA",
            recipient_id="5531988887777",
            recipient_user_id="BR.7741220098815532",
        ),
    ],
}


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
    )
    return data


def _all_updates() -> list[tuple[str, int, Update]]:
    return [
        (name, i, update)
        for name, updates in EXPECTED.items()
        for i, update in enumerate(updates)
    ]


def test_every_fixture_file_has_expectations() -> None:
    on_disk = {path.stem for path in FIXTURES.glob("*.json")}
    assert on_disk == set(EXPECTED)
    assert len(on_disk) == 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_updates(name: str) -> None:
    result = parse_webhook_detailed(_load(name))
    assert list(result.updates) == EXPECTED[name]
    assert result.skipped == ()
    assert parse_webhook(_load(name)) == EXPECTED[name]


@pytest.mark.parametrize(
    "update",
    [u for _, _, u in _all_updates()],
    ids=[f"{n}-{i}" for n, i, _ in _all_updates()],
)
def test_json_round_trip_restores_the_same_update(update: Update) -> None:
    wire = json.dumps(update.to_json(), ensure_ascii=False)
    restored = update_from_json(json.loads(wire))
    assert restored == update
    assert type(restored) is type(update)
    assert restored.customer_key == update.customer_key
    assert restored.dedup_id == update.dedup_id


def test_username_user_without_phone_is_keyed_by_bsuid() -> None:
    (message,) = parse_webhook(_load("username_user_without_phone"))
    assert isinstance(message, InboundMessage)
    assert message.wa_id is None
    assert message.user_id == "BR.8830172465501928"
    assert message.customer_key == "BR.8830172465501928"
    assert message.username == "ana.souza"
    assert message.sender.parent_user_id == "BR.ENT.11815799212886844830"


def test_failed_status_without_contacts_keeps_error_and_bsuid() -> None:
    (status,) = parse_webhook(_load("status_failed_without_contacts"))
    assert isinstance(status, StatusUpdate)
    assert status.status == "failed"
    assert status.errors[0].code == 131047
    assert status.recipient_id is None
    assert status.recipient_user_id == "BR.8830172465501928"
    assert status.customer_key == "BR.8830172465501928"
    assert status.dedup_id == (
        "wamid.HBgNNTUxOTk4NzY1NDMyMRUCABEYEkZBSUxFRDAxMjM0NTY3OAA=:failed"
    )


def test_keys_and_dedup_ids() -> None:
    (text,) = parse_webhook(_load("text"))
    assert text.customer_key == BSUID
    assert text.dedup_id == W + "wMDFURVhUTzAxAA=="
    (legacy,) = parse_webhook(_load("system"))
    assert legacy.customer_key == PHONE  # no BSUID in the payload: the phone
    (read,) = parse_webhook(_load("status_read"))
    assert read.dedup_id == f"{OUT_ID}:read"
    (change,) = parse_webhook(_load("user_id_update"))
    assert change.customer_key == "BR.4417730982216650"
    assert change.dedup_id.startswith("uid-")
    assert len(change.dedup_id) <= 128
    (errors,) = parse_webhook(_load("webhook_level_errors"))
    assert errors.customer_key == f"errors:{PHONE_NUMBER_ID}"
    assert errors.dedup_id == parse_webhook(_load("webhook_level_errors"))[0].dedup_id


def test_status_dedup_ids_differ_per_transition() -> None:
    ids = {
        parse_webhook(_load(name))[0].dedup_id
        for name in ("status_sent", "status_delivered", "status_read")
    }
    assert ids == {f"{OUT_ID}:sent", f"{OUT_ID}:delivered", f"{OUT_ID}:read"}


def _inject_unknown_keys(node: Any) -> Any:
    if isinstance(node, dict):
        injected = {k: _inject_unknown_keys(v) for k, v in node.items()}
        injected["campo_novo_da_meta"] = {"qualquer": ["coisa", 1, None]}
        return injected
    if isinstance(node, list):
        return [_inject_unknown_keys(item) for item in node]
    return node


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_unknown_keys_at_every_level_are_ignored(name: str) -> None:
    payload = _inject_unknown_keys(_load(name))
    assert payload["entry"][0]["changes"][0]["value"]["campo_novo_da_meta"]
    assert parse_webhook_detailed(payload).updates == tuple(EXPECTED[name])


def _without_metadata() -> dict[str, Any]:
    payload = _load("text")
    del payload["entry"][0]["changes"][0]["value"]["metadata"]
    return payload


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    payload = _load("batch")
    node: Any = payload
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return payload


MALFORMED: dict[str, Any] = {
    "not_an_object": ["entry"],
    "string": "whatsapp",
    "wrong_object": {"object": "page", "entry": []},
    "missing_object": {"entry": []},
    "entry_not_a_list": {"object": "whatsapp_business_account", "entry": {}},
    "entry_missing": {"object": "whatsapp_business_account"},
    "entry_item_not_an_object": {"object": "whatsapp_business_account", "entry": [1]},
    "changes_not_a_list": _with(["entry", 0, "changes"], "x"),
    "value_not_an_object": _with(["entry", 0, "changes", 0, "value"], []),
    "missing_metadata": _without_metadata(),
    "metadata_without_phone_number_id": _with(
        ["entry", 0, "changes", 0, "value", "metadata"], {"display_phone_number": "1"}
    ),
    "messages_not_a_list": _with(["entry", 0, "changes", 0, "value", "messages"], {}),
    "message_not_an_object": _with(
        ["entry", 0, "changes", 0, "value", "messages"], ["oi"]
    ),
    "statuses_item_not_an_object": _with(
        ["entry", 0, "changes", 0, "value", "statuses"], [None]
    ),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_payloads_raise_invalid_input(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_webhook(MALFORMED[name])
    assert caught.value.code == "ENTRADA_INVALIDA"
    assert caught.value.user_message


def test_items_without_identity_or_id_are_skipped_not_raised() -> None:
    payload = _load("batch")
    value = payload["entry"][0]["changes"][0]["value"]
    del value["contacts"]
    value["messages"][0].pop("from")
    value["messages"][0].pop("from_user_id")
    value["messages"][1]["timestamp"] = "ontem"
    value["statuses"][0].pop("recipient_id")
    value["statuses"][0].pop("recipient_user_id")
    value["statuses"][1].pop("id")
    result = parse_webhook_detailed(payload)
    assert result.updates == ()
    reasons = [(s.path.rsplit(".", 1)[-1], s.reason, s.ref) for s in result.skipped]
    assert reasons == [
        (
            "messages[0]",
            "sender has neither user_id nor phone number",
            W + "wMjRCQVRDSDAxAA==",
        ),
        (
            "messages[1]",
            "message without a valid timestamp",
            "wamid.HBgNNTUzMTk4ODg4Nzc3NxUCABIYFDNBQkFUQ0gwMgA=",
        ),
        (
            "statuses[0]",
            "recipient has neither user_id nor phone number",
            OUT_ID,
        ),
        ("statuses[1]", "status without id", None),
    ]


def test_other_webhook_fields_are_skipped() -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {"field": "account_update", "value": {"event": "VERIFIED"}},
                    _load("text")["entry"][0]["changes"][0],
                ],
            }
        ],
    }
    result = parse_webhook_detailed(payload)
    assert list(result.updates) == EXPECTED["text"]
    assert [s.reason for s in result.skipped] == [
        "webhook field not handled: 'account_update'"
    ]


def test_message_ids_fall_back_to_contacts_and_single_contact() -> None:
    payload = _load("text")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["from_user_id"]
    (update,) = parse_webhook(payload)
    assert update.customer_key == BSUID  # from contacts[].user_id by phone
    del message["from"]
    (update,) = parse_webhook(payload)
    assert isinstance(update, InboundMessage)
    assert (update.user_id, update.wa_id) == (BSUID, PHONE)  # the only contact


def test_reaction_removed_has_no_emoji() -> None:
    payload = _load("reaction")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["reaction"] = {
        "message_id": OUT_ID
    }
    (update,) = parse_webhook(payload)
    assert isinstance(update, InboundMessage)
    assert update.reaction == Reaction(message_id=OUT_ID, emoji=None)


def test_user_id_update_field_accepts_previous_names() -> None:
    payload = _load("user_id_update_field")
    value = payload["entry"][0]["changes"][0]["value"]
    value["user_id_update"] = [
        {
            "wa_id": "5521976543210",
            "previous_user_id": "BR.3301992817736450",
            "user_id": "BR.6620118834457712",
            "timestamp": 1767227040,
        }
    ]
    assert parse_webhook(payload) == EXPECTED["user_id_update_field"]


def test_same_change_reported_twice_has_same_dedup_id() -> None:
    (via_field,) = parse_webhook(_load("user_id_update_field"))
    assert isinstance(via_field, UserIdUpdate)
    via_system = UserIdUpdate(
        phone_number_id=PHONE_NUMBER_ID,
        timestamp=via_field.timestamp,
        user_id=via_field.user_id,
        previous_user_id=via_field.previous_user_id,
        wamid="wamid.outro",
    )
    assert via_system.dedup_id == via_field.dedup_id


def test_invalid_flow_response_json_is_dropped() -> None:
    payload = copy.deepcopy(_load("interactive_flow_reply"))
    reply = payload["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]
    reply["nfm_reply"]["response_json"] = "{nao é json"
    (update,) = parse_webhook(payload)
    assert isinstance(update, InboundMessage)
    assert update.interactive == Interactive(
        kind="nfm_reply", title="Sent", flow_name="flow", response=None
    )


def test_updates_without_identity_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="user_id or wa_id"):
        InboundMessage(
            phone_number_id=PHONE_NUMBER_ID,
            wamid="wamid.x",
            timestamp=_at(0),
            type="text",
        )
    with pytest.raises(ValueError, match="recipient"):
        StatusUpdate(
            phone_number_id=PHONE_NUMBER_ID,
            wamid="wamid.x",
            status="sent",
            timestamp=_at(0),
        )


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "desconhecido"},
        {"kind": "status_update"},
        {**EXPECTED["text"][0].to_json(), "timestamp": 1767225600},
        ["inbound_message"],
    ],
)
def test_update_from_json_rejects_garbage(data: Any) -> None:
    with pytest.raises(
        ValueError, match=r"unknown update kind|missing|expected|must be an object"
    ):
        update_from_json(data)
