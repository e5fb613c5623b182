"""jobs/outbound/http.py: what a job's request looks like on arrival, and what the seam makes
of the answer.

Every test sends through a fresh Client (so no kept-alive connection carries over) to the
local `target` server on 127.0.0.1, with private targets allowed; tests/test_ssrf.py turns
that off and checks the refusals.
"""

import asyncio
import json
import socketserver
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp.connector
import pytest

from jobs.outbound.http import (
    CAPTURE_LIMIT,
    MAX_HEADERS_READ,
    MAX_RESPONSE_HEADER_BYTES,
    MAX_RESPONSE_HEADERS,
    Client,
    Outcome,
    Request,
)
from tests.conftest import EXECUTION_ID, basic, redirect, send
from tests.target import Target, self_signed_tls

pytestmark = pytest.mark.usefixtures("private_targets")


def echoed(outcome: Outcome) -> dict:
    assert outcome.http_status == 200, outcome.error
    return json.loads(outcome.response_body)


def redirect_chain(target: Target, hops: int, end: str = "/ok") -> str:
    url = target.url(end)
    for _ in range(hops):
        url = redirect(target, url)
    return url


@contextmanager
def raw_target(answer: bytes) -> Iterator[str]:
    """A server that answers any request with exactly these bytes, malformed or not
    (aiohttp.web only writes well-formed responses)."""

    class Answer(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            received = b""
            while b"\r\n\r\n" not in received and (chunk := self.request.recv(65536)):
                received += chunk
            self.request.sendall(answer)

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Answer) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()


# What arrives


def test_method_headers_body_and_basic_auth_arrive(target):
    outcome = send(
        target.url("/echo?from=cron"),
        method="POST",
        headers={"Content-Type": "application/json", "X-Token": "abc123"},
        body='{"ping": true}',
        auth=("alice", "s3cret:with colon"),
    )

    request = echoed(outcome)
    assert request["method"] == "POST"
    assert request["query"] == {"from": "cron"}
    assert request["body"] == '{"ping": true}'
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-Token"] == "abc123"
    assert request["headers"]["Authorization"] == basic("alice", "s3cret:with colon")
    assert outcome.succeeded


def test_basic_auth_is_utf8(target):
    request = echoed(send(target.url("/echo"), auth=("zoë", "prix: 5 €")))

    assert request["headers"]["Authorization"] == basic("zoë", "prix: 5 €")


def test_it_identifies_itself_and_the_execution(target):
    request = echoed(send(target.url("/echo")))

    assert request["headers"]["User-Agent"].startswith("cronsvc/")
    assert request["headers"]["X-Cronsvc-Execution"] == EXECUTION_ID


def test_the_member_cannot_replace_the_execution_header_or_user_agent(target):
    request = echoed(
        send(
            target.url("/echo"),
            headers={"x-cronsvc-execution": "1", "user-agent": "curl/8", "X-Other": "kept"},
        )
    )

    headers = request["headers"]
    assert headers["X-Cronsvc-Execution"] == EXECUTION_ID
    assert headers["User-Agent"].startswith("cronsvc/")
    assert headers["X-Other"] == "kept"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_arrive_with_their_body(target, method: str):
    request = echoed(send(target.url("/echo"), method=method, body="payload"))

    assert request["method"] == method
    assert request["body"] == "payload"


def test_head_gets_the_status_and_no_body(target):
    outcome = send(target.url("/ok"), method="HEAD")

    assert outcome.succeeded
    assert outcome.http_status == 200
    assert outcome.response_body == ""
    assert [arrival.method for arrival in target.requests] == ["HEAD"]


def test_an_empty_body_sends_no_body(target):
    request = echoed(send(target.url("/echo"), method="POST"))

    assert request["body"] == ""


# Success and failure


def test_a_2xx_is_a_success(target):
    outcome = send(target.url("/status/204"))

    assert outcome.succeeded
    assert outcome.http_status == 204
    assert outcome.failure_reason == ""
    assert outcome.error == ""


