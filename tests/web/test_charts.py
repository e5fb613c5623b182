"""jobs/web/history.py's numbers for the charts on the job page (per hour over 24 hours, per day
over 7 days) and for the dashboard's outcome strip and success rate, each in a fixed number
of queries."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.utils import timezone

from jobs.models import Execution, Job
from jobs.web import history
from tests.conftest import frozen_at, make_job

# A Tuesday, 10:30 in Berlin (CET, UTC+1).
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
Status = Execution.Status
clock = frozen_at(NOW)


def ran(job: Job, at: datetime, status: str = Status.SUCCEEDED, duration_ms: int | None = 100):
    return Execution.objects.create(
        job=job, scheduled_for=at, status=status, duration_ms=duration_ms
    )


def day_chart(job: Job) -> dict:
    return history.chart_data(job, since=timezone.now() - timedelta(hours=24), bucket="hour")


def week_chart(job: Job) -> dict:
    return history.chart_data(job, since=timezone.now() - timedelta(days=7), bucket="day")


@pytest.fixture
def runs(alice_job, bob) -> None:
    """Alice's job over the last day and week, plus what the charts must leave out."""
    ran(alice_job, datetime(2026, 3, 10, 8, 5, tzinfo=UTC), duration_ms=100)  # 09:05 local
    ran(alice_job, datetime(2026, 3, 10, 8, 35, tzinfo=UTC), Status.FAILED, duration_ms=300)
    ran(alice_job, datetime(2026, 3, 10, 9, 10, tzinfo=UTC), duration_ms=50)  # 10:10, this hour
    ran(alice_job, datetime(2026, 3, 9, 9, 0, tzinfo=UTC), duration_ms=400)  # 25 h 30 min ago
    ran(alice_job, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # 8 days ago: in neither chart
    # Not finished, so not outcomes.
    ran(alice_job, datetime(2026, 3, 10, 9, 15, tzinfo=UTC), Status.SKIPPED, duration_ms=None)
    ran(alice_job, datetime(2026, 3, 10, 9, 20, tzinfo=UTC), Status.MISSED, duration_ms=None)
    ran(alice_job, datetime(2026, 3, 10, 9, 25, tzinfo=UTC), Status.RUNNING, duration_ms=None)
    # Another member's job.
    ran(make_job(bob), datetime(2026, 3, 10, 9, 5, tzinfo=UTC), Status.FAILED)


def test_the_day_chart_has_25_hours_in_the_jobs_timezone_with_counts_and_durations(
    clock, alice_job, runs
):
    chart = day_chart(alice_job)

    assert chart["labels"] == [f"{hour:02d}:00" for hour in [*range(10, 24), *range(0, 11)]]
    assert chart["succeeded"] == [0] * 23 + [1, 1]
    assert chart["failed"] == [0] * 23 + [1, 0]
    assert chart["duration"] == [None] * 23 + [200, 50]


def test_the_week_chart_has_8_days_with_counts_and_durations(clock, alice_job, runs):
    chart = week_chart(alice_job)

    assert chart["labels"] == [
        "Tue 03 Mar",
        "Wed 04 Mar",
        "Thu 05 Mar",
        "Fri 06 Mar",
        "Sat 07 Mar",
        "Sun 08 Mar",
        "Mon 09 Mar",
        "Tue 10 Mar",
    ]
    assert chart["succeeded"] == [0, 0, 0, 0, 0, 0, 1, 2]
    assert chart["failed"] == [0, 0, 0, 0, 0, 0, 0, 1]
    assert chart["duration"] == [None] * 6 + [400, 150]


def test_the_day_chart_keeps_the_current_hour_when_the_clocks_go_forward(alice):
    job = make_job(alice)
    # Sunday 29 March 2026, 14:00 in Berlin: at 02:00 the clocks went to 03:00.
    with time_machine.travel(datetime(2026, 3, 29, 12, 0, tzinfo=UTC), tick=False):
        ran(job, datetime(2026, 3, 29, 0, 30, tzinfo=UTC))  # 01:30 CET
        ran(job, datetime(2026, 3, 29, 1, 30, tzinfo=UTC))  # 03:30 CEST
        ran(job, datetime(2026, 3, 29, 12, 0, tzinfo=UTC))  # 14:00 CEST, now
        chart = day_chart(job)

    assert len(chart["labels"]) == 25
    assert "02:00" not in chart["labels"]
    assert chart["labels"][-1] == "14:00"
    by_label = dict(zip(chart["labels"], chart["succeeded"], strict=True))
    assert (by_label["01:00"], by_label["03:00"], by_label["14:00"]) == (1, 1, 1)


def test_the_week_chart_steps_over_a_clock_change_by_calendar_days(alice):
    job = make_job(alice)
    with time_machine.travel(datetime(2026, 3, 31, 12, 0, tzinfo=UTC), tick=False):
        ran(job, datetime(2026, 3, 29, 22, 30, tzinfo=UTC))  # Monday 00:30 CEST
        chart = week_chart(job)

    assert chart["labels"][0] == "Tue 24 Mar"
    assert chart["labels"][-1] == "Tue 31 Mar"
    assert dict(zip(chart["labels"], chart["succeeded"], strict=True))["Mon 30 Mar"] == 1


def test_the_charts_partial_holds_the_data_the_script_draws(alice_client, clock, alice_job, runs):
    response = alice_client.get(f"/jobs/{alice_job.id}/charts/")

    assert response.status_code == 200
    content = response.content.decode()
    assert '<canvas id="chart-day"' in content
    assert '<canvas id="chart-week"' in content
    day, week = (
        json.loads(
            re.search(
                rf'<script id="{name}" type="application/json">(.*?)</script>', content
            ).group(1)
        )
        for name in ("chart-day-data", "chart-week-data")
    )
    assert day == day_chart(alice_job)
    assert week == week_chart(alice_job)
    assert '<script src="/static/js/charts.js"></script>' in content


def test_the_job_page_loads_chart_js_and_the_charts_partial(alice_client, alice_job):
    content = alice_client.get(f"/jobs/{alice_job.id}/").content.decode()

    assert '<script src="/static/chartjs/chart.umd.min.js" defer></script>' in content
    assert f'hx-get="/jobs/{alice_job.id}/charts/" hx-trigger="load, every 60s"' in content
    # Served from the project (Chart.js from npm), not a CDN.
    assert finders.find("chartjs/chart.umd.min.js")
    assert finders.find("js/charts.js")


def test_the_outcome_strip_is_the_last_twenty_finished_runs_oldest_first(clock, alice_job):
    start = NOW - timedelta(hours=2)
    for minute in range(25):
        status = Status.FAILED if minute % 5 == 0 else Status.SUCCEEDED
        ran(alice_job, start + timedelta(minutes=minute), status)
    ran(alice_job, start + timedelta(minutes=30), Status.PENDING)

    (strip,) = history.recent_outcomes([alice_job]).values()

    assert len(strip) == history.STRIP_LENGTH == 20
    assert [execution.scheduled_for for execution in strip] == [
        start + timedelta(minutes=minute) for minute in range(5, 25)
    ]
    assert [execution.status for execution in strip[:5]] == ["failed", *["succeeded"] * 4]


def test_the_success_rate_counts_finished_runs_since_a_time(clock, alice, alice_job):
    idle = make_job(alice, title="Idle")
    for minutes, status in enumerate(["succeeded", "succeeded", "succeeded", "failed"]):
        ran(alice_job, NOW - timedelta(minutes=minutes + 1), status)
    ran(alice_job, NOW - timedelta(days=8), Status.FAILED)  # before the window
    ran(alice_job, NOW - timedelta(minutes=10), Status.SKIPPED)

    rates = history.success_rates([alice_job, idle], since=NOW - timedelta(days=7))

    assert rates == {alice_job.id: 0.75, idle.id: None}


@pytest.mark.parametrize("count", [1, 20])
def test_strips_and_rates_take_one_query_each_for_any_number_of_jobs(
    clock, alice, count, django_assert_max_num_queries
):
    jobs = [make_job(alice, title=f"Job {number}") for number in range(count)]
    for job in jobs:
        for minutes in range(1, 4):
            ran(job, NOW - timedelta(minutes=minutes))

    with django_assert_max_num_queries(1):
        strips = history.recent_outcomes(jobs)
    with django_assert_max_num_queries(1):
        rates = history.success_rates(jobs, since=NOW - timedelta(days=7))

    assert {job.id: len(strips[job.id]) for job in jobs} == {job.id: 3 for job in jobs}
    assert rates == {job.id: 1.0 for job in jobs}


def test_the_dashboard_shows_each_jobs_strip_and_success_rate(
    alice_client, alice, clock, alice_job
):
    idle = make_job(alice, title="Idle")
    for minutes, status in enumerate(["succeeded", "succeeded", "succeeded", "failed"]):
        ran(alice_job, NOW - timedelta(minutes=minutes + 1), status)

    content = alice_client.get("/jobs/").content.decode()

    rows = dict(re.findall(r'<a href="/jobs/(\d+)/">.*?</a>(.*?)</tr>', content, re.DOTALL))
    assert rows[str(alice_job.id)].count('<span class="succeeded"') == 3
    assert rows[str(alice_job.id)].count('<span class="failed"') == 1
    assert "75% ok" in rows[str(alice_job.id)]
    assert "% ok" not in rows[str(idle.id)]
