"""REST API v1: the member's jobs and their executions, the audit log and the signing
secret (contract in shared/DESIGN.md)."""

from django.db.models import QuerySet
from django.utils.cache import patch_cache_control
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer, ValidationError
from rest_framework.views import APIView

from accounts import audit, projects
from accounts.models import AuditEntry, Role
from jobs import auditing, badges, bulk, status_pages, transfer
from jobs.api.serializers import (
    AuditEntrySerializer,
    BulkActionSerializer,
    BulkOutcomeSerializer,
    ExecutionSerializer,
    JobSerializer,
    OrderingKeySerializer,
    SigningSecretSerializer,
    StatusPageSerializer,
    TagBadgesSerializer,
    TestRunSerializer,
    TestRunStartedSerializer,
)
from jobs.engine import health, ordering, run_now, test_runs
from jobs.models import (
    Execution,
    Job,
    JobLimitReached,
    StatusPage,
    TestRun,
    room_for_a_job,
)
from jobs.validators import ORDERING_KEY


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A key from Settings → API keys.",
        }


# The filters belong to the list alone: on the class they would be on every operation.
@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "enabled", OpenApiTypes.BOOL, description="Only enabled or paused jobs."
            ),
            OpenApiParameter("search", OpenApiTypes.STR, description="Text in the title or URL."),
            OpenApiParameter("tag", OpenApiTypes.STR, description="Only jobs with this tag."),
        ]
    )
)
class JobViewSet(viewsets.ModelViewSet):
    """The jobs of the key's project (another project's job is a 404). Read keys may only
    read; changing a job needs a write key of a member, admin or owner."""

    serializer_class = JobSerializer
    queryset = Job.objects.none()  # for the schema; get_queryset scopes to the member
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Job]:
        # The key's project's jobs: another project's job is simply not there (404).
        jobs = (
            Job.objects.filter(project=self.request.auth.project)
            .select_related("last_execution", "project")
            .prefetch_related("channels")
        )
        if self.action != "list":
            return jobs
        enabled = self.request.query_params.get("enabled")
        if enabled is not None:
            jobs = jobs.filter(enabled=parse_bool("enabled", enabled))
        if search := self.request.query_params.get("search"):
            jobs = jobs.search(parse_search(search))
        if tag := self.request.query_params.get("tag"):
            jobs = jobs.tagged(tag)
        return jobs

    def perform_create(self, serializer: BaseSerializer) -> None:
        project = self.request.auth.project
        try:
            with room_for_a_job(project, self.request.user):
                job = serializer.save(user=self.request.user, project=project)
                auditing.created(job, api_actor(self.request))
        except JobLimitReached as error:
            raise ValidationError({"non_field_errors": [str(error)]}) from None

    def perform_update(self, serializer: BaseSerializer) -> None:
        was = auditing.before(serializer.instance)
        job = serializer.save()
        auditing.updated(job, api_actor(self.request), was)

    def perform_destroy(self, job: Job) -> None:
        auditing.deleted(job, api_actor(self.request))
        job.delete()

    @extend_schema(request=None, responses={202: ExecutionSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str) -> Response:
        try:
            execution = run_now.run_now(self.get_object(), by=request.user)
        except run_now.TooManyRuns as error:
            raise exceptions.Throttled(wait=error.wait, detail=str(error)) from None
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="jobs_test_run_new",
        request=JobSerializer,
        responses={202: TestRunStartedSerializer},
        description="Send these job settings once, by a worker, without saving a job. "
        "Answers 202 at once; poll the `url` it gives (also in Location) for the result. "
        "Limited per member per minute (429).",
    )
    @action(detail=False, methods=["post"], url_path="test-run")
    def test_run_new(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = serializer.unsaved(project=request.auth.project, user=request.user)
        return self.started(job)

    @extend_schema(
        request=JobSerializer(partial=True),
        responses={202: TestRunStartedSerializer},
        description="Send the saved job once, by a worker, with any fields given here "
        "changed for this run only (nothing is saved). A URL on another site drops the "
        "saved password and secret headers unless given again. Answers 202; poll the `url`.",
    )
    @action(detail=True, methods=["post"], url_path="test-run")
    def test_run(self, request: Request, pk: str) -> Response:
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return self.started(serializer.unsaved())

    def started(self, job: Job) -> Response:
        try:
            test_run = test_runs.start(job, by=self.request.user)
        except test_runs.TooManyTestRuns as error:
            raise exceptions.Throttled(wait=error.wait, detail=str(error)) from None
        data = TestRunStartedSerializer(test_run, context={"request": self.request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str) -> Response:
        return self.set_enabled(False)

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        return self.set_enabled(True)

    def set_enabled(self, enabled: bool) -> Response:
        job = self.get_object()
        was = auditing.before(job)
        health.set_enabled(job, enabled)
        auditing.updated(job, api_actor(self.request), was)
        return Response(self.get_serializer(job).data)

    @extend_schema(
        request=BulkActionSerializer,
        responses={200: BulkOutcomeSerializer},
        description="Pause, resume, run now, delete, tag or untag many jobs at once. The "
        "answer has a result per id: an id that is not the key's project's answers 404 and "
        "nothing is done to it; each run counts against the member's Run now limit, and "
        "those past it answer 429.",
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        serializer = BulkActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        action = serializer.validated_data["action"]
        outcome = bulk.apply(
            request.auth.project,
            action=action,
            ids=serializer.validated_data["ids"],
            tag=serializer.validated_data["tag"],
            actor=api_actor(request),
        )
        answer = {"action": action, "selected": outcome.selected, "changed": outcome.changed}
        return Response(BulkOutcomeSerializer({**answer, "results": outcome.results}).data)

    @extend_schema(
        request=None,
        responses={200: OpenApiTypes.OBJECT},
        description='The project\'s jobs as JSON: {"version", "project", "jobs": [...]}, each '
        "job's settings without secrets; `secrets_omitted` names the ones to enter again.",
    )
    @action(detail=False, methods=["get"])
    def export(self, request: Request) -> Response:
        return Response(transfer.export(request.auth.project))

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        parameters=[
            OpenApiParameter(
                "dry_run", OpenApiTypes.BOOL, description="Check everything, make nothing."
            )
        ],
        responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT},
        description="Make jobs in the key's project (at most 1,000, 1 MiB), all or none. The "
        'body is an export, or {"format": "json" | "crontab" | "curl", "content": "…", '
        '"dry_run": false, "schedule": "…"} (schedule for curl only). A 400 lists the '
        'problems where they are: {"jobs": {"3": {"url": [...]}}} by index, '
        '{"lines": {"7": {...}}} by crontab line. The job limits apply.',
    )
    @action(detail=False, methods=["post"], url_path="import", url_name="import")
    def import_jobs(self, request: Request) -> Response:
        if int(request.META.get("CONTENT_LENGTH") or 0) > transfer.MAX_IMPORT_BYTES:
            raise ValidationError({"jobs": [transfer.TOO_LARGE]})
        asked_dry_run = parse_bool("dry_run", request.query_params.get("dry_run", "false"))
        try:
            source, dry_run_in_body = transfer.unwrap(request.data)
            dry_run = asked_dry_run or dry_run_in_body
            made = transfer.import_jobs(
                request.auth.project,
                source,
                member=request.user,
                key=request.auth,
                actor=api_actor(request),
                dry_run=dry_run,
            )
        except transfer.ImportFailed as error:
            raise ValidationError(error.errors) from None
        answer = transfer.answer(made, source, dry_run=dry_run)
        return Response(answer, status=status.HTTP_200_OK if dry_run else status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses=JobSerializer,
        description="Give the job's badge a new address (`badge_url`); the old one answers "
        "404. Needs a write key of an admin or the owner.",
    )
    @action(detail=True, methods=["post"], url_path="rotate-badge")
    def rotate_badge(self, request: Request, pk: str) -> Response:
        job = self.get_object()
        projects.require_role(projects.membership(request.user, job.project), Role.ADMIN)
        badges.rotate_job_key(job, by=api_actor(request))
        return Response(self.get_serializer(job).data)

    @extend_schema(responses=ExecutionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def executions(self, request: Request, pk: str) -> Response:
        history = self.get_object().executions.order_by("-scheduled_for")
        page = self.paginate_queryset(history)
        return self.get_paginated_response(ExecutionSerializer(page, many=True).data)


class ExecutionViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ExecutionSerializer
    queryset = Execution.objects.none()  # for the schema; get_queryset scopes to the member

    def get_queryset(self) -> QuerySet[Execution]:
        return Execution.objects.filter(job__project=self.request.auth.project)


class OrderingKeyViewSet(viewsets.ViewSet):
    """The ordering keys of the key's project's jobs, with their queues; a stopped one is
    resumed with POST …/{key}/resume/ (a write key of a member or above)."""

    serializer_class = OrderingKeySerializer
    lookup_field = "key"
    lookup_value_regex = ORDERING_KEY.pattern.strip("^$")

    @extend_schema(responses=OrderingKeySerializer(many=True))
    def list(self, request: Request) -> Response:
        queues = ordering.queues(request.auth.project)
        return Response(OrderingKeySerializer(queues, many=True).data)

    @extend_schema(request=None, responses=OrderingKeySerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, key: str) -> Response:
        project = request.auth.project
        if not ordering.queues(project, key):
            raise exceptions.NotFound("No job of this project has this ordering key.")
        if resumed := ordering.resume(project, key):
            auditing.queue_resumed(resumed, api_actor(request))
        return Response(OrderingKeySerializer(ordering.queues(project, key)[0]).data)


class TestRunViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A test run of the key's project: `pending` until a worker has sent it, then `done`."""

    serializer_class = TestRunSerializer
    queryset = TestRun.objects.none()  # for the schema; get_queryset scopes to the key

    def get_queryset(self) -> QuerySet[TestRun]:
        return TestRun.objects.filter(project=self.request.auth.project)


class AuditViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The key's project's audit log, newest first (kept 90 days)."""

    serializer_class = AuditEntrySerializer
    queryset = AuditEntry.objects.none()  # for the schema; get_queryset scopes to the key

    def get_queryset(self) -> QuerySet[AuditEntry]:
        return AuditEntry.objects.filter(project=self.request.auth.project)


class TagBadgeViewSet(viewsets.ViewSet):
    """The badges of the key's project's tags, and rotating their addresses."""

    @extend_schema(responses=TagBadgesSerializer)
    def list(self, request: Request) -> Response:
        return Response({"tags": badges.tag_badge_urls(request.auth.project)})

    @extend_schema(
        request=None,
        responses=TagBadgesSerializer,
        description="Give every tag badge of the project a new address; the old ones answer "
        "404. Needs a write key of an admin or the owner.",
    )
    @action(detail=False, methods=["post"])
    def rotate(self, request: Request) -> Response:
        project = request.auth.project
        projects.require_role(projects.membership(request.user, project), Role.ADMIN)
        badges.rotate_tag_key(project, by=api_actor(request))
        return Response({"tags": badges.tag_badge_urls(project)})


class StatusPageViewSet(viewsets.ModelViewSet):
    """The key's project's status pages (another project's is a 404). Changing one needs a
    write key of a member or above."""

    serializer_class = StatusPageSerializer
    queryset = StatusPage.objects.none()  # for the schema; get_queryset scopes to the key
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[StatusPage]:
        return StatusPage.objects.filter(project=self.request.auth.project).prefetch_related(
            "entries"
        )

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.save(by=api_actor(self.request), project=self.request.auth.project)

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.save(by=api_actor(self.request))

    def perform_destroy(self, page: StatusPage) -> None:
        status_pages.delete(page, by=api_actor(self.request))


class SigningSecretView(APIView):
    """Create the key's project's signing secret, or rotate it: the previous one goes on
    signing for 24 hours. Needs a write key of an admin or the owner. The secret is in this
    answer only; nothing ever shows it again (so there is no GET)."""

    http_method_names = ["post", "options"]

    @extend_schema(request=None, responses={201: SigningSecretSerializer})
    def post(self, request: Request) -> Response:
        project = request.auth.project
        projects.require_role(projects.membership(request.user, project), Role.ADMIN)
        secret = projects.new_signing_secret(project, by=api_actor(request))
        response = Response({"secret": secret}, status=status.HTTP_201_CREATED)
        patch_cache_control(response, no_store=True)
        return response


def api_actor(request: Request) -> audit.Actor:
    return audit.Actor(user=request.user, via=audit.Via.API, key=request.auth)


def parse_bool(name: str, value: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise exceptions.ValidationError({name: ["Use true or false."]})


def parse_search(text: str) -> str:
    # PostgreSQL text cannot hold NUL: sent on, it is a database error (500), not "no match".
    if "\x00" in text:
        raise exceptions.ValidationError({"search": ["Search text cannot contain NUL characters."]})
    return text
