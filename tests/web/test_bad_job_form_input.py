"""Bad job settings through the create page: each one is shown beside its field, nothing saved.

The cases come from tests/bad_job_inputs.py, shared with the API's tests; values are written
the way the form takes them (headers as "Name: value" lines, statuses comma-separated,
schedules through the custom preset). Private targets stay refused here.
"""

import pytest

from jobs.models import Job
from tests.bad_job_inputs import BAD_JOB_INPUTS, GOOD_JOB, BadJobInput, case_id
from tests.web.test_job_form import CREATE, field_error, job_form_data

pytestmark = pytest.mark.usefixtures("private_targets_refused")
# API values the form cannot even express, so there is nothing to refuse.
NOT_ON_THE_FORM = {
    "headers=['a']": "the form's headers are lines of text, never a JSON list",
    "headers={'X-A': 1}": "every value typed in the headers box is text",
    "headers={'X-A': 'a\\r\\nX-B: b'}": "a line break in the headers box starts the next header",
    "expected_statuses=['200']": "the form reads statuses from text: '200' is status 200",
    "expected_statuses=200": "the form reads statuses from text: '200' is the list [200]",
}
# The form's own field check speaks first, in Django's words, before the shared validators.
FORM_MESSAGES = {
    "timezone='Mars/Olympus'": "Mars/Olympus is not one of the available choices.",
    "headers={'X-A': 'a\\x00b'}": "Null characters are not allowed.",
    "expected_statuses=[True]": "List status codes separated by commas, e.g. 200, 204.",
}
# Bad values only the form can receive: its own fields and the text it parses.
FORM_ONLY = [
    BadJobInput("title", "", "This field is required."),
    BadJobInput("url", "", "This field is required."),
    BadJobInput("headers", "X-Token abc", "Line 1: write headers as “Name: value”, one per line."),
    BadJobInput("headers", "Accept: */*\n: value", "Line 2: write headers as “Name: value”"),
    BadJobInput("expected_statuses", "200 or 204", "List status codes separated by commas"),
    BadJobInput("expected_statuses", "2xx", "List status codes separated by commas"),
    BadJobInput("timeout_seconds", "ten", "Enter a whole number."),
    BadJobInput("expires_at", "next week", "Enter a valid date/time."),
    BadJobInput("preset", "sometimes", "Select a valid choice."),
    BadJobInput("every_n", "7", "Select a valid choice. 7 is not one of the available choices."),
    BadJobInput("at_minute", "60", "Ensure this value is less than or equal to 59."),
    BadJobInput("day_of_month", "32", "Ensure this value is less than or equal to 31."),
    BadJobInput("at_time", "25:00", "Enter a valid time."),
    BadJobInput("weekday", "8", "Select a valid choice."),
]
# Which preset makes each preset field count.
PRESET_OF_FIELD = {
    "every_n": "every_n_minutes",
    "at_minute": "hourly",
    "day_of_month": "monthly",
    "at_time": "daily",
    "weekday": "weekly",
}


def as_form_values(field: str, value: object) -> dict[str, str]:
    """The form fields that carry an API value."""
    if field == "schedule":
        return {"preset": "custom", "schedule": value}
    if field in PRESET_OF_FIELD:
        return {"preset": PRESET_OF_FIELD[field], field: value}
    if isinstance(value, dict):
        return {field: "\n".join(f"{name}: {text}" for name, text in value.items())}
    if isinstance(value, list):
        return {field: ", ".join(map(str, value))}
    return {field: str(value)}


def good_form_data(**changes: str) -> dict[str, str]:
    """The shared good job, typed into the form."""
    good = {}
    for field, value in GOOD_JOB.items():
        good.update(as_form_values(field, value))
    return job_form_data(**{**good, **changes})


def form_case(case: BadJobInput) -> object:
    name = case_id(case)
    if name in NOT_ON_THE_FORM:
        return pytest.param(case, id=name, marks=pytest.mark.skip(reason=NOT_ON_THE_FORM[name]))
    return pytest.param(case._replace(message=FORM_MESSAGES.get(name, case.message)), id=name)


def test_the_shared_good_job_is_saved_through_the_form(alice_client):
    response = alice_client.post(CREATE, good_form_data())

    assert response.status_code == 302
    job = Job.objects.get()
    assert (job.url, job.schedule, job.headers, job.expected_statuses) == (
        "https://8.8.8.8/cron",
        "0 9 * * *",
        {"X-Token": "abc"},
        [200, 204],
    )


def test_every_case_the_form_cannot_express_is_in_the_table():
    # A renamed or removed case must not leave a stale skip behind.
    names = {case_id(case) for case in BAD_JOB_INPUTS}

    assert set(NOT_ON_THE_FORM) <= names
    assert set(FORM_MESSAGES) <= names


@pytest.mark.parametrize(
    "case", [*map(form_case, BAD_JOB_INPUTS), *(pytest.param(c, id=case_id(c)) for c in FORM_ONLY)]
)
def test_a_bad_value_is_shown_beside_its_field_and_nothing_is_saved(alice_client, case):
    data = good_form_data(**as_form_values(case.field, case.value))

    response = alice_client.post(CREATE, data)

    assert response.status_code == 200
    assert case.message in field_error(response, case.field)
    assert not Job.objects.exists()
