"""jobs/engine/rows.py: many rows' fields in one statement, read back exactly as saved."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.projects import personal_project
from jobs.engine.rows import insert_rows, update_rows
from jobs.models import Execution, Job


@pytest.fixture
def job(alice):
    return Job.objects.create(
        user=alice,
        project=personal_project(alice),
        title="t",
        url="https://8.8.8.8/",
        schedule="@daily",
    )


def test_it_saves_each_rows_own_values_of_every_type(job, django_assert_num_queries):
    executions = [Execution.objects.create(job=job, scheduled_for=timezone.now()) for _ in range(3)]
    finished = timezone.now()
    for n, execution in enumerate(executions):
        execution.status = Execution.Status.FAILED if n else Execution.Status.SUCCEEDED
        execution.http_status = None if n == 2 else 200 + n
        execution.response_headers = {"X-N": str(n), "Quote": 'it\'s "quoted"'}
        execution.response_body = f"<script>{n}</script>'; DROP TABLE jobs_job; --"
        execution.finished_at = finished
        execution.lateness_ms = -n

    with django_assert_num_queries(1):
        update_rows(
            executions,
            [
                "status",
                "http_status",
                "response_headers",
                "response_body",
                "finished_at",
                "lateness_ms",
            ],
        )

    for n, execution in enumerate(Execution.objects.order_by("id")):
        assert execution.status == ("failed" if n else "succeeded")
        assert execution.http_status == (None if n == 2 else 200 + n)
        assert execution.response_headers == {"X-N": str(n), "Quote": 'it\'s "quoted"'}
        assert execution.response_body == f"<script>{n}</script>'; DROP TABLE jobs_job; --"
        assert execution.finished_at == finished
        assert execution.lateness_ms == -n
    assert Job.objects.filter(id=job.id).exists()


def test_nothing_to_save_sends_nothing(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        update_rows([], ["status"])


def test_any_matches_as_in_does_with_one_array_parameter(job, django_assert_num_queries):
    first, _, third = [
        Execution.objects.create(job=job, scheduled_for=timezone.now()) for _ in range(3)
    ]

    with django_assert_num_queries(1) as queries:
        found = set(Execution.objects.filter(id__any=[first.id, third.id, -1]))

    assert found == {first, third}
    assert "= ANY(" in queries[0]["sql"]
    assert Execution.objects.filter(job_id__any=[job.id]).count() == 3
    assert not Execution.objects.filter(id__any=[]).exists()


def test_insert_writes_every_column_with_its_default_and_skips_a_taken_slot(
    job, django_assert_num_queries
):
    slot = timezone.now().replace(microsecond=0)
    taken = Execution.objects.create(job=job, scheduled_for=slot, error="recorded before")
    later = slot + timedelta(minutes=1)

    with django_assert_num_queries(1):
        insert_rows(
            [
                Execution(job=job, scheduled_for=slot, error="a second run of the slot"),
                Execution(job=job, scheduled_for=later, request={"url": 'it\'s "quoted"'}),
            ]
        )

    assert list(Execution.objects.filter(scheduled_for=slot)) == [taken]
    assert Execution.objects.get(id=taken.id).error == "recorded before"
    inserted = Execution.objects.get(scheduled_for=later)
    assert inserted.status == Execution.Status.PENDING
    assert inserted.trigger == Execution.Trigger.SCHEDULE
    assert inserted.attempt == 1
    assert inserted.response_headers == {}
    assert inserted.request == {"url": 'it\'s "quoted"'}
    assert inserted.created_at is not None
    assert inserted.started_at is None


def test_any_of_nothing_matches_nothing_without_a_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert list(Execution.objects.filter(id__any=[])) == []
        assert Execution.objects.filter(id__any=[]).update(error="x") == 0
