"""jobs/schedules.py: next runs in the member's timezone, refusals, and cron's DST rules.

Runs are compared as UTC instants, so a wrong offset shows as a wrong time; DST tests
also check the real time between consecutive runs.
"""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from jobs.schedules import Schedule, ScheduleError, schedule_for

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def gaps(runs: list[datetime]) -> list[timedelta]:
    return [later - earlier for earlier, later in pairwise(runs)]


def test_it_gives_the_next_three_runs_of_an_ordinary_schedule():
    schedule = Schedule.parse("*/5 * * * *", "UTC")

    runs = schedule.next_runs(3, utc(2026, 5, 12, 10, 2, 30))

    assert runs == [utc(2026, 5, 12, 10, 5), utc(2026, 5, 12, 10, 10), utc(2026, 5, 12, 10, 15)]


def test_it_runs_at_wall_clock_time_in_the_members_timezone():
    # 09:00 on weekdays in Berlin is 08:00 UTC in winter; from a Friday evening
    # the next runs are Monday, Tuesday and Wednesday.
    schedule = Schedule.parse("0 9 * * 1-5", BERLIN)

    runs = schedule.next_runs(3, utc(2026, 1, 16, 18, 0))

    assert runs == [utc(2026, 1, 19, 8), utc(2026, 1, 20, 8), utc(2026, 1, 21, 8)]


def test_the_next_run_is_strictly_after_the_given_moment():
    schedule = Schedule.parse("0 * * * *", "UTC")

    assert schedule.next_after(utc(2026, 5, 12, 10, 0)) == utc(2026, 5, 12, 11, 0)


@pytest.mark.parametrize(
    ("alias", "first", "second"),
    [
        ("@hourly", utc(2026, 1, 15, 11), utc(2026, 1, 15, 12)),
        ("@daily", utc(2026, 1, 16), utc(2026, 1, 17)),
        ("@weekly", utc(2026, 1, 18), utc(2026, 1, 25)),  # Sundays
        ("@monthly", utc(2026, 2, 1), utc(2026, 3, 1)),
        ("@yearly", utc(2027, 1, 1), utc(2028, 1, 1)),
    ],
)
def test_it_runs_the_shortcuts(alias: str, first: datetime, second: datetime):
    schedule = Schedule.parse(alias, "UTC")

    assert schedule.next_runs(2, utc(2026, 1, 15, 10, 30)) == [first, second]


def test_shortcuts_are_read_in_any_case():
    assert Schedule.parse("@Daily", "UTC").expression == "0 0 * * *"


def test_it_describes_a_schedule_in_words():
    assert Schedule.parse("*/5 * * * *", "UTC").describe() == "Every 5 minutes"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * * * *", "Jobs run at most once a minute: a seconds field is not supported."),
        ("0 0 * * * * *", "has 5 fields (minute hour day month weekday); this one has 7."),
        ("0 0 *", "A schedule has 5 fields (minute hour day month weekday); this one has 3."),
        ("61 * * * *", "the minute field “61” is not valid (allowed: 0 to 59)."),
        ("0 24 * * *", "the hour field “24” is not valid (allowed: 0 to 23)."),
        ("0 0 32 * *", "the day of month field “32” is not valid (allowed: 1 to 31)."),
        ("0 0 0 * *", "the day of month field “0” is not valid (allowed: 1 to 31)."),
        ("0 0 * 13 *", "the month field “13” is not valid (allowed: 1 to 12, or JAN to DEC)."),
        ("0 0 * * 8", "the weekday field “8” is not valid (allowed: 0 to 6, or SUN to SAT)."),
        ("*/0 * * * *", "the minute field “*/0” is not valid"),
        ("@often", "Unknown shortcut “@often”. Use one of @daily, @hourly, @monthly, @weekly,"),
        ("@reboot", "Unknown shortcut “@reboot”."),
        ("0 0 30 2 *", "This schedule never runs (no such date, e.g. 30 February)."),
        ("0 0 31 4 *", "This schedule never runs (no such date, e.g. 30 February)."),
        ("", "Enter a schedule, e.g. */5 * * * * for every 5 minutes."),
        ("   ", "Enter a schedule, e.g. */5 * * * * for every 5 minutes."),
    ],
)
def test_it_refuses_a_bad_schedule_saying_what_is_wrong(expression: str, message: str):
    with pytest.raises(ScheduleError) as refusal:
        Schedule.parse(expression, "UTC")

    assert message in str(refusal.value)


