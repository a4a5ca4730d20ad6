"""Business hours' pure rules (issue 14, point 7): open or closed at the
edges, the next opening across nights, weekends and holidays, the week and
the return time in words, Brazil's holidays, and the API's bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from atende.errors import InvalidInput
from atende.tenancy.business_hours import (
    SAO_PAULO,
    HolidayInvalid,
    HoursInvalid,
    HoursOverlap,
    OutOfOfficeTextInvalid,
    brazil_national_holidays,
    easter,
    is_open,
    next_opening,
    out_of_office_text,
    parse_hours,
    schedule_summary,
    when_text,
)

WEEKDAYS_8_18 = {
    day: [{"start": "08:00", "end": "18:00"}]
    for day in ("seg", "ter", "qua", "qui", "sex")
}


def d(text: str) -> str:
    """``~`` read as the en dash the texts use."""
    return text.replace("~", "\N{EN DASH}")


def sp(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=SAO_PAULO)


HOURS = parse_hours(
    {**WEEKDAYS_8_18, "sab": [{"start": "08:00", "end": "12:00"}]},
    [{"date": "2026-12-25", "name": "Natal"}],
    None,
)


def test_open_from_the_first_minute_and_closed_at_the_closing_minute() -> None:
    # Monday 2026-11-30.
    assert not is_open(HOURS, sp(2026, 11, 30, 7, 59, 59))
    assert is_open(HOURS, sp(2026, 11, 30, 8, 0))
    assert is_open(HOURS, sp(2026, 11, 30, 17, 59, 59))
    assert not is_open(HOURS, sp(2026, 11, 30, 18, 0))
    assert not is_open(HOURS, sp(2026, 12, 6, 10, 0))  # Sunday


def test_the_instant_is_read_in_sao_paulo_whatever_zone_it_comes_in() -> None:
    # 20:30 UTC is 17:30 in São Paulo (UTC-3): open; 21:00 UTC is 18:00: closed.
    assert is_open(HOURS, datetime(2026, 11, 30, 20, 30, tzinfo=UTC))
    assert not is_open(HOURS, datetime(2026, 11, 30, 21, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="naive"):
        is_open(HOURS, datetime(2026, 11, 30, 12, 0))


def test_a_holiday_closes_the_whole_day() -> None:
    assert not is_open(HOURS, sp(2026, 12, 25, 10, 0))  # a Friday
    assert next_opening(HOURS, sp(2026, 12, 25, 10, 0)) == sp(2026, 12, 26, 8, 0)


def test_no_hours_configured_is_always_open() -> None:
    assert is_open(None, sp(2026, 12, 25, 3, 0))


def test_next_opening_today_tomorrow_after_the_weekend_and_between_intervals() -> None:
    assert next_opening(HOURS, sp(2026, 11, 30, 6, 0)) == sp(2026, 11, 30, 8, 0)
    assert next_opening(HOURS, sp(2026, 11, 30, 9, 0)) == sp(2026, 11, 30, 9, 0)
    assert next_opening(HOURS, sp(2026, 11, 30, 18, 0)) == sp(2026, 12, 1, 8, 0)
    assert next_opening(HOURS, sp(2026, 12, 5, 12, 0)) == sp(2026, 12, 7, 8, 0)
    lunch = parse_hours(
        {
            "seg": [
                {"start": "13:30", "end": "18:00"},
                {"start": "08:00", "end": "12:00"},
            ]
        },
        [],
        None,
    )
    assert not is_open(lunch, sp(2026, 11, 30, 12, 0))
    assert next_opening(lunch, sp(2026, 11, 30, 12, 0)) == sp(2026, 11, 30, 13, 30)
    never = parse_hours({}, [], None)
    assert next_opening(never, sp(2026, 11, 30, 12, 0)) is None


def test_the_week_and_the_return_in_words() -> None:
    assert schedule_summary(HOURS) == d("seg~sex, 8h~18h; sáb, 8h~12h")
    monday_evening = sp(2026, 11, 30, 19, 0)
    assert when_text(sp(2026, 12, 1, 8, 0), monday_evening) == (
        "amanhã (terça) a partir das 8h"
    )
    assert when_text(sp(2026, 11, 30, 13, 30), sp(2026, 11, 30, 12)) == (
        "hoje a partir das 13h30"
    )
    assert when_text(sp(2026, 12, 7, 8, 0), sp(2026, 12, 5, 13)) == (
        "na segunda-feira (07/12) a partir das 8h"
    )
    assert when_text(None, monday_evening) == "assim que possível"
    assert out_of_office_text(HOURS, monday_evening) == d(
        "Nosso horário de atendimento é seg~sex, 8h~18h; sáb, 8h~12h. Sua conversa"
        " já está na fila: uma pessoa vai te responder amanhã (terça) a partir"
        " das 8h."
    )
    own = parse_hours(WEEKDAYS_8_18, [], "Voltamos {{ retorno }}. ({{horario}})")
    assert out_of_office_text(own, sp(2026, 12, 4, 18, 0)) == d(
        "Voltamos na segunda-feira (07/12) a partir das 8h. (seg~sex, 8h~18h)"
    )


def test_easter_and_the_holidays_it_moves() -> None:
    assert easter(2026) == date(2026, 4, 5)
    assert easter(2027) == date(2027, 3, 28)
    assert easter(2000) == date(2000, 4, 23)
    names = {h.name: h.day for h in brazil_national_holidays(2026)}
    assert names["Carnaval (terça)"] == date(2026, 2, 17)
    assert names["Sexta-feira Santa"] == date(2026, 4, 3)
    assert names["Corpus Christi"] == date(2026, 6, 4)
    assert names["Natal"] == date(2026, 12, 25)
    assert names["Dia Nacional de Zumbi e da Consciência Negra"] == date(2026, 11, 20)
    assert len(names) == 13


def test_a_day_that_ends_at_midnight() -> None:
    late = parse_hours({"seg": [{"start": "20:00", "end": "24:00"}]}, [], None)
    assert is_open(late, sp(2026, 11, 30, 23, 59, 59))
    assert not is_open(late, sp(2026, 11, 30, 23, 59, 59) + timedelta(seconds=1))


@pytest.mark.parametrize(
    ("weekly", "holidays", "text", "error", "words"),
    [
        (
            {"seg": [{"start": "18:00", "end": "08:00"}]},
            [],
            None,
            HoursInvalid,
            "Na segunda-feira, o fim (8h) deve ser depois do início (18h).",
        ),
        ({"seg": [{"start": "9:00", "end": "18:00"}]}, [], None, HoursInvalid, "HH:MM"),
        ({"seg": [{"start": "08:00", "end": "24:30"}]}, [], None, HoursInvalid, "HH"),
        ({"segunda": []}, [], None, HoursInvalid, "seg, ter"),
        (
            {
                "ter": [
                    {"start": "08:00", "end": "12:00"},
                    {"start": "11:00", "end": "18:00"},
                ]
            },
            [],
            None,
            HoursOverlap,
            d("Na terça-feira, os intervalos 8h~12h e 11h~18h se sobrepõem."),
        ),
        ({}, [{"date": "2026-02-30"}], None, HolidayInvalid, "AAAA-MM-DD"),
        ({}, [{"date": "25/12/2026"}], None, HolidayInvalid, "AAAA-MM-DD"),
        ({}, [], "x" * 1001, OutOfOfficeTextInvalid, "1.000"),
        ({}, [], "   ", OutOfOfficeTextInvalid, "1.000"),
        ({}, [], "Volto {{amanha}}", OutOfOfficeTextInvalid, "{{amanha}}"),
    ],
)
def test_bad_input_names_what_is_wrong(
    weekly: object,
    holidays: object,
    text: object,
    error: type[InvalidInput],
    words: str,
) -> None:
    with pytest.raises(error) as raised:
        parse_hours(weekly, holidays, text)
    assert words in raised.value.user_message
