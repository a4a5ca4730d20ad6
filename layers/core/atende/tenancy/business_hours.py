"""Business hours: when a tenant's people answer (pure rules, no I/O).

Hours are per weekday in São Paulo time (``America/Sao_Paulo`` through
zoneinfo: Brazil has no DST since 2019, but the zone database knows the
past). An interval is ``[start, end)`` in minutes since midnight, so a
conversation at 18:00 with hours 8h-18h is outside. Holidays close the whole
day. Hours with no interval at all never open: the out-of-office text then
says "assim que possível" instead of a time.

:func:`brazil_national_holidays` offers Brazil's national holidays (fixed
dates and the Easter-based Carnaval, Sexta-feira Santa and Corpus Christi)
as a suggestion the admin accepts; nothing is fetched from the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from atende.errors import InvalidInput

__all__ = [
    "DEFAULT_OUT_OF_OFFICE",
    "MAX_OUT_OF_OFFICE_CHARS",
    "SAO_PAULO",
    "WEEKDAYS",
    "BusinessHours",
    "Holiday",
    "Interval",
    "brazil_national_holidays",
    "easter",
    "is_open",
    "next_opening",
    "out_of_office_text",
    "parse_hours",
    "schedule_summary",
    "when_text",
]

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
# Monday first, as date.weekday() counts; the API's keys.
WEEKDAYS = ("seg", "ter", "qua", "qui", "sex", "sab", "dom")
_SHORT = ("seg", "ter", "qua", "qui", "sex", "sáb", "dom")
_DAY_NAMES = ("segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo")
_ON_DAY = (
    "na segunda-feira",
    "na terça-feira",
    "na quarta-feira",
    "na quinta-feira",
    "na sexta-feira",
    "no sábado",
    "no domingo",
)
MAX_OUT_OF_OFFICE_CHARS = 1000
MAX_HOLIDAYS = 200
MAX_INTERVALS_PER_DAY = 4
DEFAULT_OUT_OF_OFFICE = (
    "Nosso horário de atendimento é {{horario}}. Sua conversa já está na fila: "
    "uma pessoa vai te responder {{retorno}}."
)
_DASH = "\N{EN DASH}"
_VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_VARIABLES = frozenset({"horario", "retorno"})
_CLOCK = re.compile(r"([01]\d|2[0-4]):([0-5]\d)")


class HoursInvalid(InvalidInput):
    code = "HORARIO_INVALIDO"
    message = (
        "Horário inválido: use HH:MM, com o fim depois do início (ex.: 08:00 a 18:00)."
    )


class HoursOverlap(InvalidInput):
    code = "HORARIOS_SOBREPOSTOS"
    message = "Dois intervalos do mesmo dia se sobrepõem."


class HolidayInvalid(InvalidInput):
    code = "FERIADO_INVALIDO"
    message = "Data de feriado inválida: use AAAA-MM-DD (ex.: 2026-12-25)."


class OutOfOfficeTextInvalid(InvalidInput):
    code = "TEXTO_FORA_DO_HORARIO_INVALIDO"
    message = (
        f"O texto de fora do horário deve ter de 1 a {MAX_OUT_OF_OFFICE_CHARS:_}"
        " caracteres e usar só as variáveis {{horario}} e {{retorno}}."
    ).replace("_", ".")


@dataclass(frozen=True, order=True)
class Interval:
    start: int  # minutes since midnight
    end: int  # exclusive; 1440 is midnight at the end of the day


@dataclass(frozen=True, order=True)
class Holiday:
    day: date
    name: str


@dataclass(frozen=True)
class BusinessHours:
    # Seven entries, Monday first; each day's intervals sorted, apart.
    weekly: tuple[tuple[Interval, ...], ...]
    holidays: tuple[Holiday, ...] = ()
    out_of_office: str | None = None  # None: DEFAULT_OUT_OF_OFFICE
    closed_days: frozenset[date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "closed_days", frozenset(h.day for h in self.holidays))


def easter(year: int) -> date:
    """Easter Sunday (Gregorian; the anonymous algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def brazil_national_holidays(year: int) -> list[Holiday]:
    """Brazil's national holidays and the Easter-based optional days most
    businesses close on (Carnaval Monday and Tuesday, Corpus Christi)."""
    e = easter(year)
    days = [
        Holiday(date(year, 1, 1), "Confraternização Universal"),
        Holiday(e - timedelta(days=48), "Carnaval (segunda)"),
        Holiday(e - timedelta(days=47), "Carnaval (terça)"),
        Holiday(e - timedelta(days=2), "Sexta-feira Santa"),
        Holiday(date(year, 4, 21), "Tiradentes"),
        Holiday(date(year, 5, 1), "Dia do Trabalho"),
        Holiday(e + timedelta(days=60), "Corpus Christi"),
        Holiday(date(year, 9, 7), "Independência do Brasil"),
        Holiday(date(year, 10, 12), "Nossa Senhora Aparecida"),
        Holiday(date(year, 11, 2), "Finados"),
        Holiday(date(year, 11, 15), "Proclamação da República"),
        Holiday(date(year, 11, 20), "Dia Nacional de Zumbi e da Consciência Negra"),
        Holiday(date(year, 12, 25), "Natal"),
    ]
    return sorted(days)


def _local(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a naive datetime has no zone")
    return at.astimezone(SAO_PAULO)


def _minutes(at: datetime) -> int:
    return at.hour * 60 + at.minute


def is_open(hours: BusinessHours | None, at: datetime) -> bool:
    """Whether people answer at ``at``; no hours configured: always."""
    if hours is None:
        return True
    local = _local(at)
    if local.date() in hours.closed_days:
        return False
    now = _minutes(local)
    return any(i.start <= now < i.end for i in hours.weekly[local.weekday()])


def _at(day: date, minutes: int) -> datetime:
    return datetime.combine(day, time(minutes // 60, minutes % 60), SAO_PAULO)


def next_opening(hours: BusinessHours, at: datetime) -> datetime | None:
    """The first moment at or after ``at`` when people answer (``at`` itself
    when open); None when the hours never open."""
    if not any(hours.weekly):
        return None
    local = _local(at)
    now = _minutes(local)
    # A year of holidays can't hide every open day for longer than this.
    for offset in range(len(hours.closed_days) + 8):
        day = local.date() + timedelta(days=offset)
        if day in hours.closed_days:
            continue
        for interval in hours.weekly[day.weekday()]:
            if offset == 0 and interval.end <= now:
                continue
            if offset == 0 and interval.start <= now:
                return local
            return _at(day, interval.start)
    return None


def _clock(minutes: int) -> str:
    h, m = divmod(minutes, 60)
    return f"{h}h" if m == 0 else f"{h}h{m:02d}"


def _span(interval: Interval) -> str:
    return f"{_clock(interval.start)}{_DASH}{_clock(interval.end)}"


def _from(minutes: int) -> str:
    # "a partir da 1h", "a partir das 8h"; midnight said as such.
    if minutes == 0:
        return "a partir da meia-noite"
    return (
        f"a partir da {_clock(minutes)}"
        if minutes // 60 == 1
        else (f"a partir das {_clock(minutes)}")
    )


def schedule_summary(hours: BusinessHours) -> str:
    """The week in words: consecutive days with the same hours together,
    e.g. "seg-sex, 8h-18h; sáb, 8h-12h" (with en dashes)."""
    parts: list[str] = []
    day = 0
    while day < 7:
        intervals = hours.weekly[day]
        last = day
        while last + 1 < 7 and hours.weekly[last + 1] == intervals:
            last += 1
        if intervals:
            days = _SHORT[day] if last == day else f"{_SHORT[day]}{_DASH}{_SHORT[last]}"
            times = " e ".join(_span(i) for i in intervals)
            parts.append(f"{days}, {times}")
        day = last + 1
    return "; ".join(parts) or "sem horário definido"


def when_text(opening: datetime | None, now: datetime) -> str:
    """When a person answers, as the customer reads it: "hoje a partir das
    14h", "amanhã (terça) a partir das 8h", "na segunda-feira (07/12) a
    partir das 8h"."""
    if opening is None:
        return "assim que possível"
    local, today = _local(opening), _local(now).date()
    start = _from(_minutes(local))
    days = (local.date() - today).days
    if days <= 0:
        return f"hoje {start}"
    if days == 1:
        return f"amanhã ({_DAY_NAMES[local.weekday()]}) {start}"
    return f"{_ON_DAY[local.weekday()]} ({local:%d/%m}) {start}"


def out_of_office_text(hours: BusinessHours, now: datetime) -> str:
    """The message a customer handed off outside hours reads, its variables
    filled: ``{{horario}}`` (the week) and ``{{retorno}}`` (when)."""
    values = {
        "horario": schedule_summary(hours),
        "retorno": when_text(next_opening(hours, now), now),
    }
    template = hours.out_of_office or DEFAULT_OUT_OF_OFFICE
    return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), template)


# -- the API's shape --------------------------------------------------------


def _parse_clock(value: Any, day: str) -> int:
    match = _CLOCK.fullmatch(value) if isinstance(value, str) else None
    if match is None or (match.group(1) == "24" and match.group(2) != "00"):
        raise HoursInvalid(f"Horário inválido {day}: use HH:MM (ex.: 08:00 a 18:00).")
    return int(match.group(1)) * 60 + int(match.group(2))


def _parse_day(weekday: int, raw: Any) -> tuple[Interval, ...]:
    on_day = _ON_DAY[weekday]  # "na segunda-feira": what the messages name
    key = on_day[0].upper() + on_day[1:]
    if not isinstance(raw, list) or len(raw) > MAX_INTERVALS_PER_DAY:
        raise HoursInvalid(
            f"{key}, informe até {MAX_INTERVALS_PER_DAY} intervalos de horário."
        )
    intervals: list[Interval] = []
    for item in raw:
        if not isinstance(item, dict):
            raise HoursInvalid(f"Horário inválido {on_day}: use início e fim.")
        start = _parse_clock(item.get("start"), on_day)
        end = _parse_clock(item.get("end"), on_day)
        if end <= start:
            raise HoursInvalid(
                f"{key}, o fim ({_clock(end)}) deve ser depois do início"
                f" ({_clock(start)})."
            )
        intervals.append(Interval(start, end))
    intervals.sort()
    for before, after in pairwise(intervals):
        if after.start < before.end:
            raise HoursOverlap(
                f"{key}, os intervalos {_span(before)} e {_span(after)} se sobrepõem."
            )
    return tuple(intervals)


def _parse_holidays(raw: Any) -> tuple[Holiday, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_HOLIDAYS:
        raise HolidayInvalid(f"Informe até {MAX_HOLIDAYS} feriados.")
    found: dict[date, Holiday] = {}
    for item in raw:
        value = item.get("date") if isinstance(item, dict) else None
        try:
            day = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            day = None
        if day is None or len(value or "") != 10:
            raise HolidayInvalid(
                f"Data de feriado inválida: {str(value)[:20]!r}. Use AAAA-MM-DD."
            )
        name = " ".join(str(item.get("name") or "Feriado").split())[:80] or "Feriado"
        found[day] = Holiday(day, name)
    return tuple(sorted(found.values()))


def _parse_text(raw: Any) -> str | None:
    if raw is None:
        return None
    text = raw.strip() if isinstance(raw, str) else ""
    if not 1 <= len(text) <= MAX_OUT_OF_OFFICE_CHARS:
        raise OutOfOfficeTextInvalid()
    unknown = {m.group(1) for m in _VARIABLE.finditer(text)} - _VARIABLES
    if unknown:
        raise OutOfOfficeTextInvalid(
            f"Variável desconhecida no texto: {{{{{sorted(unknown)[0]}}}}}."
            " Use {{horario}} ou {{retorno}}."
        )
    return text


def parse_hours(weekly: Any, holidays: Any, text: Any) -> BusinessHours:
    """Business hours from the API's JSON (``weekly``: ``{"seg": [{"start":
    "08:00", "end": "18:00"}], …}``, a missing day closed; ``holidays``:
    ``[{"date": "2026-12-25", "name": "Natal"}]``; ``text``: None for the
    default).

    Raises:
        HoursInvalid, HoursOverlap, HolidayInvalid, OutOfOfficeTextInvalid.
    """
    if not isinstance(weekly, dict) or set(weekly) - set(WEEKDAYS):
        raise HoursInvalid(
            "Dias da semana inválidos: use seg, ter, qua, qui, sex, sab e dom."
        )
    days = tuple(
        _parse_day(weekday, weekly.get(key) or [])
        for weekday, key in enumerate(WEEKDAYS)
    )
    return BusinessHours(
        weekly=days, holidays=_parse_holidays(holidays), out_of_office=_parse_text(text)
    )


def weekly_json(hours: BusinessHours) -> dict[str, list[dict[str, str]]]:
    """The week in the API's shape (``"24:00"`` for the end of the day)."""

    def clock(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    return {
        key: [{"start": clock(i.start), "end": clock(i.end)} for i in intervals]
        for key, intervals in zip(WEEKDAYS, hours.weekly, strict=True)
    }
