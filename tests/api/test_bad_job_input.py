"""Bad job settings through the API: refused with a message under the field, nothing saved.

The table is tests/bad_job_inputs.py, shared with the job form's tests.
"""

import pytest

from accounts.projects import personal_project
from jobs.models import Job
from tests.bad_job_inputs import BAD_JOB_INPUTS, GOOD_JOB, BadJobInput, case_id

JOBS = "/api/v1/jobs/"
pytestmark = pytest.mark.usefixtures("private_targets_refused", "fresh_limits")


def assert_refused_beside(response, case: BadJobInput) -> None:
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [case.field], errors
    assert any(case.message in message for message in errors[case.field]), errors


def test_the_good_job_the_cases_start_from_is_accepted(alice_api):
    response = alice_api.post(JOBS, GOOD_JOB, format="json")

    assert response.status_code == 201


@pytest.mark.parametrize("case", BAD_JOB_INPUTS, ids=case_id)
def test_creating_a_job_with_a_bad_value_is_refused(alice_api, case: BadJobInput):
    response = alice_api.post(JOBS, {**GOOD_JOB, case.field: case.value}, format="json")

    assert_refused_beside(response, case)
    assert not Job.objects.exists()


@pytest.mark.parametrize("case", BAD_JOB_INPUTS, ids=case_id)
def test_changing_a_job_to_a_bad_value_is_refused_and_changes_nothing(
    alice_api, alice, case: BadJobInput
):
    job = Job.objects.create(user=alice, project=personal_project(alice), **GOOD_JOB)
    before = Job.objects.filter(pk=job.pk).values().get()

    response = alice_api.patch(f"{JOBS}{job.pk}/", {case.field: case.value}, format="json")

    assert_refused_beside(response, case)
    assert Job.objects.filter(pk=job.pk).values().get() == before
