"""Score a trained model on NLU test sets the way the bot routes them.

Run with Rasa's own interpreter, from bot/:
    ../.venv-rasa/bin/python evaluate_nlu.py models/atende.tar.gz tests/nlu_unseen.yml

Unlike `rasa test nlu`, the FallbackClassifier stays in: a message below the
threshold is `nlu_fallback`, which goes to the same grounded-LLM action as
`fora_do_escopo`, so for scoring the two are one route. Prints one JSON object
per set: accuracy, macro F1, out-of-scope recall, per-intent recall, consent
confusions, parse latency (in process) and the misses, as the last line of
stdout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import yaml

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Rasa logs every parse to stdout at DEBUG: keep stdout for the JSON line.
os.environ.setdefault("LOG_LEVEL", "WARNING")

OUT_OF_SCOPE = "fora_do_escopo"
FALLBACK = "nlu_fallback"
CONSENT = ("consentimento_aceitar", "consentimento_recusar")


def examples(path: Path) -> list[tuple[str, str]]:
    """(intent, text) pairs of a Rasa NLU file, entity markup removed."""
    import re

    data = yaml.safe_load(path.read_text())
    found = []
    for block in data.get("nlu", []):
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            if line.startswith("- "):
                text = re.sub(
                    r"\[([^\]]+)\]\([^)]+\)|\[([^\]]+)\]\{[^}]+\}", r"\1\2", line[2:]
                )
                found.append((block["intent"], text))
    return found


def score(pairs: list[tuple[str, str]], predicted: list[str]) -> dict[str, Any]:
    """Accuracy, macro F1, OOS recall and consent confusions of one set."""
    routed = [OUT_OF_SCOPE if p == FALLBACK else p for p in predicted]
    gold = [g for g, _ in pairs]
    rows = list(zip(gold, routed, strict=True))
    intents = sorted(set(gold))
    f1s, recall = [], {}
    for intent in intents:
        tp = sum(1 for g, p in rows if g == p == intent)
        fp = sum(1 for g, p in rows if p == intent and g != intent)
        fn = sum(1 for g, p in rows if g == intent and p != intent)
        precision = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        recall[intent] = round(rec, 3)
        f1s.append(2 * precision * rec / (precision + rec) if precision + rec else 0.0)
    correct = sum(1 for g, p in rows if g == p)
    consent_swaps = sum(1 for g, p in rows if g in CONSENT and p in CONSENT and g != p)
    consent_false = sum(1 for g, p in rows if p in CONSENT and g not in CONSENT)
    return {
        "n": len(gold),
        "accuracy": round(correct / len(gold), 4),
        "macro_f1": round(sum(f1s) / len(f1s), 4),
        "oos_recall": recall.get(OUT_OF_SCOPE, 0.0),
        "fallback_share": round(predicted.count(FALLBACK) / len(gold), 4),
        "consent_swapped": consent_swaps,
        "consent_false_positive": consent_false,
        "recall": recall,
        "misses": [
            [g, t, p]
            for (g, t), p in zip(pairs, predicted, strict=True)
            if g != (OUT_OF_SCOPE if p == FALLBACK else p)
        ],
    }


async def _parse_all(model: str, sets: list[Path]) -> dict[str, Any]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    results = {}
    for path in sets:
        pairs = examples(path)
        predicted, millis = [], []
        for _, text in pairs:
            started = time.perf_counter()
            parsed = await agent.parse_message(text)
            millis.append((time.perf_counter() - started) * 1000)
            predicted.append(parsed["intent"]["name"])
        result = score(pairs, predicted)
        millis.sort()
        result["parse_ms_p50"] = round(millis[len(millis) // 2], 1)
        result["parse_ms_p95"] = round(millis[int(0.95 * len(millis))], 1)
        results[path.name] = result
    return results


def main() -> None:
    logging.disable(logging.WARNING)
    model, *sets = sys.argv[1:]
    print(json.dumps(asyncio.run(_parse_all(model, [Path(s) for s in sets]))))


if __name__ == "__main__":
    main()