@pytest.mark.parametrize("code", [404, 500, 301])
def test_any_other_status_fails_with_http_status(target, code: int):
    outcome = send(target.url(f"/status/{code}"))

    assert not outcome.succeeded
    assert outcome.http_status == code
    assert outcome.failure_reason == "http_status"
    assert f"Got HTTP {code}, expected 2xx" in outcome.error
    assert outcome.response_body == f"Status {code}"


def test_an_expected_status_is_a_success(target):
    outcome = send(target.url("/status/404"), expected_statuses=[404, 410])

    assert outcome.succeeded
    assert outcome.failure_reason == ""


def test_expected_statuses_replace_2xx(target):
    outcome = send(target.url("/ok"), expected_statuses=[404])

    assert not outcome.succeeded
    assert outcome.failure_reason == "http_status"
    assert "expected 404" in outcome.error


def test_each_send_is_one_attempt(target):
    target.flaky_failures = 1

    first, second = send(target.url("/flaky")), send(target.url("/flaky"))

    assert (first.http_status, first.failure_reason) == (503, "http_status")
    assert second.succeeded
    assert len(target.requests) == 2


def test_response_headers_are_recorded(target):
    outcome = send(target.url("/html"))

    assert outcome.response_headers["Content-Type"] == "text/html; charset=utf-8"


def test_a_script_comes_back_as_the_same_text(target):
    # The seam stores what the target said; escaping is the pages' job.
    outcome = send(target.url("/html"))

    assert outcome.response_body == "<script>alert(1)</script>"


@pytest.mark.parametrize(
    ("content_type", "body", "text"),
    [
        (b"text/plain; charset=iso-8859-1", "café".encode("latin-1"), "café"),
        (b"text/plain", "café".encode(), "café"),
        (b"text/plain; charset=no-such-charset", "café".encode(), "café"),  # read as UTF-8
        (b"application/octet-stream", b"\xff\x00", "\ufffd\x00"),
    ],
)
def test_a_body_is_read_in_its_charset_or_else_as_utf8(content_type: bytes, body: bytes, text: str):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
    with raw_target(head % (content_type, len(body)) + body) as url:
        outcome = send(url)

    assert outcome.succeeded, outcome.error
    assert outcome.response_body == text


# Redirects


def test_it_follows_five_redirects(target):
    outcome = send(redirect_chain(target, 5))

    assert outcome.succeeded
    assert outcome.http_status == 200
    assert outcome.response_body == "OK"
    assert [arrival.path for arrival in target.requests] == ["/redirect"] * 5 + ["/ok"]


def test_a_sixth_redirect_is_an_invalid_response(target):
    outcome = send(redirect_chain(target, 6))

    assert not outcome.succeeded
    assert outcome.failure_reason == "invalid_response"
    assert "More than 5 redirects" in outcome.error
    assert [arrival.path for arrival in target.requests] == ["/redirect"] * 6


def test_with_redirects_off_the_redirect_is_the_result(target):
    outcome = send(redirect(target, target.url("/ok")), follow_redirects=False)

    assert outcome.http_status == 302
    assert outcome.failure_reason == "http_status"
    assert outcome.response_headers["Location"] == target.url("/ok")
    assert len(target.requests) == 1


def test_a_relative_location_is_read_against_the_url(target):
    outcome = send(target.url("/redirect?to=/echo"))

    assert echoed(outcome)["path"] == "/echo"


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_post_redirected_with_301_302_or_303_becomes_a_get_without_body(target, status: int):
    outcome = send(
        redirect(target, target.url("/echo"), status=status),
        method="POST",
        body="payload",
        headers={"Content-Type": "text/plain"},
    )

    request = echoed(outcome)
    assert request["method"] == "GET"
    assert request["body"] == ""
    assert "Content-Type" not in request["headers"]
    assert target.requests[0].method == "POST"


@pytest.mark.parametrize("status", [307, 308])
def test_a_307_or_308_keeps_the_method_and_body(target, status: int):
    outcome = send(redirect(target, target.url("/echo"), status=status), method="PUT", body="x=1")

    request = echoed(outcome)
    assert (request["method"], request["body"]) == ("PUT", "x=1")


def test_a_head_redirected_with_303_stays_a_head(target):
    outcome = send(redirect(target, target.url("/ok"), status=303), method="HEAD")

    assert outcome.succeeded
    assert [arrival.method for arrival in target.requests] == ["HEAD", "HEAD"]


