"""jobs/assertions.py: success judged by the response, checked at save time and on every
answer; the API and the form name each bad check by its place in the list."""

import time

import pytest

from jobs import assertions
from jobs.models import Execution
from tests.conftest import page_text, run_test_run, send
from tests.web.test_job_form import CREATE, job_form_data

JOBS = "/api/v1/jobs/"
pytestmark = pytest.mark.usefixtures("private_targets")
GOOD = {"title": "Health", "url": "https://example.com/", "schedule": "@hourly"}


@pytest.mark.parametrize(
    ("assertion", "path", "passes"),
    [
        ({"kind": "body_contains", "value": "OK"}, "/ok", True),
        ({"kind": "body_contains", "value": "error"}, "/ok", False),
        ({"kind": "body_not_contains", "value": "error"}, "/ok", True),
        ({"kind": "body_not_contains", "value": "OK"}, "/ok", False),
        ({"kind": "body_matches", "value": "^O[A-Z]$"}, "/ok", True),
        ({"kind": "body_matches", "value": "^[0-9]+$"}, "/ok", False),
        ({"kind": "json_equals", "path": "method", "value": "GET"}, "/echo", True),
        ({"kind": "json_equals", "path": "query.n", "value": "1"}, "/echo?n=1", True),
        ({"kind": "json_equals", "path": "method", "value": "POST"}, "/echo", False),
        ({"kind": "json_equals", "path": "no.such", "value": 1}, "/echo", False),
        ({"kind": "json_equals", "path": "method", "value": "GET"}, "/ok", False),  # not JSON
        ({"kind": "max_duration_ms", "value": 5000}, "/ok", True),
        ({"kind": "max_duration_ms", "value": 100}, "/slow/1", False),
    ],
)
def test_each_kind_passes_and_fails_on_a_real_answer(target, assertion, path, passes):
    outcome = send(target.url(path), assertions=[assertion])

    assert outcome.http_status == 200
    assert outcome.succeeded is passes
    (result,) = outcome.assertion_results
    assert result.passed is passes
    if not passes:
        assert outcome.failure_reason == "assertion"
        described = assertions.describe(assertion)
        assert outcome.error.startswith(f"Assertion failed: {described}; found ")


def test_the_error_quotes_what_was_found_truncated(target):
    outcome = send(
        target.url("/big/5000"), assertions=[{"kind": "body_contains", "value": "needle"}]
    )

    assert outcome.error == (
        "Assertion failed: the body contains “needle”; found " + "x" * 100 + "…."
    )


def test_an_unexpected_status_fails_as_such_before_any_assertion(target):
    outcome = send(target.url("/status/500"), assertions=[{"kind": "body_contains", "value": "x"}])

    assert outcome.failure_reason == "http_status"
    assert outcome.assertion_results == []


def test_a_catastrophic_pattern_stays_fast():
    # Backtracking engines take exponential time on this; RE2 takes linear time.
    evil = [{"kind": "body_matches", "value": "^(a+)+$"}]
    started = time.monotonic()

    (result,) = assertions.check(evil, body="a" * 50_000 + "!", duration_ms=1)

    assert not result.passed
    assert time.monotonic() - started < 1  # a bound, not a benchmark: backtracking never ends


# Bad input: a 400 naming the field and the index.


@pytest.mark.parametrize(
    ("checks", "errors"),
    [
        ([{"kind": "body_has", "value": "x"}], {"0": ['unknown kind "body_has"; use one of']}),
        (
            [{"kind": "body_contains", "value": "x"}, {"kind": "body_matches", "value": "(?<=a)b"}],
            {"1": ["RE2 cannot use this pattern"]},
        ),
        ([{"kind": "json_equals", "path": "", "value": 1}], {"0": ["json_equals needs a path"]}),
        ([{"kind": "json_equals", "path": "a..b", "value": 1}], {"0": ['the path "a..b" has']}),
        ([{"kind": "body_contains", "value": "x" * 1001}], {"0": ["at most 1000 characters."]}),
        ([{"kind": "max_duration_ms", "value": "fast"}], {"0": ["the value must be a whole"]}),
    ],
)
def test_a_bad_check_is_a_400_naming_its_index(alice_api, checks, errors):
    response = alice_api.post(JOBS, {**GOOD, "assertions": checks}, format="json")

    assert response.status_code == 400
    found = response.json()["assertions"]
    assert set(found) == set(errors)
    for index, (start,) in errors.items():
        assert found[index][0].startswith(start)


def test_more_than_ten_checks_is_a_400(alice_api):
    checks = [{"kind": "body_contains", "value": str(n)} for n in range(11)]

    response = alice_api.post(JOBS, {**GOOD, "assertions": checks}, format="json")

    assert response.status_code == 400
    assert response.json() == {"assertions": ["At most 10 assertions are allowed."]}


def test_good_checks_are_saved_and_read_back(alice_api):
    checks = [
        {"kind": "json_equals", "path": "data.0.ok", "value": True},
        {"kind": "max_duration_ms", "value": 2000},
    ]

    response = alice_api.post(JOBS, {**GOOD, "assertions": checks, "retries": 2}, format="json")

    assert response.status_code == 201
    assert response.json()["assertions"] == checks
    assert (response.json()["retries"], response.json()["retry_delay_seconds"]) == (2, 10)


# The form's "Expect in the response".


def test_the_form_saves_checks_and_shows_a_bad_one_at_its_row(alice_client, alice):
    data = job_form_data(
        expect_kind_0="json_equals",
        expect_path_0="status",
        expect_value_0="ok",
        expect_kind_1="body_matches",
        expect_value_1="(?<=a)b",
    )

    response = alice_client.post(CREATE, data)

    assert response.status_code == 200
    assert "RE2 cannot use this pattern" in page_text(response)
    data["expect_value_1"] = "^done$"
    alice_client.post(CREATE, data)
    job = alice.jobs.get()
    assert job.assertions == [
        {"kind": "json_equals", "value": "ok", "path": "status"},
        {"kind": "body_matches", "value": "^done$"},
    ]
    edit = page_text(alice_client.get(f"/jobs/{job.id}/edit/"))
    assert "Expect in the response" in edit


def test_a_test_run_shows_each_checks_outcome(alice_client, target, private_targets):
    data = job_form_data(
        url=target.url("/ok"),
        expect_kind_0="body_contains",
        expect_value_0="OK",
        expect_kind_1="body_contains",
        expect_value_1="Welcome",
    )

    page = page_text(run_test_run(alice_client, data))

    assert "✓ Passed: the body contains “OK” (found OK)" in page
    assert "✗ Failed: the body contains “Welcome” (found OK)" in page
    assert Execution.objects.count() == 0
