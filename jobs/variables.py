"""Variables in a job's URL, header values and body, such as `{{unixtime}}`: checked when a
job is saved, filled in for each attempt as its request is built (jobs/engine/worker.py
request_for), so every try, Run now and test run gets values of its own. Every value is
safe in a URL as it stands (letters, digits, "-", ":" and "."), so none is escaped.

Basic auth (username and password) and secret header values are sent as written: a secret
is the member's exact text (it may hold a `{{`), and it is never shown back, so a filled-in
secret could not be checked anywhere.
"""

import re
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

# Two braces, a name, two braces; spaces inside are allowed, as in Django's templates.
VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_.-]*)\s*\}\}")
NAMES = ("unixtime", "scheduled_for", "execution_id", "uuid")


def validate_text(text: str) -> None:
    """A field may name only the variables we fill in."""
    if "{{" not in text:
        return
    unknown = sorted({name for name in VARIABLE.findall(text) if name not in NAMES})
    if unknown:
        raise ValidationError(
            f"Unknown variable {spelled(unknown)}; the variables are {spelled(NAMES)}."
        )


def spelled(names: Iterable[str]) -> str:
    return ", ".join("{{" + name + "}}" for name in names)


def validate_url(url: str) -> None:
    """Variables go in the path and query only: the host a job calls is checked (for
    internal addresses, allowed ports) when it is saved, so it cannot change per run."""
    if "{{" not in url:
        return
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return  # the URL check says what is wrong
    if "{{" in netloc or "}}" in netloc:
        raise ValidationError(
            "Variables cannot be used in the host part of the URL; put them in its path or query."
        )
    validate_text(url)


def validate_header_values(headers: object) -> None:
    if not isinstance(headers, dict):
        return  # validate_headers says what is wrong
    for name, value in headers.items():
        try:
            validate_text(value if isinstance(value, str) else "")
        except ValidationError as error:
            raise ValidationError(f"Header “{name}”: {error.message}") from None


def uses_variables(url: str, headers: dict[str, str], body: str) -> bool:
    # The whole cost for a job without variables: a substring search of each text (a loop,
    # not any(): on the firing path a generator costs more than the searches).
    if "{{" in url or "{{" in body:
        return True
    for value in headers.values():  # noqa: SIM110 (see above)
        if "{{" in value:
            return True
    return False


def filled(
    url: str, headers: dict[str, str], body: str, *, execution_id: str, scheduled_for: datetime
) -> tuple[str, dict[str, str], str]:
    """The URL, header values and body with this attempt's values in place of the
    variables; the same objects back when there are none."""
    if not uses_variables(url, headers, body):
        return url, headers, body
    values = {
        # The second the request leaves: a request is built before its second comes.
        "unixtime": str(int(max(time.time(), scheduled_for.timestamp()))),
        # In UTC with a Z: a "+00:00" in a query string would arrive as a space.
        "scheduled_for": scheduled_for.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "execution_id": execution_id,
        "uuid": str(uuid.uuid4()),
    }
    fill = filler(values)
    return fill(url), {name: fill(value) for name, value in headers.items()}, fill(body)


def filler(values: dict[str, str]) -> Callable[[str], str]:
    def fill(text: str) -> str:
        if "{{" not in text:
            return text
        # An unknown name (saved before this check, or a test run's) is left as written.
        return VARIABLE.sub(lambda match: values.get(match.group(1), match.group(0)), text)

    return fill