def test_a_redirect_to_another_scheme_is_an_invalid_response(target):
    outcome = send(redirect(target, "file:///etc/passwd"))

    assert outcome.failure_reason == "invalid_response"
    assert len(target.requests) == 1


def test_on_the_same_origin_credentials_and_headers_follow(target):
    outcome = send(
        redirect(target, target.url("/echo")), headers={"X-Token": "abc"}, auth=("alice", "pw")
    )

    headers = echoed(outcome)["headers"]
    assert headers["X-Token"] == "abc"
    assert headers["Authorization"] == basic("alice", "pw")


def assert_sent_without_credentials(outcome: Outcome) -> None:
    headers = echoed(outcome)["headers"]
    assert "X-Token" not in headers
    assert "Authorization" not in headers
    # Still a cronsvc request for this execution.
    assert headers["User-Agent"].startswith("cronsvc/")
    assert headers["X-Cronsvc-Execution"] == EXECUTION_ID


def test_credentials_and_headers_stay_behind_on_another_host(target):
    # Same address and port, but localhost is another origin than 127.0.0.1.
    other = target.url("/echo").replace("127.0.0.1", "localhost")

    outcome = send(redirect(target, other), headers={"X-Token": "abc"}, auth=("alice", "pw"))

    assert_sent_without_credentials(outcome)


def test_credentials_and_headers_stay_behind_on_another_port(target):
    with Target() as other:
        outcome = send(
            redirect(target, other.url("/echo")), headers={"X-Token": "abc"}, auth=("alice", "pw")
        )

    assert_sent_without_credentials(outcome)


def test_credentials_do_not_come_back_after_a_hop_elsewhere(target):
    with Target() as other:
        there_and_back = redirect(other, target.url("/echo"))
        outcome = send(
            redirect(target, there_and_back), headers={"X-Token": "abc"}, auth=("alice", "pw")
        )

    assert_sent_without_credentials(outcome)


@pytest.fixture
def trusted_tls(monkeypatch) -> ssl.SSLContext:
    """A server context whose certificate the client trusts, for this test only.

    aiohttp verifies with one module-level default context; swapping it is the only way
    to trust a test certificate without a test hook in jobs/outbound/http.py.
    """
    server_context, certificate_pem = self_signed_tls()
    client_context = ssl.create_default_context(cadata=certificate_pem.decode())
    monkeypatch.setattr(aiohttp.connector, "_SSL_CONTEXT_VERIFIED", client_context)
    return server_context


def test_credentials_and_headers_stay_behind_from_http_to_https(trusted_tls):
    with Target(tls=trusted_tls) as secure, Target() as plain:
        # Same host, scheme changes (the port does too: one socket cannot speak both).
        outcome = send(
            redirect(plain, secure.url("/echo")), headers={"X-Token": "abc"}, auth=("alice", "pw")
        )

    assert_sent_without_credentials(outcome)


def test_https_with_a_trusted_certificate_succeeds(trusted_tls):
    with Target(tls=trusted_tls) as secure:
        outcome = send(secure.url("/ok"))

    assert outcome.succeeded


# Time limits


@pytest.mark.parametrize("path", ["/slow/5", "/hang"])
def test_no_answer_within_the_timeout_is_a_timeout(target, path: str):
    started = time.monotonic()
    outcome = send(target.url(path), timeout=1)
    elapsed = time.monotonic() - started

    assert outcome.failure_reason == "timeout"
    assert outcome.error == "Sent, but no complete response within 1 s."
    assert outcome.http_status is None
    # Sanity bounds around the 1 s limit, not a performance assertion.
    assert 0.9 <= elapsed < 3
    assert 900 <= outcome.duration_ms < 3000
    # The client hung up: the target's handler was cancelled, not left to finish.
    (arrival,) = target.requests
    assert arrival.ended.wait(timeout=5)
    assert not arrival.finished


def test_an_answer_within_the_timeout_is_kept(target):
    outcome = send(target.url("/slow/0.2"), timeout=2)

    assert outcome.succeeded
    assert outcome.response_body == "Slow OK"


# Capture cap


