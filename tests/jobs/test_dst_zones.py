"""Classic cron's clock-change rules, checked at every transition of every IANA zone
from 2026 to 2030 (found from zoneinfo itself), not on a few chosen dates:

- a fixed-time job whose time the clocks skip runs once, at the first minute after the jump;
- a fixed-time job whose time comes twice runs once, the first time;
- a job with a wildcard in its minute or hour runs on real time.
"""

import itertools
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from jobs.schedules import Schedule

FIRST, LAST = datetime(2026, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Transition:
    zone: str
    at: datetime  # the UTC instant the offset changes
    before: timedelta  # offset until then
    after: timedelta  # offset from then on

    def wall(self, offset: timedelta) -> datetime:
        return (self.at + offset).replace(tzinfo=None)


def offset(tz: zoneinfo.ZoneInfo, moment: datetime) -> timedelta:
    return moment.astimezone(tz).utcoffset()


def transitions(zone: str) -> Iterator[Transition]:
    """Offset changes, found day by day and narrowed to the second."""
    tz = zoneinfo.ZoneInfo(zone)
    day = FIRST
    while day < LAST:
        following = day + timedelta(days=1)
        if offset(tz, day) != offset(tz, following):
            low, high = int(day.timestamp()), int(following.timestamp())
            while high - low > 1:
                middle = (low + high) // 2
                instant = datetime.fromtimestamp(middle, UTC)
                low, high = (
                    (middle, high) if offset(tz, instant) == offset(tz, day) else (low, middle)
                )
            yield Transition(
                zone, datetime.fromtimestamp(high, UTC), offset(tz, day), offset(tz, following)
            )
        day = following


@cache
def all_transitions() -> list[Transition]:
    return [t for zone in sorted(zoneinfo.available_timezones()) for t in transitions(zone)]


def fixed_time(wall: datetime) -> str:
    return f"{wall.minute} {wall.hour} {wall.day} {wall.month} *"


def ceil_minute(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + MINUTE


def test_there_are_transitions_to_check():
    found = all_transitions()
    assert len({t.zone for t in found}) > 100
    assert any(t.zone == "America/New_York" for t in found)
    assert any(t.zone == "Australia/Lord_Howe" for t in found)  # a 30-minute change


def test_a_fixed_time_job_in_a_skipped_hour_runs_once_at_the_first_minute_after_the_jump():
    checked = 0
    for t in all_transitions():
        if t.after <= t.before:
            continue
        skipped_from, skipped_until = t.wall(t.before), t.wall(t.after)
        for wall in {skipped_from, skipped_from + (skipped_until - skipped_from) / 2}:
            wall = wall.replace(second=0, microsecond=0)
            schedule = Schedule.parse(fixed_time(wall), t.zone)
            run = schedule.next_after(t.at - timedelta(days=2))
            assert run == ceil_minute(t.at), (t, wall)
            assert schedule.next_after(run) > t.at + timedelta(days=300), (t, wall)
            checked += 1
    assert checked > 500


def test_a_fixed_time_job_in_a_repeated_hour_runs_once_the_first_time():
    checked = 0
    for t in all_transitions():
        if t.after >= t.before:
            continue
        repeated_from, repeated_until = t.wall(t.after), t.wall(t.before)
        for wall in {repeated_from, repeated_from + (repeated_until - repeated_from) / 2}:
            wall = wall.replace(second=0, microsecond=0)
            first = (wall - t.before).replace(tzinfo=UTC)
            schedule = Schedule.parse(fixed_time(wall), t.zone)
            run = schedule.next_after(t.at - timedelta(days=2))
            assert run == first, (t, wall)
            assert schedule.next_after(run) > t.at + timedelta(days=300), (t, wall)
            checked += 1
    assert checked > 500


def gaps(expression: str, t: Transition, step: timedelta) -> set[timedelta]:
    runs = Schedule.parse(expression, t.zone).next_runs(12, t.at - 6 * step)
    return {later - earlier for earlier, later in itertools.pairwise(runs)}


def test_a_job_every_fifteen_minutes_keeps_its_real_time_step_across_every_change():
    step = timedelta(minutes=15)
    for t in all_transitions():
        assert gaps("*/15 * * * *", t, step) == {step}, t


def test_an_hourly_job_runs_at_each_existing_wall_time_across_every_change():
    # Every wall time that exists runs, and a repeated one twice: an hour apart in real
    # time, or the size of the change off that where it is not a whole hour (Lord Howe).
    step = timedelta(hours=1)
    for t in all_transitions():
        shift = abs(t.after - t.before)
        assert gaps("30 * * * *", t, step) <= {step, step - shift, step + shift}, t
