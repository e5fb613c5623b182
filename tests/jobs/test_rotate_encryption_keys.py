"""manage.py rotate_encryption_keys: stored credentials and signing secrets move to the first
key, so the old key can be removed. (cronsvc.crypto forgets its cached keys whenever the
setting changes.)"""

from functools import partial
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command

from accounts import audit, projects
from accounts.projects import personal_project
from jobs.models import Job
from tests.conftest import make_job

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
PASSWORD = "hunter2 but longer"
backup = partial(make_job, title="Backup", url="https://example.org/", schedule="@daily")


def stored_token(job: Job) -> str:
    return Job.objects.values_list("auth_password_encrypted", flat=True).get(id=job.id)


def rotate() -> str:
    output = StringIO()
    call_command("rotate_encryption_keys", stdout=output)
    return output.getvalue()


def test_after_rotating_the_new_key_alone_reads_the_password(alice, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    job = backup(alice, auth_username="backup", auth_password=PASSWORD)
    token_under_a = stored_token(job)
    assert Fernet(KEY_A).decrypt(token_under_a.encode()).decode() == PASSWORD
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]

    output = rotate()

    assert output.splitlines()[0] == "Re-encrypted the credentials of 1 job(s)."
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    token = stored_token(job)
    assert token != token_under_a
    assert Fernet(KEY_B).decrypt(token.encode()).decode() == PASSWORD
    assert Job.objects.get(id=job.id).auth_password == PASSWORD
    with pytest.raises(InvalidToken):
        Fernet(KEY_A).decrypt(token.encode())


def test_it_leaves_jobs_without_a_password_alone(alice, bob, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    with_password = backup(alice, auth_username="backup", auth_password=PASSWORD)
    without = backup(bob)
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]

    assert rotate().splitlines()[0] == "Re-encrypted the credentials of 1 job(s)."

    assert stored_token(without) == ""
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    assert Job.objects.get(id=with_password.id).auth_password == PASSWORD


def test_rotating_twice_changes_nothing_a_reader_sees(alice, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    job = backup(alice, auth_username="backup", auth_password=PASSWORD)
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]

    rotate()
    rotate()

    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    assert Job.objects.get(id=job.id).auth_password == PASSWORD


def test_rotating_does_not_move_the_next_run(alice, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    job = backup(alice, auth_username="backup", auth_password=PASSWORD)
    Job.objects.filter(id=job.id).update(next_run_at=job.next_run_at.replace(year=2031))
    before = Job.objects.get(id=job.id)
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]

    rotate()

    after = Job.objects.get(id=job.id)
    assert (after.next_run_at, after.updated_at) == (before.next_run_at, before.updated_at)


def test_signing_secrets_move_to_the_new_key_too(alice, bob, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    project = personal_project(alice)
    by = audit.Actor(user=alice, via=audit.Via.WEB)
    old = projects.new_signing_secret(project, by=by)
    new = projects.new_signing_secret(project, by=by)
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]

    output = rotate()

    assert output.splitlines()[1] == "Re-encrypted the signing secrets of 1 project(s)."
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    project.refresh_from_db()
    assert project.signing_secrets(project.signing_secret_rotated_at) == [new, old]
    assert personal_project(bob).signing_secrets(project.signing_secret_rotated_at) == []