def test_a_large_body_is_cut_at_64_kib_and_the_rest_never_read(target):
    size = 10 * 1024 * 1024
    started = time.monotonic()
    outcome = send(target.url(f"/big/{size}"))
    elapsed = time.monotonic() - started

    assert outcome.succeeded
    assert outcome.response_truncated
    assert outcome.response_body == "x" * CAPTURE_LIMIT
    assert elapsed < 3
    # The client hung up at the cap, so the target could not write the rest: what it
    # got out is what the socket buffers took (a few hundred KiB), far short of 10 MB.
    (arrival,) = target.requests
    assert arrival.ended.wait(timeout=5)
    assert not arrival.finished
    assert arrival.bytes_sent < size // 4


@pytest.mark.parametrize(
    ("size", "truncated"),
    [(CAPTURE_LIMIT - 1, False), (CAPTURE_LIMIT, False), (CAPTURE_LIMIT + 1, True)],
)
def test_the_cap_is_exactly_64_kib(target, size: int, truncated: bool):
    outcome = send(target.url(f"/big/{size}"))

    assert outcome.response_truncated is truncated
    assert len(outcome.response_body) == min(size, CAPTURE_LIMIT)


def test_a_small_body_is_kept_whole(target):
    outcome = send(target.url("/ok"))

    assert outcome.response_body == "OK"
    assert not outcome.response_truncated


@pytest.mark.parametrize("kib", [0, 1, 8, 64])
def test_only_the_body_the_job_keeps_is_kept(target, kib: int):
    outcome = send(target.url("/big/100000"), body_kept_bytes=kib * 1024)

    assert outcome.succeeded
    assert outcome.response_body == "x" * (kib * 1024)
    assert outcome.response_truncated


def test_a_body_that_fits_what_the_job_keeps_is_not_truncated(target):
    outcome = send(target.url("/big/1024"), body_kept_bytes=1024)

    assert outcome.response_body == "x" * 1024
    assert not outcome.response_truncated


def test_keeping_no_body_of_an_empty_one_is_no_cut(target):
    outcome = send(target.url("/status/204"), body_kept_bytes=0)

    assert outcome.response_body == ""
    assert not outcome.response_truncated


def test_reading_stops_at_what_the_job_keeps(target):
    size = 10 * 1024 * 1024
    outcome = send(target.url(f"/big/{size}"), body_kept_bytes=1024)

    assert outcome.response_body == "x" * 1024
    (arrival,) = target.requests
    assert arrival.ended.wait(timeout=5)
    assert not arrival.finished
    assert arrival.bytes_sent < size // 4


def test_assertions_read_past_what_is_kept(target):
    # /echo answers with the body sent: its end lies past the 1 KiB kept.
    body = "a" * 5000 + "THE END"
    outcome = send(
        target.url("/echo"),
        method="POST",
        body=body,
        body_kept_bytes=1024,
        assertions=[{"kind": "body_contains", "value": "THE END"}],
    )

    assert outcome.succeeded, outcome.error
    assert len(outcome.response_body) == 1024
    assert "THE END" not in outcome.response_body
    assert outcome.response_truncated


def test_a_character_the_cut_goes_through_is_left_out():
    body = "€" * 1000  # three bytes each: 1 KiB ends inside the 342nd
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
    answer += f"Content-Length: {len(body.encode())}\r\n\r\n{body}".encode()
    with raw_target(answer) as url:
        outcome = send(url, body_kept_bytes=1024)

    assert outcome.response_body == "€" * 341
    assert outcome.response_truncated


def test_a_body_cut_after_it_all_arrived_leaves_the_connection_reusable(target):
    async def twice() -> list[Outcome]:
        async with Client() as client:
            request = Request(execution_id=EXECUTION_ID, method="GET", url=target.url("/big/20000"))
            request.body_kept_bytes = 1024
            return [await client.send(request), await client.send(request)]

    outcomes = asyncio.run(twice())

    assert [outcome.response_body for outcome in outcomes] == ["x" * 1024] * 2
    assert target.connections == 1


# Response headers kept


def test_at_most_100_response_headers_are_kept(target):
    outcome = send(target.url("/headers/150/10"))

    assert outcome.succeeded
    assert len(outcome.response_headers) == MAX_RESPONSE_HEADERS
    # The target's own (Content-Type, Date…) come first; the rest are counted, not kept.
    assert outcome.response_headers_omitted == 150 + len(own_headers(target)) - 100


