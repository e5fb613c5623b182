"""A job's execution history: on the job page and as the partial the page polls (htmx), newest
first, filtered by status, a page at a time; only for the job's owner."""

from datetime import UTC, datetime, timedelta

import pytest

from jobs.models import Execution, Job
from tests.conftest import page_text, table_rows

FIRST = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
Status = Execution.Status


def add_runs(job: Job, count: int, **fields: object) -> list[Execution]:
    """One execution a day from FIRST (or after the job's latest one)."""
    latest = job.executions.order_by("-scheduled_for").first()
    start = latest.scheduled_for + timedelta(days=1) if latest else FIRST
    return Execution.objects.bulk_create(
        Execution(
            **{
                "job": job,
                "scheduled_for": start + timedelta(days=day),
                "status": Status.SUCCEEDED,
                **fields,
            }
        )
        for day in range(count)
    )


def test_the_job_page_lists_executions_newest_first_with_their_details(alice_client, alice_job):
    ok, failed, pending = (
        Execution.objects.create(
            job=alice_job,
            scheduled_for=datetime(2026, 3, 9, 8, 0, tzinfo=UTC),
            status=Status.SUCCEEDED,
            http_status=200,
            lateness_ms=85,
            duration_ms=412,
        ),
        Execution.objects.create(
            job=alice_job,
            scheduled_for=datetime(2026, 3, 10, 8, 0, tzinfo=UTC),
            status=Status.FAILED,
            failure_reason=Execution.Reason.TIMEOUT,
            lateness_ms=1250,
            duration_ms=30000,
        ),
        Execution.objects.create(
            job=alice_job,
            scheduled_for=datetime(2026, 3, 10, 11, 0, 12, tzinfo=UTC),
            trigger=Execution.Trigger.MANUAL,
        ),
    )

    response = alice_client.get(f"/jobs/{alice_job.id}/")

    assert table_rows(response) == [
        ["Tue 10 Mar, 12:00:12", "Manual", "Pending", "", "", "", ""],
        [
            "Tue 10 Mar, 09:00:00",
            "Schedule",
            "Failed",
            "",
            Execution.Reason.TIMEOUT.label,
            "1250 ms",
            "30000 ms",
        ],
        ["Mon 9 Mar, 09:00:00", "Schedule", "Succeeded · 200", "200", "", "85 ms", "412 ms"],
    ]
    content = response.content.decode()
    for execution in (pending, failed, ok):
        assert f'href="/jobs/executions/{execution.id}/"' in content


def test_it_polls_its_own_partial_every_five_seconds(alice_client, alice_job):
    response = alice_client.get(f"/jobs/{alice_job.id}/")

    content = response.content.decode()
    assert (
        f'<div id="history" hx-get="/jobs/{alice_job.id}/history/?status=&page=1" '
        'hx-trigger="every 5s" hx-swap="outerHTML">'
    ) in content
    assert "htmx.min.js" in content


def test_the_partial_is_the_history_alone_and_shows_new_executions(alice_client, alice_job):
    add_runs(alice_job, 2)
    first = alice_client.get(f"/jobs/{alice_job.id}/history/")
    add_runs(alice_job, 1, status=Status.FAILED, http_status=500)

    polled = alice_client.get(f"/jobs/{alice_job.id}/history/")

    assert first.status_code == polled.status_code == 200
    assert polled.content.decode().lstrip().startswith('<div id="history"')
    assert "<html" not in polled.content.decode()
    assert len(table_rows(first)) == 2
    assert [row[2] for row in table_rows(polled)] == ["Failed · 500", "Succeeded", "Succeeded"]


