"""The Rasa project, checked with Rasa itself (its own virtualenv, the trained model).

`make test` builds .venv-rasa and trains bot/models/atende.tar.gz (only when the
bot's data changed) before pytest runs.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
MODEL = BOT / "models" / "atende.tar.gz"
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}

MIN_INTENT_ACCURACY = 0.90
MIN_OUT_OF_SCOPE_RECALL = 0.80
REQUIRED_INTENTS = {
    "saudacao",
    "despedida",
    "agradecer",
    "afirmar",
    "negar",
    "segunda_via_boleto",
    "status_pedido",
    "suporte_tecnico",
    "reclamacao",
    "cancelar",
    "horario_atendimento",
    "falar_com_atendente",
    "consentimento_aceitar",
    "consentimento_recusar",
    "meus_dados",
    "apagar_meus_dados",
    "fora_do_escopo",
}

pytestmark = [
    pytest.mark.bot,
    pytest.mark.skipif(
        not (RASA.exists() and MODEL.exists()),
        reason="needs `make bot` (the Rasa environment and a trained model)",
    ),
]


def _rasa(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RASA), *args],
        cwd=BOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _examples(path: Path) -> dict[str, list[str]]:
    data = yaml.safe_load(path.read_text())
    found: dict[str, list[str]] = {}
    for block in data.get("nlu", []):
        if "intent" in block:
            lines = [
                line[2:]
                for line in block["examples"].splitlines()
                if line.startswith("- ")
            ]
            found.setdefault(block["intent"], []).extend(lines)
    return found


def _plain(text: str) -> str:
    import re
    import unicodedata

    text = re.sub(r"\[([^\]]+)\]\([^)]+\)|\[([^\]]+)\]\{[^}]+\}", r"\1\2", text)
    text = unicodedata.normalize("NFKD", text.lower())
    return re.sub(
        r"[^a-z0-9 ]", "", "".join(c for c in text if not unicodedata.combining(c))
    ).strip()


def _fallback_threshold() -> float:
    config = yaml.safe_load((BOT / "config.yml").read_text())
    fallback = next(c for c in config["pipeline"] if c["name"] == "FallbackClassifier")
    return float(fallback["threshold"])


def test_data_validates_cleanly() -> None:
    result = _rasa("data", "validate", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_every_required_intent_has_twenty_examples() -> None:
    examples = _examples(BOT / "data" / "nlu.yml")
    assert set(examples) >= REQUIRED_INTENTS
    thin = {intent: len(ex) for intent, ex in examples.items() if len(ex) < 20}
    assert thin == {}


def test_holdout_is_separate_from_training_and_large_enough() -> None:
    training = {
        _plain(t) for ex in _examples(BOT / "data" / "nlu.yml").values() for t in ex
    }
    holdout = _examples(BOT / "tests" / "nlu_holdout.yml")
    texts = [t for ex in holdout.values() for t in ex]
    assert len(texts) >= 150
    assert set(holdout) >= REQUIRED_INTENTS
    assert [t for t in texts if _plain(t) in training] == []


def test_holdout_intent_accuracy_and_out_of_scope_recall(tmp_path: Path) -> None:
    result = _rasa(
        "test",
        "nlu",
        "--nlu",
        "tests/nlu_holdout.yml",
        "--model",
        str(MODEL),
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "intent_report.json").read_text())
    accuracy = report["accuracy"]
    errors = json.loads((tmp_path / "intent_errors.json").read_text())
    oos_total = report["fora_do_escopo"]["support"]
    # `rasa test nlu` scores without the FallbackClassifier; below its threshold
    # a turn is nlu_fallback, which routes to the same grounded-LLM action.
    threshold = _fallback_threshold()
    oos_missed = [
        e
        for e in errors
        if e["intent"] == "fora_do_escopo"
        and e["intent_prediction"]["name"] != "fora_do_escopo"
        and e["intent_prediction"]["confidence"] >= threshold
    ]
    oos_recall = 1 - len(oos_missed) / oos_total
    print(
        f"holdout intent accuracy={accuracy:.3f} out-of-scope recall={oos_recall:.3f}"
    )
    assert accuracy >= MIN_INTENT_ACCURACY
    assert oos_recall >= MIN_OUT_OF_SCOPE_RECALL


def test_end_to_end_stories_pass(tmp_path: Path) -> None:
    stories = yaml.safe_load((BOT / "tests" / "test_stories.yml").read_text())[
        "stories"
    ]
    assert len(stories) >= 15
    result = _rasa(
        "test",
        "core",
        "--stories",
        "tests/test_stories.yml",
        "--model",
        str(MODEL),
        "--out",
        str(tmp_path),
        "--fail-on-prediction-errors",
    )
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text()[-3000:] if failed.exists() else result.stdout[-3000:]
    assert result.returncode == 0, detail


def test_deployed_endpoints_take_their_values_from_the_environment() -> None:
    """Rasa expands ${VARS} in unquoted values only: a quoted one stays literal,
    and the service would call "${ACTION_SERVER_URL}"."""
    read = (
        "import json; from rasa.core.utils import AvailableEndpoints as E;"
        " e = E.read_endpoints('endpoints.deploy.yml');"
        " print(json.dumps([e.action.url, e.action.headers, e.tracker_store.url]))"
    )
    env = {
        **ENV,
        "ACTION_SERVER_URL": "http://actions.atende.internal:5055/webhook",
        "ACTION_SERVER_TOKEN": "the-token",
        "RASA_TRACKER_URL": "postgresql://atende_rasa:p%40ss@db:5432/rasa_tracker",
    }
    result = subprocess.run(
        [str(RASA.parent / "python"), "-W", "ignore", "-c", read],
        cwd=BOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.splitlines()[-1]) == [
        env["ACTION_SERVER_URL"],
        {"Authorization": "Bearer the-token"},
        env["RASA_TRACKER_URL"],
    ]
