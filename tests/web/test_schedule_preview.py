"""The live preview beside the schedule fields: the expression, in words, and the next runs."""

from datetime import UTC, datetime

import pytest

from tests.conftest import frozen_at, page_text
from tests.web.test_job_form import job_form_data

PREVIEW = "/jobs/preview/"
# The Friday before Berlin's clocks go forward (Sunday 29 March 2026, 02:00 → 03:00).
NOW = datetime(2026, 3, 27, 12, 2, 30, tzinfo=UTC)
clock = frozen_at(NOW)
pytestmark = pytest.mark.usefixtures("clock")
PRESET_FIELDS = ["preset", "every_n", "at_minute", "at_time", "weekday", "day_of_month"]


def preview(client: object, **fields: str) -> str:
    """The preview's text for the schedule fields as the job form sends them."""
    params = job_form_data(**fields)
    sent = [*PRESET_FIELDS, "schedule", "timezone"]
    return page_text(client.get(PREVIEW, {name: params[name] for name in sent if params[name]}))


def test_it_needs_a_login(client, db):
    response = client.get(PREVIEW, {"preset": "every_minute", "timezone": "UTC"})

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        (
            {"preset": "every_minute"},
            "Every minute * * * * * Next runs: Fri 27 Mar 2026, 13:03 CET "
            "Fri 27 Mar 2026, 13:04 CET Fri 27 Mar 2026, 13:05 CET",
        ),
        (
            {"preset": "every_n_minutes", "every_n": "15"},
            "Every 15 minutes */15 * * * * Next runs: Fri 27 Mar 2026, 13:15 CET "
            "Fri 27 Mar 2026, 13:30 CET Fri 27 Mar 2026, 13:45 CET",
        ),
        (
            {"preset": "hourly", "at_minute": "40"},
            "At 40 minutes past the hour 40 * * * * Next runs: Fri 27 Mar 2026, 13:40 CET "
            "Fri 27 Mar 2026, 14:40 CET Fri 27 Mar 2026, 15:40 CET",
        ),
        (
            {"preset": "daily", "at_time": "06:30"},
            "At 06:30 30 6 * * * Next runs: Sat 28 Mar 2026, 06:30 CET "
            "Sun 29 Mar 2026, 06:30 CEST Mon 30 Mar 2026, 06:30 CEST",
        ),
        (
            {"preset": "weekly", "weekday": "1", "at_time": "04:30"},
            "At 04:30, only on Monday 30 4 * * 1 Next runs: Mon 30 Mar 2026, 04:30 CEST "
            "Mon 6 Apr 2026, 04:30 CEST Mon 13 Apr 2026, 04:30 CEST",
        ),
        (
            {"preset": "monthly", "day_of_month": "31", "at_time": "12:00"},
            "At 12:00, on day 31 of the month 0 12 31 * * Next runs: "
            "Tue 31 Mar 2026, 12:00 CEST Sun 31 May 2026, 12:00 CEST Fri 31 Jul 2026, 12:00 CEST",
        ),
        (
            {"preset": "custom", "schedule": "0 4 * * 1-5"},
            "At 04:00, Monday through Friday 0 4 * * 1-5 Next runs: "
            "Mon 30 Mar 2026, 04:00 CEST Tue 31 Mar 2026, 04:00 CEST Wed 1 Apr 2026, 04:00 CEST",
        ),
        (
            {"preset": "custom", "schedule": "@hourly"},
            "Every hour @hourly Next runs: Fri 27 Mar 2026, 14:00 CET "
            "Fri 27 Mar 2026, 15:00 CET Fri 27 Mar 2026, 16:00 CET",
        ),
    ],
)
def test_it_describes_the_preset_and_lists_the_next_three_runs(alice_client, fields, shown):
    assert preview(alice_client, **fields) == shown


def test_the_runs_are_in_the_timezone_on_the_form(alice_client):
    shown = preview(alice_client, preset="daily", at_time="06:30", timezone="Asia/Tokyo")

    assert shown.endswith(
        "Sat 28 Mar 2026, 06:30 JST Sun 29 Mar 2026, 06:30 JST Mon 30 Mar 2026, 06:30 JST"
    )


def test_the_fields_of_other_presets_do_not_count(alice_client):
    shown = preview(alice_client, preset="hourly", at_minute="40", at_time="06:30", every_n="15")

    assert shown.startswith("At 40 minutes past the hour 40 * * * *")


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("61 * * * *", "the minute field “61” is not valid (allowed: 0 to 59)."),
        ("* * * * * *", "Jobs run at most once a minute: a seconds field is not supported."),
        ("0 0 30 2 *", "This schedule never runs (no such date, e.g. 30 February)."),
        ("@often", "Unknown shortcut “@often”."),
        ("", "Enter a schedule, e.g. */5 * * * * for every 5 minutes."),
    ],
)
def test_a_bad_custom_expression_shows_what_is_wrong(alice_client, expression, error):
    shown = preview(alice_client, preset="custom", schedule=expression)

    assert error in shown
    assert "Next runs" not in shown


def test_values_left_in_the_inputs_of_other_presets_do_not_count(alice_client):
    shown = preview(alice_client, preset="daily", at_time="06:30", at_minute="75", every_n="7")

    assert shown.startswith("At 06:30 30 6 * * * Next runs:")


def test_a_field_out_of_range_is_named(alice_client):
    shown = preview(alice_client, preset="hourly", at_minute="75")

    assert shown == "At minute: Ensure this value is less than or equal to 59."


def test_without_a_timezone_it_asks_for_one(alice_client):
    shown = preview(alice_client, preset="every_minute", timezone="")

    assert shown == "Timezone: This field is required."


def test_missing_preset_fields_take_their_defaults(alice_client):
    unsent = dict.fromkeys(PRESET_FIELDS, "")

    assert preview(alice_client, **unsent).startswith("Every 5 minutes */5 * * * * Next runs:")
