"""jobs/crontab.py: crontab lines that call curl, read as jobs or as problems by line."""

import pytest

from jobs import crontab


def test_blank_lines_comments_and_environment_assignments_give_nothing():
    text = "MAILTO=ops@example.org\nSHELL = /bin/sh\n\n   # nightly\n"

    assert crontab.read(text) == []


def test_a_line_gives_its_schedule_a_title_and_the_request():
    [line] = crontab.read(
        "# the hook\n*/5 * * * * curl -fsS -X POST -H 'A: b' -d 'x' https://example.org/hook\n"
    )

    assert line.number == 2
    assert line.fields == {
        "title": "POST example.org/hook",
        "schedule": "*/5 * * * *",
        "url": "https://example.org/hook",
        "method": "POST",
        "headers": {"A": "b"},
        "body": "x",
        "follow_redirects": False,
    }


@pytest.mark.parametrize(
    "macro", ["@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly"]
)
def test_macros_are_schedules(macro):
    [line] = crontab.read(f"{macro} curl https://example.org/")

    assert line.fields["schedule"] == macro


def test_output_redirections_and_escaped_percent_signs_are_crons_not_curls():
    [line] = crontab.read(
        "0 3 * * * /usr/bin/curl -s 'https://example.org/?d=1\\%202' > /dev/null 2>&1"
    )

    assert line.fields["url"] == "https://example.org/?d=1%202"


def test_a_system_crontabs_user_field_is_skipped():
    lines = crontab.read(
        "*/5 * * * * root curl -fsS https://example.org/a\n@hourly\twww-data\tcurl https://example.org/b"
    )

    assert [(line.fields["schedule"], line.fields["url"]) for line in lines] == [
        ("*/5 * * * *", "https://example.org/a"),
        ("@hourly", "https://example.org/b"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("*/10 * * * * * curl https://example.org/", "six time fields"),
        ("0 */10 * * * * /usr/bin/curl https://example.org/", "six time fields"),
        ("0 * * * * curl -fsS -o /dev/null", "no URL"),
        ("0 * * * * /usr/local/bin/backup --all", "Only curl commands"),
        ("@reboot curl https://example.org/", "“@reboot” is not a schedule"),
        ("0 * * * curl", "five time fields"),
        ("0 * * * * curl https://example.org/ | logger", "One curl command per line"),
        ("0 * * * * curl https://example.org/ && touch done", "One curl command per line"),
        ("0 * * * * curl https://example.org/?d=%s", "unescaped %"),
    ],
)
def test_a_line_it_cannot_import_is_a_problem_on_that_line(text, message):
    [line] = crontab.read(f"# first\n{text}")

    assert line.number == 2
    assert message in line.problem
    assert line.fields == {}
