"""scripts/dr_drill, the disaster drill, without running it (it takes minutes and is not
part of `make test`): its safety check and its counting of slots."""

import subprocess
from datetime import UTC, datetime, timedelta

from django.conf import settings

from bench.drill import Row, measure
from jobs.models import Job

SCRIPT = settings.BASE_DIR / "scripts" / "dr_drill"
KILL = datetime(2026, 11, 29, 6, 0, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def drill(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), *arguments], capture_output=True, text=True, timeout=300, check=False
    )


def test_it_explains_itself():
    result = drill("--help")

    assert result.returncode == 0, result.stderr
    assert "cronsvc_drill" in result.stdout
    assert "RTO" in result.stdout and "RPO" in result.stdout


def test_it_refuses_to_drop_a_database_not_its_own():
    result = drill("--database", "cronsvc", "--no-write")

    assert result.returncode == 1
    assert "name one starting with cronsvc_drill" in result.stderr


def row(id_: int, job: Job, slot: datetime, status: str = "succeeded", **fields) -> Row:
    values = {"trigger": "schedule", "missed_count": 0, "finished_at": slot + timedelta(seconds=1)}
    return Row(id_, job.id, slot, status, **values | fields)


def test_it_counts_each_slot_once_and_finds_the_silent_and_the_doubled():
    # Two every-minute jobs; backup at 05:59:30, kill at 06:00:30, restart at 06:03:30.
    first, second = (Job(id=n, schedule="* * * * *", timezone="UTC") for n in (1, 2))
    backed_up_at, restarted_at = KILL - MINUTE, KILL + 3 * MINUTE
    slot = KILL.replace(second=0)  # 06:00, after the backup
    before_kill = [row(10, first, slot), row(11, second, slot)]
    restored = []  # the backup had neither
    after = [
        # The first job: 06:00 sent again late; 06:01 and 06:02 recorded missed by one row,
        # 06:03 caught up. The second: 06:01 sent twice, 06:02 and 06:03 neither.
        row(10, first, slot),
        row(12, first, slot + MINUTE, status="missed", missed_count=2, finished_at=None),
        row(13, first, slot + 3 * MINUTE, trigger="catch_up"),
        row(14, second, slot + MINUTE),
    ]
    arrivals = [(slot + timedelta(seconds=1), 10), (slot + timedelta(seconds=1), 11)]
    arrivals += [(restarted_at + timedelta(seconds=n), id_) for n, id_ in enumerate([10, 13])]
    arrivals += [(restarted_at + timedelta(seconds=5), 14), (restarted_at + MINUTE, 14)]

    figures = measure(
        jobs=[first, second],
        arrivals=arrivals,
        before_kill=before_kill,
        restored=restored,
        after=after,
        backed_up_at=backed_up_at,
        killed_at=KILL,
        restarted_at=restarted_at,
    )

    assert figures["lost"] == 2
    assert figures["lost_until"] == slot + timedelta(seconds=1)
    forgotten, outage = figures["forgotten"], figures["outage"]
    assert (forgotten.slots, forgotten.sent_again, forgotten.on_time) == (2, 1, 1)
    assert outage.slots == 6  # 06:01, 06:02 and 06:03 of each job
    assert (outage.missed, outage.caught_up, outage.doubled, outage.silent) == (2, 1, 1, 2)
    assert figures["extra_catch_ups"] == 0
    assert figures["rto"] is None  # nothing after the restart reached the target on time
