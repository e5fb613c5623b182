"""Crontab lines that call curl, read as jobs: the import's `crontab` format
(jobs/transfer.py). Each line either gives a job or a problem with its line number; blank
lines, comments and environment assignments (MAILTO=…) give nothing."""

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from jobs import curl
from jobs.schedules import ALIASES

ENVIRONMENT_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")
# A seconds field, as Quartz and some crons put before the minutes: numbers and * / , -.
SECONDS_FIELD = re.compile(r"^[0-9*/,-]+$")
# A system crontab (/etc/crontab, /etc/cron.d) names the user to run as after the time.
USER_FIELD = re.compile(r"^[a-z_][a-z0-9_.-]*$")
# Shell words that join a second command: the job would not run it.
COMMAND_SEPARATORS = {"|", "||", "&&", ";", "&"}
REDIRECTION = re.compile(r"^[0-9&]?>>?")
TITLE_LENGTH = 200


@dataclass(frozen=True)
class Line:
    number: int
    fields: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problem: str = ""


def read(text: str) -> list[Line]:
    """Every line that says something: a job's fields, or the problem that keeps it from
    being one."""
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or ENVIRONMENT_ASSIGNMENT.match(line):
            continue
        try:
            fields, notes = job_of(line)
        except curl.CurlError as error:
            lines.append(Line(number=number, problem=str(error)))
        else:
            lines.append(Line(number=number, fields=fields, notes=notes))
    return lines


def job_of(line: str) -> tuple[dict, list[str]]:
    schedule, command = split_schedule(line)
    words = curl.words_of(unescape_percent(command))
    fields, notes = curl.job_fields(only_the_command(words))
    return {"title": title_for(fields), "schedule": schedule, **fields}, notes


def split_schedule(line: str) -> tuple[str, str]:
    """The schedule (five fields, or a macro such as @hourly) and the command after it,
    less a system crontab's user field."""
    if line.startswith("@"):
        macro, command = first_word(line)
        if macro.lower() not in ALIASES:
            known = ", ".join(ALIASES)
            raise curl.CurlError(f"“{macro}” is not a schedule here; use one of {known}.")
        return macro.lower(), without_user(command)
    parts = line.split(None, 5)
    if len(parts) < 6:
        raise curl.CurlError("A crontab line has five time fields, then the command.")
    sixth, rest = first_word(parts[5])
    if SECONDS_FIELD.match(sixth) and curl.is_curl(first_word(rest)[0]):
        raise curl.CurlError(
            "This line has six time fields: a seconds field cannot be imported (cron's "
            "schedules have five, the smallest step is a minute)."
        )
    return " ".join(parts[:5]), without_user(parts[5])


def without_user(command: str) -> str:
    user, rest = first_word(command)
    if USER_FIELD.match(user) and not curl.is_curl(user) and curl.is_curl(first_word(rest)[0]):
        return rest
    return command


def first_word(text: str) -> tuple[str, str]:
    """The first word of the text and the rest, split at the first run of whitespace."""
    word, *rest = text.split(None, 1) or [""]
    return word, rest[0] if rest else ""


def unescape_percent(command: str) -> str:
    # Cron ends the command at an unescaped % (the rest goes to its standard input).
    if re.search(r"(?<!\\)%", command):
        raise curl.CurlError("An unescaped % ends a crontab command; write \\% for a percent sign.")
    return command.replace("\\%", "%")


def only_the_command(words: list[str]) -> list[str]:
    """curl's words, without output redirections (> /dev/null 2>&1); a second command
    joined with |, && or ; is an error."""
    kept: list[str] = []
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
        elif word in COMMAND_SEPARATORS:
            raise curl.CurlError(f"One curl command per line: “{word}” joins another.")
        elif REDIRECTION.match(word):
            # "> file" names its file in the next word; ">/dev/null" and "2>&1" do not.
            skip_next = REDIRECTION.sub("", word) == ""
        else:
            kept.append(word)
    return kept


def title_for(fields: dict) -> str:
    parts = urlsplit(fields["url"])
    where = f"{parts.hostname or fields['url']}{parts.path}"
    return f"{fields['method']} {where}"[:TITLE_LENGTH]
