"""jobs/curl.py: a curl command line read as a job's request."""

import pytest

from jobs import curl


def fields_of(command: str) -> dict:
    fields, _ = curl.job_fields(curl.words_of(command))
    return fields


def test_it_reads_method_headers_body_and_url():
    fields = fields_of("curl -fsS -X POST -H 'A: b' -H 'C:d' -d 'x' https://example.org/hook")

    assert fields == {
        "url": "https://example.org/hook",
        "method": "POST",
        "headers": {"A": "b", "C": "d"},
        "body": "x",
        "follow_redirects": False,
    }


@pytest.mark.parametrize(
    "command",
    [
        "curl --request PUT --header 'A: b' --data-raw 'x' --url https://example.org/",
        "curl -XPUT -H'A: b' --data-binary x https://example.org/",
        "curl https://example.org/ --data x -H 'A: b' --request put",
    ],
)
def test_long_short_and_joined_flags_read_the_same(command):
    fields = fields_of(command)

    assert (fields["method"], fields["headers"], fields["body"]) == ("PUT", {"A": "b"}, "x")
    assert fields["url"] == "https://example.org/"


def test_data_makes_a_post_and_several_are_joined_with_ampersands():
    fields = fields_of("curl -d a=1 --data b=2 https://example.org/")

    assert (fields["method"], fields["body"]) == ("POST", "a=1&b=2")


def test_get_moves_the_data_to_the_query_string():
    fields = fields_of("curl -G -d a=1 -d b=2 'https://example.org/s?q=x'")

    assert (fields["method"], fields["url"]) == ("GET", "https://example.org/s?q=x&a=1&b=2")
    assert "body" not in fields


def test_basic_auth_timeout_redirects_and_retries():
    fields = fields_of("curl -sSL -u robot:s3:cret -m 12.5 --retry 2 https://example.org/")

    assert (fields["auth_username"], fields["auth_password"]) == ("robot", "s3:cret")
    assert fields["timeout_seconds"] == 13
    assert fields["follow_redirects"] is True
    assert fields["retries"] == 2


def test_json_sets_the_body_and_its_content_type():
    fields = fields_of("""curl --json '{"a": 1}' https://example.org/""")

    assert fields["method"] == "POST"
    assert fields["body"] == '{"a": 1}'
    assert fields["headers"] == {"Content-Type": "application/json", "Accept": "application/json"}


def test_secret_looking_headers_and_cookies_become_secret_headers():
    fields = fields_of(
        "curl -H 'Authorization: Bearer t0ken' -H 'X-Api-Key: k' -b sid=1 -A probe/1 "
        "-e https://example.org/from https://example.org/"
    )

    assert fields["secret_headers"] == {
        "Authorization": "Bearer t0ken",
        "X-Api-Key": "k",
        "Cookie": "sid=1",
    }
    assert fields["headers"] == {"User-Agent": "probe/1", "Referer": "https://example.org/from"}


def test_a_command_copied_over_several_lines_reads_as_one():
    fields = fields_of("curl 'https://example.org/' \\\n  -H 'A: b' \\\n  --data-raw 'x'")

    assert (fields["url"], fields["headers"], fields["body"]) == (
        "https://example.org/",
        {"A": "b"},
        "x",
    )


def test_insecure_is_noted_not_followed():
    _, notes = curl.job_fields(curl.words_of("curl -k https://example.org/"))

    assert notes == ["-k is ignored: cronsvc always checks certificates."]


def test_head_makes_a_head_request():
    assert fields_of("curl -I https://example.org/")["method"] == "HEAD"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("wget https://example.org/", "Only curl commands can be imported"),
        ("curl -fsS", "The command has no URL."),
        ("curl https://a.example/ https://b.example/", "more than one URL"),
        ("curl --frobnicate https://example.org/", "unrecognized arguments: --frobnicate"),
        ("curl -H 'no colon' https://example.org/", "“no colon” is not a header"),
        ("curl -d @body.json https://example.org/", "read from a file"),
        ("curl -m soon https://example.org/", "invalid float value"),
        ("curl 'https://example.org/", "No closing quotation"),
    ],
)
def test_what_it_cannot_read_is_an_error_saying_why(command, message):
    with pytest.raises(curl.CurlError, match=message):
        curl.job_fields(curl.words_of(command))
