"""What the worker sends Rasa: a tap on a bot button is its payload, typed text
is words (issue 17: consent is decided only by a tap)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.support.channel import (
    Channel,
    drain,
    fixture,
    post_webhook,
    signed,
    text_update,
)

pytestmark = pytest.mark.integration


def _tap(payload: str, title: str, wamid: str) -> dict[str, Any]:
    update = copy.deepcopy(fixture("interactive_button_reply"))
    value = update["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = "106540352242922"
    message = value["messages"][0]
    message["id"] = wamid
    message["interactive"]["button_reply"] = {"id": payload, "title": title}
    return update


def test_a_tap_on_a_consent_button_reaches_rasa_as_its_payload(
    channel: Channel,
) -> None:
    update = _tap("/consentimento_aceitar", "Sim, autorizo", "wamid.TAP1")
    assert post_webhook(*signed(update)).status_code == 200
    assert drain(channel) == 1
    assert [c["message"] for c in channel.rasa.calls] == ["/consentimento_aceitar"]


def test_a_tap_on_another_apps_button_reaches_rasa_as_its_title(
    channel: Channel,
) -> None:
    update = _tap("confirmar-agendamento", "Confirmar", "wamid.TAP2")
    assert post_webhook(*signed(update)).status_code == 200
    assert drain(channel) == 1
    assert [c["message"] for c in channel.rasa.calls] == ["Confirmar"]


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("/consentimento_aceitar", "consentimento_aceitar"),
        ("//consentimento_recusar", "consentimento_recusar"),
        ("/", "?"),
    ],
)
def test_typed_text_never_poses_as_a_tap(
    channel: Channel, typed: str, sent: str
) -> None:
    update = text_update(typed, wamid="wamid.T1")
    assert post_webhook(*signed(update)).status_code == 200
    assert drain(channel) == 1
    assert [c["message"] for c in channel.rasa.calls] == [sent]
