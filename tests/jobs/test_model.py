"""jobs/models.py Job: when it runs next, which edits move that, and its stored password."""

from datetime import UTC, datetime, timedelta

from jobs.engine import health
from jobs.models import Job
from tests.conftest import NOON, make_job, reloaded


def test_the_next_run_is_set_when_a_job_is_created(alice, clock):
    job = make_job(alice)

    # 09:00 tomorrow in Berlin.
    assert reloaded(job).next_run_at == datetime(2026, 5, 13, 7, 0, tzinfo=UTC)


def test_a_job_created_paused_has_no_next_run(alice, clock):
    job = make_job(alice, enabled=False)

    assert reloaded(job).next_run_at is None
    assert job.next_runs(3) == []


def test_changing_the_schedule_moves_the_next_run(alice, clock):
    job = make_job(alice)

    job.schedule = "30 14 * * *"
    job.save()

    assert reloaded(job).next_run_at == datetime(2026, 5, 12, 12, 30, tzinfo=UTC)


def test_changing_the_timezone_moves_the_next_run(alice, clock):
    job = make_job(alice)

    job.timezone = "America/New_York"
    job.save()

    # 09:00 EDT is 13:00 UTC, still today.
    assert reloaded(job).next_run_at == datetime(2026, 5, 12, 13, 0, tzinfo=UTC)


def test_pausing_clears_the_next_run_and_resuming_sets_it_from_now(alice, clock):
    job = make_job(alice, schedule="*/5 * * * *")

    health.set_enabled(job, False)
    assert reloaded(job).next_run_at is None

    clock.shift(timedelta(hours=2, minutes=1))
    health.set_enabled(job, True)
    assert reloaded(job).next_run_at == datetime(2026, 5, 12, 12, 5, tzinfo=UTC)


def test_an_expiry_before_the_next_run_leaves_no_next_run(alice, clock):
    job = make_job(alice)

    job.expires_at = datetime(2026, 5, 13, 6, 59, tzinfo=UTC)
    job.save()

    assert reloaded(job).next_run_at is None
    assert job.next_runs(3) == []


def test_an_expiry_after_the_next_run_keeps_it_and_cuts_the_later_ones(alice, clock):
    job = make_job(alice)

    job.expires_at = datetime(2026, 5, 14, 12, 0, tzinfo=UTC)
    job.save()

    assert reloaded(job).next_run_at == datetime(2026, 5, 13, 7, 0, tzinfo=UTC)
    assert reloaded(job).next_runs(3) == [
        datetime(2026, 5, 13, 7, 0, tzinfo=UTC),
        datetime(2026, 5, 14, 7, 0, tzinfo=UTC),
    ]


def test_editing_the_title_does_not_move_a_slot_that_is_due(alice, clock):
    job = make_job(alice, schedule="*/5 * * * *")
    due = datetime(2026, 5, 12, 10, 5, tzinfo=UTC)
    assert reloaded(job).next_run_at == due

    # The slot has come and the dispatcher has not taken it yet.
    clock.shift(timedelta(minutes=7))
    job = reloaded(job)
    job.title = "Renamed"
    job.save()

    assert reloaded(job).next_run_at == due


def test_it_lists_the_next_three_runs(alice, clock):
    job = make_job(alice)

    assert reloaded(job).next_runs(3) == [
        datetime(2026, 5, 13, 7, 0, tzinfo=UTC),
        datetime(2026, 5, 14, 7, 0, tzinfo=UTC),
        datetime(2026, 5, 15, 7, 0, tzinfo=UTC),
    ]


def test_it_describes_its_schedule(alice):
    assert make_job(alice).describe_schedule() == "At 09:00"


def test_due_jobs_are_the_enabled_ones_whose_time_has_come(alice, bob, clock):
    soon = make_job(alice, title="soon", schedule="*/5 * * * *")
    sooner = make_job(bob, title="sooner", schedule="* * * * *")
    make_job(alice, title="later")  # tomorrow morning
    make_job(alice, title="paused", schedule="* * * * *", enabled=False)

    due = Job.objects.due(NOON + timedelta(minutes=5))

    assert list(due) == [sooner, soon]


def test_the_basic_auth_password_is_stored_encrypted_and_read_back(alice):
    job = make_job(alice)
    job.auth_password = "hunter2-correct-horse"
    job.save()

    (stored,) = Job.objects.filter(pk=job.pk).values_list("auth_password_encrypted", flat=True)
    assert stored
    assert "hunter2" not in stored
    assert reloaded(job).auth_password == "hunter2-correct-horse"
    assert reloaded(job).auth_password_set


def test_an_empty_password_means_none_is_set(alice):
    job = make_job(alice)
    job.auth_password = ""
    job.save()

    assert reloaded(job).auth_password == ""
    assert not reloaded(job).auth_password_set


def test_deleting_a_member_deletes_the_jobs_of_the_projects_they_own(alice):
    # The delete collector loads the jobs with most fields deferred.
    make_job(alice)

    alice.delete()

    assert not Job.objects.exists()
