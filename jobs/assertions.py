"""Success judged by the response: checks a member adds to a job, all of which must hold
(as well as the expected status) for an attempt to succeed.

    {"kind": "body_contains", "value": "OK"}
    {"kind": "body_not_contains", "value": "error"}
    {"kind": "body_matches", "value": "^done in [0-9]+ ms$"}   # RE2: linear time, no stalls
    {"kind": "json_equals", "path": "status", "value": "ok"}   # a dotted path into JSON
    {"kind": "max_duration_ms", "value": 2000}

One module checks them when a job is saved (validate) and when a response comes (check).
"""

import json
from dataclasses import dataclass
from functools import lru_cache

import re2
from django.core.exceptions import ValidationError

KINDS = ["body_contains", "body_not_contains", "body_matches", "json_equals", "max_duration_ms"]
KIND_LABELS = {
    "body_contains": "the body contains",
    "body_not_contains": "the body does not contain",
    "body_matches": "the body matches (RE2)",
    "json_equals": "a JSON field equals",
    "max_duration_ms": "the answer takes at most (ms)",
}
# The kinds that look at the body: for them a response is read up to the capture cap.
BODY_KINDS = {"body_contains", "body_not_contains", "body_matches", "json_equals"}
MAX_ASSERTIONS = 10
MAX_VALUE_LENGTH = 1000
FOUND_LENGTH = 100  # how much of what was found an error quotes
MISSING = object()


@dataclass(frozen=True)
class Result:
    assertion: dict
    passed: bool
    found: str  # what the response had, for the member to see (truncated)

    @property
    def description(self) -> str:
        return describe(self.assertion)


def describe(assertion: dict) -> str:
    kind, value = assertion["kind"], assertion.get("value")
    if kind == "json_equals":
        return f"JSON {assertion['path']} equals {json.dumps(value)}"
    if kind == "max_duration_ms":
        return f"answers within {value} ms"
    return f"{KIND_LABELS[kind]} “{value}”"


# Validation: the list as a whole, then each item; errors name the item (from 1).


def validate(assertions: object) -> None:
    """The model's validator: ValidationError with one message per bad item."""
    if problem := list_problem(assertions):
        raise ValidationError(problem)
    if problems := item_problems(assertions):
        raise ValidationError([f"Assertion {i + 1}: {p}" for i, p in problems.items()])


def list_problem(assertions: object) -> str:
    if not isinstance(assertions, list):
        return "Assertions must be a list of objects."
    if len(assertions) > MAX_ASSERTIONS:
        return f"At most {MAX_ASSERTIONS} assertions are allowed."
    return ""


def item_problems(assertions: list) -> dict[int, str]:
    """What is wrong with each bad item, by its index in the list."""
    return {
        index: problem for index, item in enumerate(assertions) if (problem := problem_with(item))
    }


def problem_with(item: object) -> str:
    if not isinstance(item, dict):
        return "must be an object with a kind and a value."
    kind = item.get("kind")
    if kind not in KINDS:
        return f"unknown kind {json.dumps(kind)}; use one of {', '.join(KINDS)}."
    unknown = set(item) - {"kind", "value", "path"}
    if unknown:
        return f"unknown key(s): {', '.join(sorted(unknown))}."
    if "value" not in item:
        return "give a value."
    value = item["value"]
    if kind == "json_equals":
        return path_problem(item.get("path")) or length_problem(json.dumps(value))
    if "path" in item:
        return "only json_equals takes a path."
    if kind == "max_duration_ms":
        ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 30_000
        return "" if ok else "the value must be a whole number of milliseconds, 1 to 30000."
    if not isinstance(value, str) or not value:
        return "the value must be non-empty text."
    if kind == "body_matches":
        return length_problem(value) or pattern_problem(value)
    return length_problem(value)


def path_problem(path: object) -> str:
    if not isinstance(path, str) or not path.strip():
        return "json_equals needs a path, e.g. data.status."
    if any(not part for part in path.split(".")):
        return f"the path {json.dumps(path)} has an empty part."
    return length_problem(path)


def length_problem(text: str) -> str:
    if len(text) > MAX_VALUE_LENGTH:
        return f"at most {MAX_VALUE_LENGTH} characters."
    return ""


def pattern_problem(pattern: str) -> str:
    try:
        compiled(pattern)
    except re2.error as error:
        return f"RE2 cannot use this pattern ({error})."
    return ""


@lru_cache(maxsize=1024)
def compiled(pattern: str) -> re2._Regexp:
    return re2.compile(pattern)


# Checking a response.


def reads_body(assertions: list[dict]) -> bool:
    return any(assertion["kind"] in BODY_KINDS for assertion in assertions)


def check(assertions: list[dict], *, body: str, duration_ms: int) -> list[Result]:
    return [check_one(assertion, body, duration_ms) for assertion in assertions]


def check_one(assertion: dict, body: str, duration_ms: int) -> Result:
    kind, value = assertion["kind"], assertion["value"]
    if kind == "max_duration_ms":
        return Result(assertion, duration_ms <= value, f"{duration_ms} ms")
    if kind == "json_equals":
        found = json_at(body, assertion["path"])
        shown = "nothing there" if found is MISSING else json.dumps(found)
        return Result(assertion, found is not MISSING and found == value, truncate(shown))
    if kind == "body_matches":
        return Result(assertion, compiled(value).search(body) is not None, excerpt(body))
    contains = value in body
    passed = contains if kind == "body_contains" else not contains
    return Result(assertion, passed, excerpt(body))


def json_at(body: str, path: str) -> object:
    """The value at a dotted path ("data.items.0.id") of a JSON body, or MISSING."""
    try:
        node = json.loads(body)
    except ValueError:
        return MISSING
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


def excerpt(body: str) -> str:
    return truncate(body) if body else "an empty body"


def truncate(text: str) -> str:
    return text[:FOUND_LENGTH] + ("…" if len(text) > FOUND_LENGTH else "")


def failure_message(results: list[Result]) -> str:
    """The error for a response that failed its assertions: the first that failed, and
    what was found."""
    failed = next(result for result in results if not result.passed)
    return f"Assertion failed: {failed.description}; found {failed.found}."
