"""Cron schedules in a member's timezone, with classic cron's DST behaviour.

Wall-clock times come from croniter in the job's timezone. Around DST changes:
- a fixed-time run (no wildcard or step in the minute and hour fields) that falls
  in the skipped hour runs once, right after the jump, and one in the repeated
  hour runs once (the first time that hour comes round);
- a job with a wildcard or step in the minute or hour field runs on real time:
  skipped wall times do not exist, repeated ones run in both copies of the hour.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache

from cron_descriptor import CasingTypeEnum, ExpressionDescriptor
from croniter import CroniterBadDateError, croniter

ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
# A DST change moves wall clocks by at most this much (Lord Howe's is 30 minutes,
# most are one hour; none is more than two).
LARGEST_CLOCK_CHANGE = timedelta(hours=3)


# croniter gives up on finding a date after this long; so does the walk over a DST change.
LONGEST_GAP = timedelta(days=366 * 50)
EMPTY_SCHEDULE = "Enter a schedule, e.g. */5 * * * * for every 5 minutes."


class ScheduleError(ValueError):
    pass


class SkippedByClockChange(CroniterBadDateError):
    """Every wall time the schedule names falls in an hour the clocks skip."""


def validate_timezone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"“{name}” is not a timezone we know (use an IANA name such as Europe/Berlin)."
        ) from None


def expand(expression: str) -> str:
    """The five-field form of an expression, or ScheduleError saying what is wrong."""
    expression = " ".join(expression.split())
    if not expression:
        raise ScheduleError(EMPTY_SCHEDULE)
    if expression.startswith("@"):
        if expression.lower() not in ALIASES:
            known = ", ".join(sorted(set(ALIASES) - {"@midnight", "@annually"}))
            raise ScheduleError(f"Unknown shortcut “{expression}”. Use one of {known}.")
        return ALIASES[expression.lower()]
    fields = expression.split(" ")
    if len(fields) == 6:
        raise ScheduleError("Jobs run at most once a minute: a seconds field is not supported.")
    if len(fields) != 5:
        raise ScheduleError(
            f"A schedule has 5 fields (minute hour day month weekday); this one has {len(fields)}."
        )
    if not croniter.is_valid(expression):
        raise ScheduleError(f"“{expression}” is not a valid schedule: {cron_complaint(expression)}")
    return expression


FIELDS = [
    ("minute", "0 to 59"),
    ("hour", "0 to 23"),
    ("day of month", "1 to 31"),
    ("month", "1 to 12, or JAN to DEC"),
    ("weekday", "0 to 6, or SUN to SAT"),
]


def cron_complaint(expression: str) -> str:
    """Name the first field croniter cannot read, trying each one on its own."""
    fields = expression.split(" ")
    for index, (name, allowed) in enumerate(FIELDS):
        alone = " ".join(field if i == index else "*" for i, field in enumerate(fields))
        if not croniter.is_valid(alone):
            return f"the {name} field “{fields[index]}” is not valid (allowed: {allowed})."
    return "its fields do not combine."


@dataclass(frozen=True)
class Schedule:
    expression: str
    timezone: str

    @classmethod
    def parse(cls, expression: str, timezone: str) -> "Schedule":
        """A checked schedule; ScheduleError when it is malformed or never runs."""
        validate_timezone(timezone)
        schedule = cls(expand(expression), timezone)
        try:
            schedule.next_after(datetime(2026, 1, 1, tzinfo=UTC))
        except SkippedByClockChange:
            raise ScheduleError(
                f"This schedule never runs in {timezone}: its times fall in the hour"
                " the clocks skip when they go forward."
            ) from None
        except CroniterBadDateError:
            raise ScheduleError(
                "This schedule never runs (no such date, e.g. 30 February)."
            ) from None
        return schedule

    @cached_property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @cached_property
    def runs_on_real_time(self) -> bool:
        minute, hour = self.expression.split(" ")[:2]
        return "*" in minute or "*" in hour

    def describe(self) -> str:
        return ExpressionDescriptor(
            self.expression, use_24hour_time_format=True, casing_type=CasingTypeEnum.Sentence
        ).get_description()

    def next_runs(self, count: int, after: datetime) -> list[datetime]:
        runs = []
        for _ in range(count):
            after = self.next_after(after)
            runs.append(after)
        return runs

    def next_after(self, after: datetime) -> datetime:
        """The first run strictly after `after` (aware), as an aware UTC datetime."""
        return next_run(self, after.astimezone(UTC))

    def compute_next_after(self, after: datetime) -> datetime:
        wall = croniter(self.expression, self.wall_time(after)).get_next(datetime)
        instant = self.instant(wall, fold=0)
        # Away from a clock change (the usual case) the next wall time is the answer.
        same_offset = (
            after.astimezone(self.tz).utcoffset() == instant.astimezone(self.tz).utcoffset()
        )
        if same_offset and instant > after and self.instants(wall) == [instant]:
            return instant
        return self.next_after_near_clock_change(after)

    def next_after_near_clock_change(self, after: datetime) -> datetime:
        # Walk wall times from a little before `after`: in a repeated hour the
        # next run may have an earlier wall time than `after` has.
        times = croniter(self.expression, self.wall_time(after) - LARGEST_CLOCK_CHANGE)
        # A schedule on real time whose every wall time is skipped (02:xx on the last
        # Sunday of March, in Europe) would otherwise be walked to the year 9999.
        give_up = self.wall_time(after) + LONGEST_GAP
        best: datetime | None = None
        while True:
            wall = times.get_next(datetime)
            if best is not None and wall > self.wall_time(best) + LARGEST_CLOCK_CHANGE:
                return best
            if best is None and wall > give_up:
                raise SkippedByClockChange(f"{self.expression} never runs in {self.timezone}")
            for instant in self.instants(wall):
                if instant > after and (best is None or instant < best):
                    best = instant

    def instants(self, wall: datetime) -> list[datetime]:
        """The real moments a wall-clock time stands for, by the DST rules above."""
        first, second = self.instant(wall, fold=0), self.instant(wall, fold=1)
        if self.wall_time(first) != wall:  # skipped by a jump forward
            return [] if self.runs_on_real_time else [self.end_of_jump(second, first)]
        if first != second:  # repeated by a jump back
            return [first, second] if self.runs_on_real_time else [first]
        return [first]

    def end_of_jump(self, before: datetime, after: datetime) -> datetime:
        """The first whole minute after the clocks jumped, between two instants."""
        offset = before.astimezone(self.tz).utcoffset()
        low, high = before, after
        while high - low > timedelta(minutes=1):
            middle = (low + (high - low) / 2).replace(second=0, microsecond=0)
            if middle.astimezone(self.tz).utcoffset() == offset:
                low = middle
            else:
                high = middle
        return high

    def instant(self, wall: datetime, *, fold: int) -> datetime:
        return wall.replace(tzinfo=self.tz, fold=fold).astimezone(UTC)

    def wall_time(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz).replace(tzinfo=None)


@lru_cache(maxsize=4096)
def schedule_for(expression: str, timezone: str) -> Schedule:
    """Parsed schedules are shared: many jobs use the same few expressions."""
    return Schedule.parse(expression, timezone)


@lru_cache(maxsize=65_536)
def next_run(schedule: Schedule, after: datetime) -> datetime:
    """Schedule.next_after, remembered: the tick asks it for every job it claims, and most
    jobs due together share a schedule and a slot (croniter was a quarter of the tick)."""
    return schedule.compute_next_after(after)
