"""Who may do what, page by page and endpoint by endpoint, in a team project ("Acme", owned
by alice): a viewer, a member, an admin, and an outsider who is in no project of Acme's.

Every URL the site serves has a row here, or a reason in EXEMPT: a new page or endpoint
without one fails test_every_page_and_endpoint_has_a_row.

Pages that work in the member's current project (the dashboard, project settings, keys…)
are opened after switching to Acme; the outsider cannot switch (404) and sees their own
project instead, never Acme's data. An API persona uses a key of Acme made for them (keys
act within their member's current role; the outsider's key is of their own project).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import projects
from accounts.models import ApiKey, Membership, Project, Role
from jobs.models import Execution, Job, TestRun
from tests.conftest import api_client, make_job, make_member, reauthenticate

PERSONAS = ["viewer", "member", "admin", "outsider"]

EXEMPT = {
    "home": "the public home page",
    "job_badge": "public; its key decides (tests/jobs/test_badges.py)",
    "tag_badge": "public; its key decides (tests/jobs/test_badges.py)",
    "status_page": "public once published; its slug decides (tests/web/test_status_pages.py)",
    "job_unsubscribe": "a signed token names the job; no sign-in (tests/alerts)",
    "channel_confirm": "a signed token names the channel; no sign-in (tests/api)",
    "invitation": "the token decides; tests/accounts/test_projects.py",
    "api-schema": "public documentation",
    "api-docs": "public documentation",
    "healthz": "operators (tests/ops)",
    "metrics": "operators, a bearer token (tests/ops)",
    "operator": "staff only (tests/ops)",
    "operator_requeue": "staff only (tests/ops)",
    "operator_maintenance": "staff only (tests/ops)",
}
# The member's own account, not a project's data.
ACCOUNT_PAGES = {"profile", "delete_account"}


@dataclass
class Acme:
    project: Project
    job: Job
    execution: Execution
    test_run: TestRun
    other: Membership  # someone else in Acme, for role changes and removals
    key: ApiKey  # a key of Acme's, for revoking
    users: dict


@pytest.fixture
def acme(alice) -> Acme:
    project = projects.create_project(alice, name="Acme")
    users = {
        role: make_member(f"{role}@example.org")
        for role in ["viewer", "member", "admin", "outsider"]
    }
    for role in ["viewer", "member", "admin"]:
        Membership.objects.create(project=project, user=users[role], role=role)
    tom = make_member("tom@example.org")
    other = Membership.objects.create(project=project, user=tom, role=Role.MEMBER)
    job = make_job(alice, project=project, title="Acme nightly", ordering_key="nightly")
    execution = Execution.objects.create(job=job, scheduled_for=timezone.now())
    test_run = TestRun.of(job, by=alice)
    test_run.save()
    key, _ = ApiKey.issue(user=alice, project=project, name="Acme deploy")
    return Acme(project, job, execution, test_run, other, key, users)


def web_client(client, acme: Acme, persona: str):
    client.force_login(acme.users[persona])
    reauthenticate(client)  # as if they had just given their password (making a key asks)
    if persona != "outsider":
        session = client.session
        session[projects.CURRENT] = acme.project.id
        session.save()
    return client


def key_client(acme: Acme, persona: str) -> APIClient:
    user = acme.users[persona]
    project = projects.personal_project(user) if persona == "outsider" else acme.project
    _, plain = ApiKey.issue(user=user, project=project, name=f"{persona}'s key")
    return api_client(plain)


@dataclass
class Row:
    method: str
    path: Callable[[Acme], str]
    expected: dict[str, int]  # persona: status
    data: Callable[[Acme], dict] = lambda acme: {}
    api: bool = False


def statuses(viewer: int, member: int, admin: int, outsider: int) -> dict[str, int]:
    return dict(zip(PERSONAS, [viewer, member, admin, outsider], strict=True))


JOB = lambda acme: f"/jobs/{acme.job.id}/"  # noqa: E731
CHANNEL = lambda acme: f"/channels/{acme.project.channels.get().id}/"  # noqa: E731
API_CHANNEL = lambda acme: f"/api/v1/channels/{acme.project.channels.get().id}/"  # noqa: E731
NEW_CHANNEL = {"kind": "webhook", "url": "https://example.com/hook"}
NEW_WINDOW = {"name": "Deploys", "weekdays": [1], "start_time": "02:00", "duration_minutes": 30}


def status_page_id(acme: Acme) -> int:
    """Acme's status page, made on first use."""
    page, _ = acme.project.status_pages.get_or_create(title="Acme status", slug="acme-status")
    return page.id