def test_at_most_16_kib_of_response_headers_are_kept(target):
    outcome = send(target.url("/headers/20/4000"))

    assert outcome.succeeded
    kept = sum(len(name) + len(value) for name, value in outcome.response_headers.items())
    assert kept <= MAX_RESPONSE_HEADER_BYTES
    # The first four of 4,000 bytes fit; from the fifth on, none is kept (the target's
    # own headers, which come last, included).
    assert list(outcome.response_headers) == [f"X-Header-{n}" for n in range(1, 5)]
    assert outcome.response_headers_omitted == 16 + len(own_headers(target))


def test_a_few_response_headers_are_all_kept(target):
    outcome = send(target.url("/headers/3/10"))

    assert outcome.response_headers["X-Header-3"] == "v" * 10
    assert outcome.response_headers_omitted == 0


def own_headers(target: Target) -> dict[str, str]:
    """The headers the target sends of its own (Content-Type, Date…)."""
    return send(target.url("/headers/0/0")).response_headers


# Failures before a response


def test_a_closed_port_is_a_connect_failure(closed_port):
    outcome = send(f"http://127.0.0.1:{closed_port}/", timeout=5)

    assert outcome.failure_reason == "connect"
    assert outcome.error.startswith("Could not connect:")
    assert outcome.http_status is None


def test_a_name_that_does_not_resolve_is_a_dns_failure():
    # .invalid never resolves (RFC 6761); the local resolver answers without a network.
    outcome = send("http://nonexistent.invalid/", timeout=5)

    assert outcome.failure_reason == "dns"
    assert outcome.error.startswith("Could not resolve the host:")


def test_an_untrusted_certificate_is_a_tls_failure():
    server_context, _ = self_signed_tls()
    with Target(tls=server_context) as secure:
        outcome = send(secure.url("/ok"), timeout=5)

    assert outcome.failure_reason == "tls"
    assert "certificate verify failed" in outcome.error
    # The TCP connection was made; no HTTP request went over it.
    assert secure.connections == 1
    assert secure.requests == []


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 10_000 + b"\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n"
        + b"X-Many: 1\r\n" * (MAX_HEADERS_READ + 1)
        + b"Content-Length: 0\r\n\r\n",
    ],
    ids=["one long header", "too many headers"],
)
def test_oversized_response_headers_are_too_large(answer: bytes):
    with raw_target(answer) as url:
        outcome = send(url, timeout=5)

    assert outcome.failure_reason == "too_large"
    assert outcome.error == "The response headers are too large."


@pytest.mark.parametrize(
    "answer",
    [
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"",  # closes without a word
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\ncut short",
    ],
    ids=["not http", "no answer", "body shorter than announced"],
)
def test_a_broken_answer_is_an_invalid_response(answer: bytes):
    with raw_target(answer) as url:
        outcome = send(url, timeout=5)

    assert outcome.failure_reason == "invalid_response"
    assert not outcome.succeeded


# Timings and connections


def test_it_times_the_connection_and_the_first_byte(target):
    timings = send(target.url("/ok")).timings

    assert isinstance(timings["connect_ms"], int)
    assert isinstance(timings["first_byte_ms"], int)
    assert 0 <= timings["connect_ms"] <= timings["first_byte_ms"]


def test_a_name_also_gets_its_lookup_timed(target):
    timings = send(target.url("/ok").replace("127.0.0.1", "localhost")).timings

    assert timings["dns_ms"] <= timings["connect_ms"] <= timings["first_byte_ms"]


def test_a_client_keeps_its_connections_alive_and_a_new_client_does_not_inherit_them(target):
    async def two_sends() -> list[Outcome]:
        async with Client() as client:
            return [
                await client.send(Request(execution_id=str(n), method="GET", url=target.url("/ok")))
                for n in (1, 2)
            ]

    assert all(outcome.succeeded for outcome in asyncio.run(two_sends()))
    assert target.connections == 1

    assert all(outcome.succeeded for outcome in asyncio.run(two_sends()))
    assert target.connections == 2
