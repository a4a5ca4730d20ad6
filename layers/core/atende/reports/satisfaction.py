"""CSAT in the reports: the surveys sent in the period (when a conversation a
person handled closed) and their 1-5 ratings, overall, per team and per
attendant (the one who held the conversation when it closed)."""

# Queries compose only this module's constant fragments; values are bound.
# ruff: noqa: S608

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, LiteralString

from atende.db import Connection

__all__ = ["Satisfaction", "SatisfactionGroup", "read_satisfaction"]

SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class SatisfactionGroup:
    """The ratings of one team or attendant."""

    key: str | None
    label: str
    surveys: int
    responses: int
    average: float | None
    distribution: list[int]  # responses scoring 1, 2, 3, 4, 5


@dataclass(frozen=True)
class Satisfaction:
    """The console's CSAT: surveys sent in the period and their ratings."""

    available: bool = False
    average: float | None = None
    responses: int = 0
    surveys: int = 0
    response_rate: float | None = None
    distribution: list[int] = field(default_factory=lambda: [0] * len(SCORES))
    teams: list[SatisfactionGroup] = field(default_factory=list)
    attendants: list[SatisfactionGroup] = field(default_factory=list)


def _group(key: Any, label: str, rows: Iterable[dict[str, Any]]) -> SatisfactionGroup:
    distribution = [0] * len(SCORES)
    surveys = 0
    for r in rows:
        surveys += r["n"]
        if r["score"] is not None:
            distribution[r["score"] - 1] += r["n"]
    responses = sum(distribution)
    total = sum(score * n for score, n in zip(SCORES, distribution, strict=True))
    return SatisfactionGroup(
        key=None if key is None else str(key),
        label=label,
        surveys=surveys,
        responses=responses,
        average=total / responses if responses else None,
        distribution=distribution,
    )


def read_satisfaction(
    conn: Connection,
    params: dict[str, Any],
    filters: LiteralString,
    attendant_names: Callable[[Iterable[Any]], dict[Any, str]],
) -> Satisfaction:
    """Surveys sent in ``[starts_at, ends_at)`` with the report's filters
    (``team``, ``attendant_id``, ``entry_point`` columns, as the handoffs')."""
    rows = conn.execute(
        "SELECT team, attendant_id, score, count(*) AS n FROM satisfaction_surveys"
        " WHERE sent_at >= %(starts_at)s AND sent_at < %(ends_at)s"
        + filters
        + " GROUP BY team, attendant_id, score",
        params,
    ).fetchall()
    by_team: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    by_attendant: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_team[r["team"]].append(r)
        by_attendant[r["attendant_id"]].append(r)
    names = attendant_names(by_attendant)
    total = _group(None, "Total", rows)
    return Satisfaction(
        available=True,
        average=total.average,
        responses=total.responses,
        surveys=total.surveys,
        response_rate=total.responses / total.surveys if total.surveys else None,
        distribution=total.distribution,
        teams=[
            _group(k, k or "Fila geral", by_team[k])
            for k in sorted(by_team, key=lambda k: (k is None, k or ""))
        ],
        attendants=sorted(
            (
                _group(k, names.get(k, "Não atribuído" if k is None else str(k)), v)
                for k, v in by_attendant.items()
            ),
            key=lambda g: (g.key is None, g.label),
        ),
    )