STATUS_PAGE = lambda acme: f"/status-pages/{status_page_id(acme)}/"  # noqa: E731
API_STATUS_PAGE = lambda acme: f"/api/v1/status-pages/{status_page_id(acme)}/"  # noqa: E731
NEW_STATUS_PAGE = {"title": "Status", "published": True}


def window_id(acme: Acme) -> int:
    """Acme's maintenance window, made on first use."""
    window, _ = acme.project.maintenance_windows.get_or_create(
        name="Nightly", weekdays=[0], start_time="03:00", duration_minutes=60
    )
    return window.id


WINDOW = lambda acme: f"/channels/maintenance-windows/{window_id(acme)}/"  # noqa: E731
API_WINDOW = lambda acme: f"/api/v1/maintenance-windows/{window_id(acme)}/"  # noqa: E731
API_JOB = lambda acme: f"/api/v1/jobs/{acme.job.id}/"  # noqa: E731
IMPORT_DOCUMENT = {"jobs": [{"title": "t", "url": "https://example.com/", "schedule": "@daily"}]}
IMPORT = {"format": "json", "content": json.dumps(IMPORT_DOCUMENT), "import": ""}
READ = statuses(200, 200, 200, 404)
CHANGE = statuses(403, 302, 302, 404)
OWN_PROJECT = statuses(200, 200, 200, 200)  # the outsider sees their own project
JOB_FORM = {
    "title": "Changed",
    "method": "GET",
    "url": "https://example.com/",
    "preset": "daily",
    "at_time": "03:00",
    "timezone": "UTC",
    "timeout_seconds": "30",
    "failure_threshold": "1",
}