def test_it_filters_by_status(alice_client, alice_job):
    add_runs(alice_job, 3)
    add_runs(alice_job, 2, status=Status.FAILED)
    add_runs(alice_job, 1, status=Status.MISSED, missed_count=4)

    for path in (f"/jobs/{alice_job.id}/", f"/jobs/{alice_job.id}/history/"):
        failed = alice_client.get(path, {"status": "failed"})
        missed = alice_client.get(path, {"status": "missed"})
        assert [row[2] for row in table_rows(failed)] == ["Failed", "Failed"]
        assert [row[2] for row in table_rows(missed)] == ["Missed (4 runs)"]
        assert '<option value="failed" selected>failed</option>' in failed.content.decode()
        # The polled partial keeps the filter.
        assert f"/jobs/{alice_job.id}/history/?status=failed&page=1" in failed.content.decode()


def test_an_unknown_status_shows_everything(alice_client, alice_job):
    add_runs(alice_job, 2)

    response = alice_client.get(f"/jobs/{alice_job.id}/history/", {"status": "bogus"})

    assert len(table_rows(response)) == 2
    assert '<option value="" selected>all executions</option>' in response.content.decode()


def test_a_filter_with_no_match_says_so(alice_client, alice_job):
    add_runs(alice_job, 2)

    response = alice_client.get(f"/jobs/{alice_job.id}/history/", {"status": "skipped"})

    assert "No executions with this status yet." in page_text(response)


def test_a_job_without_executions_says_so(alice_client, alice_job):
    assert "No executions yet." in page_text(alice_client.get(f"/jobs/{alice_job.id}/"))


def test_thirty_executions_make_two_pages(alice_client, alice_job):
    add_runs(alice_job, 30)

    first = alice_client.get(f"/jobs/{alice_job.id}/")
    second = alice_client.get(f"/jobs/{alice_job.id}/history/", {"page": "2"})

    assert len(table_rows(first)) == 25
    assert "Page 1 of 2" in page_text(first)
    assert table_rows(first)[0][0] == "Mon 30 Mar, 10:00:00"  # the newest (CEST since the 29th)
    assert len(table_rows(second)) == 5
    assert "Page 2 of 2" in page_text(second)
    assert table_rows(second)[-1][0] == "Sun 1 Mar, 09:00:00"  # the oldest
    assert "Older" in page_text(first) and "Newer" not in page_text(first)
    assert "Newer" in page_text(second) and "Older" not in page_text(second)


def test_the_page_links_keep_the_filter(alice_client, alice_job):
    add_runs(alice_job, 30, status=Status.FAILED)

    response = alice_client.get(f"/jobs/{alice_job.id}/history/", {"status": "failed"})

    content = response.content.decode()
    assert 'href="?status=failed&page=2"' in content
    assert f'hx-get="/jobs/{alice_job.id}/history/?status=failed&page=2"' in content


def test_a_page_out_of_range_shows_the_last_one(alice_client, alice_job):
    add_runs(alice_job, 30)

    response = alice_client.get(f"/jobs/{alice_job.id}/history/", {"page": "9"})

    assert "Page 2 of 2" in page_text(response)
    assert len(table_rows(response)) == 5


def test_the_partial_costs_the_same_for_many_executions(
    alice_client, alice_job, django_assert_max_num_queries
):
    add_runs(alice_job, 3)
    with django_assert_max_num_queries(6) as few:
        first = alice_client.get(f"/jobs/{alice_job.id}/history/")
    add_runs(alice_job, 100)

    with django_assert_max_num_queries(len(few.captured_queries)):
        second = alice_client.get(f"/jobs/{alice_job.id}/history/", {"page": "2"})

    assert first.status_code == second.status_code == 200


@pytest.mark.parametrize("path", ["/jobs/{id}/", "/jobs/{id}/history/", "/jobs/{id}/charts/"])
def test_bob_gets_404_for_alices_history_and_charts(client, bob, alice_job, path):
    add_runs(alice_job, 2)
    client.force_login(bob)

    assert client.get(path.format(id=alice_job.id)).status_code == 404


@pytest.mark.parametrize("path", ["/jobs/{id}/history/", "/jobs/{id}/charts/"])
def test_the_partials_need_a_login(client, alice_job, path):
    response = client.get(path.format(id=alice_job.id))

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