def test_it_refuses_a_schedule_whose_times_the_clocks_always_skip():
    # Every 15 minutes from 02:00 to 02:45 on the last Sunday of March: the hour
    # Europe's clocks skip, every year. In UTC the same schedule runs.
    assert Schedule.parse("*/15 2 * 3 L0", "UTC")

    with pytest.raises(ScheduleError) as refusal:
        Schedule.parse("*/15 2 * 3 L0", BERLIN)

    assert str(refusal.value) == (
        "This schedule never runs in Europe/Berlin: its times fall in the hour"
        " the clocks skip when they go forward."
    )


def test_it_accepts_the_29th_of_february():
    # It never runs in 2026 or 2027, but it does run.
    schedule = Schedule.parse("0 0 29 2 *", "UTC")

    assert schedule.next_after(utc(2026, 1, 1)) == utc(2028, 2, 29)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../../etc/passwd", "Europe/Berlin "])
def test_it_refuses_an_unknown_timezone(name: str):
    with pytest.raises(ScheduleError) as refusal:
        Schedule.parse("0 * * * *", name)

    assert f"“{name}” is not a timezone we know (use an IANA name" in str(refusal.value)


def test_the_same_schedule_is_parsed_once_and_shared():
    assert schedule_for("*/5 * * * *", BERLIN) is schedule_for("*/5 * * * *", BERLIN)
    assert schedule_for("*/5 * * * *", BERLIN) is not schedule_for("*/5 * * * *", NEW_YORK)


# Berlin, 2026-03-29: at 01:00 UTC clocks jump from 02:00 CET to 03:00 CEST.


def test_a_fixed_time_in_the_skipped_hour_runs_once_right_after_the_jump():
    schedule = Schedule.parse("30 2 * * *", BERLIN)

    runs = schedule.next_runs(3, utc(2026, 3, 27, 12))

    assert runs == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 29, 1, 0),  # 03:00 CEST: 02:30 did not exist
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
    ]
    assert gaps(runs) == [timedelta(hours=23, minutes=30)] * 2


def test_a_step_schedule_keeps_real_time_across_the_jump_forward():
    schedule = Schedule.parse("*/15 * * * *", BERLIN)

    runs = schedule.next_runs(3, utc(2026, 3, 29, 0, 40))

    assert runs == [
        utc(2026, 3, 29, 0, 45),  # 01:45 CET
        utc(2026, 3, 29, 1, 0),  # 03:00 CEST
        utc(2026, 3, 29, 1, 15),  # 03:15 CEST
    ]
    assert gaps(runs) == [timedelta(minutes=15)] * 2


# New York, 2026-11-01: at 06:00 UTC clocks go back from 02:00 EDT to 01:00 EST.


def test_a_fixed_time_in_the_repeated_hour_runs_once():
    schedule = Schedule.parse("30 1 * * *", NEW_YORK)

    runs = schedule.next_runs(3, utc(2026, 10, 31, 12))

    assert runs == [
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT; not again at 01:30 EST
        utc(2026, 11, 2, 6, 30),  # 01:30 EST
        utc(2026, 11, 3, 6, 30),
    ]
    assert gaps(runs) == [timedelta(hours=25), timedelta(hours=24)]


def test_a_fixed_time_job_does_not_run_again_in_the_second_copy_of_the_hour():
    schedule = Schedule.parse("30 1 * * *", NEW_YORK)

    # 01:05 EST, the second time the clocks show 01:05 that night.
    assert schedule.next_after(utc(2026, 11, 1, 6, 5)) == utc(2026, 11, 2, 6, 30)


def test_a_step_schedule_runs_through_both_copies_of_the_repeated_hour():
    schedule = Schedule.parse("*/15 * * * *", NEW_YORK)

    runs = schedule.next_runs(9, utc(2026, 11, 1, 4, 50))

    edt = [utc(2026, 11, 1, 5, minute) for minute in (0, 15, 30, 45)]  # 01:00..01:45 EDT
    est = [utc(2026, 11, 1, 6, minute) for minute in (0, 15, 30, 45)]  # 01:00..01:45 EST
    assert runs == [*edt, *est, utc(2026, 11, 1, 7, 0)]  # then 02:00 EST
    assert gaps(runs) == [timedelta(minutes=15)] * 8


def test_a_wildcard_hour_runs_at_both_one_oclocks():
    schedule = Schedule.parse("0 * * * *", NEW_YORK)

    runs = schedule.next_runs(3, utc(2026, 11, 1, 4, 30))

    assert runs == [
        utc(2026, 11, 1, 5),  # 01:00 EDT
        utc(2026, 11, 1, 6),  # 01:00 EST
        utc(2026, 11, 1, 7),  # 02:00 EST
    ]
    assert gaps(runs) == [timedelta(hours=1)] * 2