TABLE: dict[str, list[Row]] = {
    "dashboard": [Row("get", lambda a: "/jobs/", OWN_PROJECT)],
    "job_create": [
        Row("get", lambda a: "/jobs/new/", statuses(403, 200, 200, 200)),
        Row("post", lambda a: "/jobs/new/", statuses(403, 302, 302, 302), lambda a: JOB_FORM),
    ],
    "jobs_bulk": [
        # The outsider acts in their own project, where Acme's job is not found: back to
        # the dashboard with that message, nothing done to it (tests/web/test_bulk_actions.py).
        Row(
            "post",
            lambda a: "/jobs/bulk/",
            statuses(403, 302, 302, 302),
            lambda a: {"action": "pause", "ids": [str(a.job.id)]},
        )
    ],
    "jobs_export": [Row("get", lambda a: "/jobs/export/", OWN_PROJECT)],
    "jobs_import": [
        Row("get", lambda a: "/jobs/import/", statuses(403, 200, 200, 200)),
        Row("post", lambda a: "/jobs/import/", statuses(403, 302, 302, 302), lambda a: IMPORT),
    ],
    "schedule_preview": [Row("get", lambda a: "/jobs/preview/?schedule=* * * * *", OWN_PROJECT)],
    "job_detail": [Row("get", JOB, READ)],
    "job_edit": [
        Row("get", lambda a: JOB(a) + "edit/", statuses(403, 200, 200, 404)),
        Row("post", lambda a: JOB(a) + "edit/", CHANGE, lambda a: JOB_FORM),
    ],
    "job_pause": [Row("post", lambda a: JOB(a) + "pause/", CHANGE)],
    "job_resume": [Row("post", lambda a: JOB(a) + "resume/", CHANGE)],
    "job_resume_queue": [Row("post", lambda a: JOB(a) + "resume-queue/", CHANGE)],
    "job_clone": [Row("post", lambda a: JOB(a) + "clone/", CHANGE)],
    "job_run": [Row("post", lambda a: JOB(a) + "run/", CHANGE)],
    "job_delete": [Row("post", lambda a: JOB(a) + "delete/", CHANGE)],
    "job_history": [Row("get", lambda a: JOB(a) + "history/", READ)],
    "job_charts": [Row("get", lambda a: JOB(a) + "charts/", READ)],
    "job_test_run": [
        Row(
            "post",
            lambda a: "/jobs/test-run/",
            statuses(403, 200, 200, 404),
            lambda a: {**JOB_FORM, "url": "http://127.0.0.1:9/", "job_id": str(a.job.id)},
        )
    ],
    "test_run_result": [Row("get", lambda a: f"/jobs/test-runs/{a.test_run.id}/", READ)],
    "execution_detail": [Row("get", lambda a: f"/jobs/executions/{a.execution.id}/", READ)],
    "api_keys": [
        Row("get", lambda a: "/accounts/settings/api-keys/", statuses(403, 403, 200, 200)),
        Row(
            "post",
            lambda a: "/accounts/settings/api-keys/",
            statuses(403, 403, 200, 200),
            lambda a: {"name": "new"},
        ),
    ],
    "revoke_api_key": [
        Row(
            "post",
            lambda a: f"/accounts/settings/api-keys/{a.key.id}/revoke/",
            statuses(403, 403, 302, 404),
        )
    ],
    "project_create": [Row("get", lambda a: "/projects/new/", OWN_PROJECT)],
    "project_switch": [
        Row(
            "post",
            lambda a: "/projects/switch/",
            statuses(302, 302, 302, 404),
            lambda a: {"project": str(a.project.id)},
        )
    ],
    "project_settings": [
        Row("get", lambda a: "/projects/settings/", OWN_PROJECT),
        Row(
            "post",
            lambda a: "/projects/settings/",
            statuses(403, 403, 403, 302),  # owner only; the outsider owns theirs
            lambda a: {"name": "Renamed"},
        ),
    ],
    "project_invite": [
        Row(
            "post",
            lambda a: "/projects/invite/",
            statuses(403, 403, 302, 302),
            lambda a: {"email": "new@example.org", "role": "member"},
        )
    ],
    "member_role": [
        Row(
            "post",
            lambda a: f"/projects/members/{a.other.id}/role/",
            statuses(403, 403, 302, 404),
            lambda a: {"role": "viewer"},
        )
    ],
    "member_remove": [
        Row(
            "post",
            lambda a: f"/projects/members/{a.other.id}/remove/",
            statuses(403, 403, 302, 404),
        )
    ],
    "project_transfer": [
        Row(
            "post",
            lambda a: "/projects/transfer/",
            statuses(403, 403, 403, 404),
            lambda a: {"membership": str(a.other.id)},
        )
    ],
    "project_delete": [
        Row("get", lambda a: "/projects/delete/", statuses(403, 403, 403, 302)),
    ],
    "audit_log": [Row("get", lambda a: "/projects/audit/", OWN_PROJECT)],
    "project_signing_secret": [
        # Admins and the owner; the outsider makes one for their own project.
        Row("post", lambda a: "/projects/signing-secret/", statuses(403, 403, 200, 200))
    ],
    "channels": [
        Row("get", lambda a: "/channels/", OWN_PROJECT),
        Row("post", lambda a: "/channels/", statuses(403, 302, 302, 302), lambda a: NEW_CHANNEL),
    ],
    "channel_test": [Row("post", lambda a: CHANNEL(a) + "test/", CHANGE)],
    "channel_delete": [Row("post", lambda a: CHANNEL(a) + "delete/", CHANGE)],
    "maintenance_window_add": [
        Row(
            "post",
            lambda a: "/channels/maintenance-windows/",
            statuses(403, 302, 302, 302),
            lambda a: {**NEW_WINDOW, "weekdays": "1", "timezone": "UTC"},
        )
    ],
    "maintenance_window_delete": [Row("post", lambda a: WINDOW(a) + "delete/", CHANGE)],
    "status_page_list": [Row("get", lambda a: "/status-pages/", OWN_PROJECT)],
    "status_page_create": [
        Row("get", lambda a: "/status-pages/new/", statuses(403, 200, 200, 200)),
        Row(
            "post",
            lambda a: "/status-pages/new/",
            statuses(403, 302, 302, 302),
            lambda a: NEW_STATUS_PAGE,
        ),
    ],
    "status_page_edit": [
        Row("get", STATUS_PAGE, statuses(403, 200, 200, 404)),
        Row("post", STATUS_PAGE, CHANGE, lambda a: NEW_STATUS_PAGE),
    ],
    "status_page_delete": [Row("post", lambda a: STATUS_PAGE(a) + "delete/", CHANGE)],
    # Rotating a badge's key: admins and the owner; the outsider rotates their own project's.
    "tag_badges_rotate": [
        Row("post", lambda a: "/status-pages/tag-badges/rotate/", statuses(403, 403, 302, 302))
    ],
    "job_badge_rotate": [
        Row("post", lambda a: JOB(a) + "badge/rotate/", statuses(403, 403, 302, 404))
    ],
    # The REST API, with keys.
    "api-root": [Row("get", lambda a: "/api/v1/", statuses(200, 200, 200, 200), api=True)],
    "job-list": [
        Row("get", lambda a: "/api/v1/jobs/", statuses(200, 200, 200, 200), api=True),
        Row(
            "post",
            lambda a: "/api/v1/jobs/",
            statuses(403, 201, 201, 201),
            lambda a: {"title": "t", "url": "https://example.com/", "schedule": "@daily"},
            api=True,
        ),
    ],
    "job-detail": [
        Row("get", API_JOB, READ, api=True),
        Row("patch", API_JOB, statuses(403, 200, 200, 404), lambda a: {"title": "x"}, api=True),
        Row("delete", API_JOB, statuses(403, 204, 204, 404), api=True),
    ],
    "job-bulk": [
        # The outsider's key is of their own project: Acme's job there answers "not found"
        # in its result (404), and is left alone (tests/api/test_bulk.py).
        Row(
            "post",
            lambda a: "/api/v1/jobs/bulk/",
            statuses(403, 200, 200, 200),
            lambda a: {"action": "pause", "ids": [a.job.id]},
            api=True,
        )
    ],
    "job-export": [
        Row("get", lambda a: "/api/v1/jobs/export/", statuses(200, 200, 200, 200), api=True)
    ],
    "job-import": [
        Row(
            "post",
            lambda a: "/api/v1/jobs/import/",
            statuses(403, 201, 201, 201),
            lambda a: IMPORT_DOCUMENT,
            api=True,
        )
    ],
    "job-executions": [Row("get", lambda a: API_JOB(a) + "executions/", READ, api=True)],
    "job-pause": [
        Row("post", lambda a: API_JOB(a) + "pause/", statuses(403, 200, 200, 404), api=True)
    ],
    "job-resume": [
        Row("post", lambda a: API_JOB(a) + "resume/", statuses(403, 200, 200, 404), api=True)
    ],
    "job-test-run-new": [
        Row(
            "post",
            lambda a: "/api/v1/jobs/test-run/",
            statuses(403, 202, 202, 202),
            lambda a: {"title": "t", "url": "http://127.0.0.1:9/", "schedule": "@daily"},
            api=True,
        ),
    ],
    "job-test-run": [
        Row("post", lambda a: API_JOB(a) + "test-run/", statuses(403, 202, 202, 404), api=True)
    ],
    "test-run-detail": [
        Row("get", lambda a: f"/api/v1/test-runs/{a.test_run.id}/", READ, api=True)
    ],
    "job-run": [Row("post", lambda a: API_JOB(a) + "run/", statuses(403, 202, 202, 404), api=True)],
    "execution-detail": [
        Row("get", lambda a: f"/api/v1/executions/{a.execution.id}/", READ, api=True)
    ],
    "ordering-key-list": [Row("get", lambda a: "/api/v1/ordering-keys/", OWN_PROJECT, api=True)],
    # Acme's job has the key; the outsider's own project has none of that name.
    "ordering-key-resume": [
        Row(
            "post",
            lambda a: "/api/v1/ordering-keys/nightly/resume/",
            statuses(403, 200, 200, 404),
            api=True,
        )
    ],
    "audit-list": [Row("get", lambda a: "/api/v1/audit/", statuses(200, 200, 200, 200), api=True)],
    "api-signing-secret": [
        Row("post", lambda a: "/api/v1/signing-secret/", statuses(403, 403, 201, 201), api=True),
        # Shown once, when made: nobody reads it back.
        Row("get", lambda a: "/api/v1/signing-secret/", statuses(405, 405, 405, 405), api=True),
    ],
    "job-rotate-badge": [
        Row("post", lambda a: API_JOB(a) + "rotate-badge/", statuses(403, 403, 200, 404), api=True)
    ],
    "tag-badges-list": [
        Row("get", lambda a: "/api/v1/tag-badges/", statuses(200, 200, 200, 200), api=True)
    ],
    "tag-badges-rotate": [
        Row(
            "post",
            lambda a: "/api/v1/tag-badges/rotate/",
            statuses(403, 403, 200, 200),
            api=True,
        )
    ],
    "status-page-list": [
        Row("get", lambda a: "/api/v1/status-pages/", OWN_PROJECT, api=True),
        Row(
            "post",
            lambda a: "/api/v1/status-pages/",
            statuses(403, 201, 201, 201),
            lambda a: NEW_STATUS_PAGE,
            api=True,
        ),
    ],
    "status-page-detail": [
        Row("get", API_STATUS_PAGE, READ, api=True),
        Row(
            "patch",
            API_STATUS_PAGE,
            statuses(403, 200, 200, 404),
            lambda a: {"title": "x"},
            api=True,
        ),
        Row("delete", API_STATUS_PAGE, statuses(403, 204, 204, 404), api=True),
    ],
    "channel-list": [
        Row("get", lambda a: "/api/v1/channels/", statuses(200, 200, 200, 200), api=True),
        Row(
            "post",
            lambda a: "/api/v1/channels/",
            statuses(403, 201, 201, 201),
            lambda a: NEW_CHANNEL,
            api=True,
        ),
    ],
    "channel-detail": [
        Row("get", API_CHANNEL, READ, api=True),
        Row("patch", API_CHANNEL, statuses(403, 200, 200, 404), lambda a: {"name": "x"}, api=True),
        Row("delete", API_CHANNEL, statuses(403, 204, 204, 404), api=True),
    ],
    "channel-test": [
        Row("post", lambda a: API_CHANNEL(a) + "test/", statuses(403, 202, 202, 404), api=True)
    ],
    "maintenance-window-list": [
        Row("get", lambda a: "/api/v1/maintenance-windows/", OWN_PROJECT, api=True),
        Row(
            "post",
            lambda a: "/api/v1/maintenance-windows/",
            statuses(403, 201, 201, 201),
            lambda a: NEW_WINDOW,
            api=True,
        ),
    ],
    "maintenance-window-detail": [
        Row("get", API_WINDOW, READ, api=True),
        Row("patch", API_WINDOW, statuses(403, 200, 200, 404), lambda a: {"name": "x"}, api=True),
        Row("delete", API_WINDOW, statuses(403, 204, 204, 404), api=True),
    ],
}


