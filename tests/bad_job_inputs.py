"""Job settings a member cannot save, and what they are told: one table for every way in.

Each case is (field, value, message): `value` as the API takes it (JSON), `message` a
fragment of the error shown beside that field. tests/test_bad_job_input.py posts each one
to the API; the job form's tests can reuse the table (writing headers as lines first).
The cases assume ALLOW_PRIVATE_TARGETS is off, so internal addresses are refused.
"""

from typing import NamedTuple

# Valid in every field. The URL is a public address written as a literal, so checking
# it asks no DNS server; nothing is ever sent to it.
GOOD_JOB = {
    "title": "Nightly report",
    "url": "https://8.8.8.8/cron",
    "method": "POST",
    "headers": {"X-Token": "abc"},
    "body": "{}",
    "schedule": "0 9 * * *",
    "timezone": "Europe/Berlin",
    "timeout_seconds": 10,
    "expected_statuses": [200, 204],
}


class BadJobInput(NamedTuple):
    field: str
    value: object
    message: str


def case_id(case: BadJobInput) -> str:
    """A short test id: the field and the start of the value."""
    value = repr(case.value)
    return f"{case.field}={value[:40]}{'…' if len(value) > 40 else ''}"


INTERNAL_ADDRESS = "points to an internal address"
INVALID_URL = "Enter a valid URL, e.g. https://example.com/cron."
SET_BY_CRONSVC = "header is set by cronsvc and cannot be changed."

BAD_JOB_INPUTS = [
    BadJobInput("schedule", "* * * * * *", "a seconds field is not supported."),
    BadJobInput("schedule", "0 9 *", "A schedule has 5 fields"),
    BadJobInput("schedule", "61 * * * *", "the minute field “61” is not valid (allowed: 0 to 59)"),
    BadJobInput("schedule", "0 24 * * *", "the hour field “24” is not valid"),
    BadJobInput("schedule", "0 0 30 2 *", "This schedule never runs"),
    BadJobInput("schedule", "0 0 31 4 *", "This schedule never runs"),
    BadJobInput("schedule", "@often", "Unknown shortcut “@often”."),
    # The last Sunday of March, 02:xx: the hour skipped in GOOD_JOB's Europe/Berlin.
    BadJobInput("schedule", "*/15 2 * 3 L0", "This schedule never runs in Europe/Berlin"),
    # The API says a one-off time or a job to run after would do too.
    BadJobInput("schedule", "", "Enter a schedule"),
    BadJobInput("timezone", "Mars/Olympus", "“Mars/Olympus” is not a timezone we know"),
    BadJobInput("url", "ftp://example.com/", "Only http:// and https:// URLs can be called."),
    BadJobInput("url", "javascript:alert(1)", "Only http:// and https:// URLs can be called."),
    BadJobInput("url", "http://", INVALID_URL),
    BadJobInput("url", "http://[zz]/", INVALID_URL),
    BadJobInput("url", "http://8.8.8.8:99999/", INVALID_URL),
    BadJobInput("url", "http://8.8.8.8:0/", INVALID_URL),
    BadJobInput("url", "https://8.8.8.8/" + "a" * 2033, "2048 characters"),
    BadJobInput("url", "http://127.0.0.1/", f"{INTERNAL_ADDRESS} (127.0.0.1)"),
    # Not a host name URLValidator reads; were it read, it would be 127.0.0.1.
    BadJobInput("url", "http://2130706433/", INVALID_URL),
    BadJobInput("url", "http://[::1]/", f"{INTERNAL_ADDRESS} (::1)"),
    BadJobInput("url", "http://[::ffff:127.0.0.1]/", INTERNAL_ADDRESS),
    BadJobInput("url", "http://169.254.169.254/latest/meta-data/", INTERNAL_ADDRESS),
    BadJobInput("url", "http://100.100.100.200/", INTERNAL_ADDRESS),
    BadJobInput("url", "http://10.0.0.1/", INTERNAL_ADDRESS),
    BadJobInput("url", "http://localhost/", f"{INTERNAL_ADDRESS} (127.0.0.1)"),
    BadJobInput("headers", {"Host": "x"}, f"The Host {SET_BY_CRONSVC}"),
    BadJobInput("headers", {"content-length": "1"}, f"The content-length {SET_BY_CRONSVC}"),
    BadJobInput("headers", {"Transfer-Encoding": "chunked"}, SET_BY_CRONSVC),
    BadJobInput("headers", {"Connection": "close"}, SET_BY_CRONSVC),
    BadJobInput("headers", {"X-A": "a\r\nX-B: b"}, "header “X-A” cannot contain line breaks."),
    BadJobInput("headers", {"X-A": "a\x00b"}, "header “X-A” cannot contain control characters."),
    BadJobInput("headers", {"bad name": "x"}, "“bad name” is not a valid header name."),
    BadJobInput("headers", {f"X-H{n}": "x" for n in range(51)}, "At most 50 headers"),
    BadJobInput("headers", {"X-Big": "a" * 8193}, "header “X-Big” can be at most 8 KiB."),
    # 4,097 characters, but 8,194 bytes: the limit is on what is sent.
    BadJobInput("headers", {"X-Big": "é" * 4097}, "header “X-Big” can be at most 8 KiB."),
    BadJobInput("secret_headers", {"X-Key": "a" * 8193}, "header “X-Key” can be at most 8 KiB."),
    BadJobInput("headers", ["a"], "Headers must be an object of names and values."),
    BadJobInput("headers", {"X-A": 1}, "The value of header “X-A” must be text."),
    BadJobInput("body", "a" * (64 * 1024 + 1), "The request body can be at most 64 KiB."),
    BadJobInput("body", "a" * (65 * 1024 + 1), "The request body can be at most 64 KiB."),
    # 32,769 characters, but 65,538 bytes: the limit is on what is sent.
    BadJobInput("body", "é" * (32 * 1024 + 1), "The request body can be at most 64 KiB."),
    BadJobInput("timeout_seconds", 0, "greater than or equal to 1."),
    BadJobInput("timeout_seconds", 31, "less than or equal to 30."),
    BadJobInput("expected_statuses", [99], "99 is not an HTTP status code (100 to 599)."),
    BadJobInput("expected_statuses", [600], "600 is not an HTTP status code"),
    BadJobInput("expected_statuses", ["200"], "must be a list of HTTP status codes."),
    BadJobInput("expected_statuses", 200, "must be a list of HTTP status codes."),
    BadJobInput("expected_statuses", [True], "must be a list of HTTP status codes."),
    BadJobInput("method", "TRACE", "valid choice"),
    BadJobInput("response_body_kib", 2, "valid choice"),
    BadJobInput("response_body_kib", 65536, "valid choice"),
    BadJobInput("response_body_kib", "all", "valid choice"),
    BadJobInput("ordering_key", "k" * 101, "100 characters"),
    BadJobInput("ordering_key", "billing/eu", "An ordering key has only letters, digits"),
    BadJobInput("ordering_on_failure", "pause", "valid choice"),
]
