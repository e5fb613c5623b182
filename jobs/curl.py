"""A curl command line read as a job's request: the import's `curl` and `crontab` formats
(jobs/transfer.py) come through here.

No maintained parser on PyPI fits (uncurl and curlparser have had no release since 2021,
before curl had --json, and neither reads -m), so this is argparse over shlex's words, with
curl's common flags. A flag it does not know is an error rather than dropped: the job
would silently send something else than the command did."""

import argparse
import math
import shlex
from urllib.parse import urlsplit, urlunsplit

from jobs.masking import looks_secret

CURL_PROGRAMS = {"curl", "curl.exe"}
# Flags that change only what curl prints, or what cronsvc always does.
QUIET_FLAGS = [
    ("-f", "--fail"),
    ("-s", "--silent"),
    ("-S", "--show-error"),
    ("-v", "--verbose"),
    ("-i", "--include"),
    ("-g", "--globoff"),
    ("--compressed",),
    ("--fail-with-body",),
    ("--no-progress-meter",),
]
QUIET_VALUED_FLAGS = [("-o", "--output"), ("-w", "--write-out"), ("--connect-timeout",)]
# curl reads a file for these; there is none here.
FROM_FILE_FLAGS = {"data", "data_binary"}


class CurlError(ValueError):
    """The command cannot be read as one request; the message says why."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise CurlError(f"curl: {message}.")


def make_parser() -> Parser:
    parser = Parser(prog="curl", add_help=False, allow_abbrev=False)
    parser.add_argument("urls", nargs="*")
    parser.add_argument("--url", action="append", dest="urls_given", default=[])
    parser.add_argument("-X", "--request")
    parser.add_argument("-H", "--header", action="append", dest="headers", default=[])
    for name in ("--data", "--data-raw", "--data-binary", "--data-ascii", "--json"):
        flags = ("-d", name) if name == "--data" else (name,)
        parser.add_argument(*flags, action="append", dest=name[2:].replace("-", "_"))
    parser.add_argument("-u", "--user")
    parser.add_argument("-m", "--max-time", type=float)
    parser.add_argument("-A", "--user-agent")
    parser.add_argument("-e", "--referer")
    parser.add_argument("-b", "--cookie")
    parser.add_argument("-L", "--location", action="store_true")
    parser.add_argument("-G", "--get", action="store_true")
    parser.add_argument("-I", "--head", action="store_true")
    parser.add_argument("-k", "--insecure", action="store_true")
    parser.add_argument("--retry", type=int)
    for flags in QUIET_FLAGS:
        parser.add_argument(*flags, action="store_true")
    for flags in QUIET_VALUED_FLAGS:
        parser.add_argument(*flags)
    return parser


PARSER = make_parser()


def words_of(command: str) -> list[str]:
    """The shell words of a command as pasted from a terminal or a browser's "Copy as
    cURL": backslash-newline continues the line."""
    joined = command.replace("\\\r\n", " ").replace("\\\n", " ")
    try:
        return shlex.split(joined)
    except ValueError as error:  # an unclosed quote
        raise CurlError(f"The command cannot be read: {error}.") from None


def job_fields(words: list[str]) -> tuple[dict, list[str]]:
    """A job's request fields from curl's words (the program first), and notes on what
    cronsvc does differently. Raises CurlError."""
    if not words or not is_curl(words[0]):
        raise CurlError("Only curl commands can be imported: the command does not start with curl.")
    options = PARSER.parse_intermixed_args(words[1:])
    url = the_url(options)
    body = the_body(options)
    headers = header_dict(options)
    fields: dict = {"url": url, "method": the_method(options, body), "follow_redirects": False}
    if options.get and body:
        fields["url"], body = with_query(url, body), ""
    if body:
        fields["body"] = body
    if options.json:
        headers.setdefault("Content-Type", "application/json")
        headers.setdefault("Accept", "application/json")
    # Values of secret-looking headers (Authorization, X-Api-Key…) are stored encrypted.
    fields["headers"] = {name: value for name, value in headers.items() if not looks_secret(name)}
    if secret := {name: value for name, value in headers.items() if looks_secret(name)}:
        fields["secret_headers"] = secret
    if options.user is not None:
        username, _, password = options.user.partition(":")
        fields["auth_username"], fields["auth_password"] = username, password
    if options.max_time is not None:
        fields["timeout_seconds"] = max(1, math.ceil(options.max_time))
    if options.location:
        fields["follow_redirects"] = True
    if options.retry is not None:
        fields["retries"] = options.retry
    return fields, notes(options)


def is_curl(word: str) -> bool:
    return word.rsplit("/", 1)[-1] in CURL_PROGRAMS


def the_url(options: argparse.Namespace) -> str:
    urls = options.urls + options.urls_given
    if not urls:
        raise CurlError("The command has no URL.")
    if len(urls) > 1:
        raise CurlError("The command calls more than one URL; a job calls one.")
    return urls[0]


def the_body(options: argparse.Namespace) -> str:
    for name in FROM_FILE_FLAGS:
        if any(part.startswith("@") for part in getattr(options, name) or []):
            raise CurlError("A body read from a file (-d @file) cannot be imported; paste it.")
    parts = [
        part
        for name in ("data", "data_raw", "data_binary", "data_ascii", "json")
        for part in getattr(options, name) or []
    ]
    return "&".join(parts)  # as curl joins several -d


def the_method(options: argparse.Namespace, body: str) -> str:
    if options.request:
        return options.request.upper()
    if options.head:
        return "HEAD"
    if body and not options.get:
        return "POST"
    return "GET"


def header_dict(options: argparse.Namespace) -> dict[str, str]:
    headers = {}
    for header in options.headers:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            raise CurlError(f"“{header}” is not a header (Name: value).")
        if value.strip():  # "-H 'Accept:'" removes a header curl would send: nothing to send
            headers[name.strip()] = value.strip()
    extra = {"User-Agent": options.user_agent, "Referer": options.referer, "Cookie": options.cookie}
    headers.update({name: value for name, value in extra.items() if value is not None})
    return headers


def with_query(url: str, data: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{data}" if parts.query else data
    return urlunsplit(parts._replace(query=query))


def notes(options: argparse.Namespace) -> list[str]:
    return ["-k is ignored: cronsvc always checks certificates."] if options.insecure else []
