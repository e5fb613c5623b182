"""REST API v1 jobs: one-off jobs (run_at), spread and chains (after_job), and what is
refused with a 400 beside its field."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.chaining import MAX_CHAIN_DEPTH
from jobs.models import Execution, Job
from tests.conftest import NOON, make_job

JOBS = "/api/v1/jobs/"
JOB = {"title": "Report", "url": "http://127.0.0.1:9/report", "timezone": "UTC"}
pytestmark = pytest.mark.usefixtures("private_targets", "fresh_limits", "clock")


@pytest.fixture
def alice_api(alice_api):
    """JSON, as the API's clients send it (a form's missing box would mean false)."""
    alice_api.default_format = "json"
    return alice_api


def in_an_hour() -> str:
    return (timezone.now() + timedelta(hours=1)).isoformat()


def refused(response, field: str, fragment: str) -> None:
    assert response.status_code == 400, response.json()
    errors = response.json()
    assert list(errors) == [field], errors
    assert any(fragment in message for message in errors[field]), errors


def test_a_one_off_job_shows_its_single_run(alice_api):
    run_at = in_an_hour()

    response = alice_api.post(JOBS, {**JOB, "run_at": run_at, "delete_after_run": True})

    assert response.status_code == 201, response.json()
    job = response.json()
    assert (job["schedule"], job["run_at"], job["delete_after_run"]) == ("", job["run_at"], True)
    assert job["next_runs"] == [job["run_at"]]
    assert job["schedule_description"] == "Once"


def test_a_job_that_runs_only_after_another_has_no_runs_of_its_own(alice_api, alice):
    parent = make_job(alice)

    response = alice_api.post(
        JOBS,
        {**JOB, "after_job": parent.id, "after_outcome": "failure", "after_delay_seconds": 60},
    )

    assert response.status_code == 201, response.json()
    job = response.json()
    assert (job["after_job"], job["after_outcome"], job["after_delay_seconds"]) == (
        parent.id,
        "failure",
        60,
    )
    assert job["next_runs"] == []
    assert Job.objects.get(id=job["id"]).next_run_at is None


def test_spread_moves_the_next_runs(alice_api):
    response = alice_api.post(JOBS, {**JOB, "schedule": "0 * * * *", "spread_seconds": 300})

    job = Job.objects.get(id=response.json()["id"])
    assert response.json()["spread_seconds"] == 300
    # At 10:00 sharp the 10:00 slot's shifted run is still ahead.
    assert job.next_run_at == NOON + job.spread_offset


def test_a_chain_run_names_the_run_that_triggered_it(alice_api, alice):
    parent = make_job(alice)
    child = make_job(alice, schedule="", after_job=parent)
    parent_run = Execution.objects.create(job=parent, scheduled_for=timezone.now())
    Execution.objects.create(
        job=child,
        scheduled_for=timezone.now(),
        trigger=Execution.Trigger.CHAIN,
        chained_from=parent_run,
    )

    run = alice_api.get(f"{JOBS}{child.id}/executions/").json()["results"][0]

    assert (run["trigger"], run["chained_from"]) == ("chain", parent_run.id)


def test_run_at_in_the_past_is_refused(alice_api):
    past = (timezone.now() - timedelta(minutes=1)).isoformat()

    refused(alice_api.post(JOBS, {**JOB, "run_at": past}), "run_at", "This time has passed")


def test_run_at_with_a_schedule_is_refused(alice_api):
    response = alice_api.post(JOBS, {**JOB, "schedule": "@daily", "run_at": in_an_hour()})

    refused(response, "run_at", "not both")


def test_setting_run_at_on_a_scheduled_job_is_refused_unless_the_schedule_goes(alice_api, alice):
    job = make_job(alice)

    refused(alice_api.patch(f"{JOBS}{job.id}/", {"run_at": in_an_hour()}), "run_at", "not both")
    response = alice_api.patch(f"{JOBS}{job.id}/", {"run_at": in_an_hour(), "schedule": ""})
    assert response.status_code == 200
    assert len(response.json()["next_runs"]) == 1


def test_a_job_with_no_way_to_run_is_refused(alice_api):
    refused(alice_api.post(JOBS, JOB), "schedule", "Enter a schedule")


def test_editing_a_one_off_job_after_its_run_is_not_refused(alice_api, alice, clock):
    job = make_job(alice, schedule="", run_at=timezone.now() + timedelta(minutes=1))
    clock.shift(timedelta(hours=1))

    response = alice_api.patch(f"{JOBS}{job.id}/", {"title": "Renamed"})

    assert response.status_code == 200, response.json()


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("spread_seconds", 301, "less than or equal to 300"),
        ("spread_seconds", -1, "greater than or equal to 0"),
        ("after_delay_seconds", 3601, "less than or equal to 3600"),
        ("after_outcome", "sometimes", "is not a valid choice"),
    ],
)
def test_out_of_range_values_are_refused(alice_api, alice, field, value, fragment):
    parent = make_job(alice)

    response = alice_api.post(JOBS, {**JOB, "after_job": parent.id, field: value})

    refused(response, field, fragment)


def test_a_job_of_another_project_cannot_be_the_one_to_run_after(alice_api, bob):
    bobs = make_job(bob)

    refused(alice_api.post(JOBS, {**JOB, "after_job": bobs.id}), "after_job", "does not exist")


def test_a_job_cannot_run_after_itself(alice_api, alice):
    job = make_job(alice)

    response = alice_api.patch(f"{JOBS}{job.id}/", {"after_job": job.id})

    refused(response, "after_job", "a chain cannot loop")


def test_a_cycle_is_refused(alice_api, alice):
    a = make_job(alice, title="A")
    b = make_job(alice, title="B", after_job=a)
    c = make_job(alice, title="C", after_job=b)

    response = alice_api.patch(f"{JOBS}{a.id}/", {"after_job": c.id})

    refused(response, "after_job", "“C” already runs after this job")
    assert Job.objects.get(id=a.id).after_job is None


def test_a_chain_deeper_than_ten_is_refused(alice_api, alice):
    chain = [make_job(alice, title="Job 0")]
    for number in range(1, MAX_CHAIN_DEPTH + 1):
        chain.append(make_job(alice, title=f"Job {number}", schedule="", after_job=chain[-1]))

    response = alice_api.post(JOBS, {**JOB, "after_job": chain[-1].id})

    refused(response, "after_job", "at most 10 jobs after its first one")


def test_joining_two_chains_counts_the_jobs_below_too(alice_api, alice):
    top = [make_job(alice, title="Top 0")]
    for number in range(1, 6):
        top.append(make_job(alice, title=f"Top {number}", schedule="", after_job=top[-1]))
    bottom = [make_job(alice, title="Bottom 0")]
    for number in range(1, 6):
        bottom.append(make_job(alice, title=f"Bottom {number}", schedule="", after_job=bottom[-1]))

    # Top 5 is 5 after Top 0; Bottom 0 under it would make Bottom 5 eleven after it.
    response = alice_api.patch(f"{JOBS}{bottom[0].id}/", {"after_job": top[-1].id})

    refused(response, "after_job", "this one would run 11")
