"""What of a job's request a member's page or an email may show: one rule for both.

An execution records the request it sent (request_record): header names but no values.
Pages show a job's configured request with every credential masked: the password in user:password@,
query values and header values whose names look secret, and the headers the member
marked secret. Emails go to inboxes that are forwarded and archived, so they show even
less: the URL without its query, fragment or user info, and no headers or body.
"""

from dataclasses import dataclass, field
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from jobs.models import Job
from jobs.outbound import http

# Names of headers and query parameters whose values are never shown.
SECRET_WORDS = ("auth", "token", "secret", "key", "cookie", "session", "passw", "signature")
MASK = "••••••"
BODY_START_BYTES = 200


@dataclass(frozen=True)
class ShownRequest:
    method: str
    url: str
    # Pairs, not a dict: basic auth and a member's own Authorization header both show.
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""


def shown_request(
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    secret_header_names: set[str] | frozenset[str] = frozenset(),
    auth_username: str = "",
    body: str = "",
    for_email: bool = False,
) -> ShownRequest:
    """The request as a member's page (or, with for_email, an email) may show it."""
    if for_email:
        return ShownRequest(method=method, url=url_without_query(url))
    shown = [(name, MASK if looks_secret(name) else value) for name, value in headers.items()]
    shown += [(name, MASK) for name in sorted(secret_header_names)]
    if auth_username:
        shown.insert(0, ("Authorization", f"Basic {auth_username}:{MASK}"))
    return ShownRequest(method=method, url=masked_url(url), headers=shown, body=body)


def request_record(request: http.Request) -> dict:
    """What an execution keeps of the request it sent, for its page and the API: the
    method, the URL with secrets masked, the header names (no values) and the body's
    size and start."""
    body = request.body.encode()
    return {
        "method": request.method,
        "url": masked_url(request.url),
        "headers": http.sent_header_names(request),
        "body_size": len(body),
        "body_start": body[:BODY_START_BYTES].decode(errors="replace"),
    }


def shown_job_request(job: Job, *, for_email: bool = False) -> ShownRequest:
    """The job's request as it is configured now."""
    return shown_request(
        method=job.method,
        url=job.url,
        headers=job.headers,
        secret_header_names=set(job.secret_headers),
        auth_username=job.auth_username,
        body=job.body,
        for_email=for_email,
    )


def looks_secret(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_WORDS)


def masked_url(url: str) -> str:
    """The URL without the password in user:password@ or secret-looking query values;
    the rest as written."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:{MASK}@{netloc.rpartition('@')[2]}"
    pairs = [pair.partition("=") for pair in parts.query.split("&")]
    query = "&".join(
        f"{name}={MASK}" if equals and looks_secret(unquote_plus(name)) else name + equals + value
        for name, equals, value in pairs
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def url_without_query(url: str) -> str:
    """Query strings, fragments and user:password@ often carry secrets."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