def allauth_pages() -> set[str]:
    """Sign-in, addresses, passwords, two-factor and sessions: django-allauth's, the member's
    own account (tests/accounts has theirs)."""
    return {
        pattern.name
        for pattern in walk(get_resolver())
        if pattern.callback.__module__.startswith("allauth.")
    }


def walk(resolver: URLResolver) -> list[URLPattern]:
    patterns = []
    for pattern in resolver.url_patterns:
        patterns += walk(pattern) if isinstance(pattern, URLResolver) else [pattern]
    return patterns


def url_names(resolver: URLResolver = None, namespace: str = "") -> set[str]:
    names = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= url_names(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(namespace + pattern.name)
    return names


def test_every_page_and_endpoint_has_a_row():
    served = {name for name in url_names() if not name.startswith("admin:")}

    unlisted = served - allauth_pages() - ACCOUNT_PAGES - set(EXEMPT) - set(TABLE)
    assert unlisted == set(), "add a row to TABLE"
    assert set(TABLE) <= served, "a row for a URL that is no longer served"


CASES = [
    pytest.param(name, row, persona, id=f"{name}-{row.method}-{persona}")
    for name, rows in TABLE.items()
    for row in rows
    for persona in PERSONAS
]


@pytest.mark.parametrize(("name", "row", "persona"), CASES)
def test_each_persona_gets_what_its_role_allows(
    client, acme, private_targets, fresh_limits, name, row, persona
):
    caller = key_client(acme, persona) if row.api else web_client(client, acme, persona)
    data = row.data(acme)

    if row.api:
        response = getattr(caller, row.method)(row.path(acme), data, format="json")
    else:
        response = getattr(caller, row.method)(row.path(acme), data)

    assert response.status_code == row.expected[persona], response.content[:300]
    if persona == "outsider" and response.status_code == 200 and not row.api:
        assert "Acme" not in response.content.decode()
