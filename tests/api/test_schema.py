"""The OpenAPI schema (/api/v1/schema/) and its docs page (/api/v1/docs/), served offline."""

import re
from html.parser import HTMLParser
from io import StringIO

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

SCHEMA = "/api/v1/schema/"
DOCS = "/api/v1/docs/"

CONTRACT = {
    ("get", "/api/v1/jobs/"),
    ("post", "/api/v1/jobs/"),
    ("get", "/api/v1/jobs/{id}/"),
    ("patch", "/api/v1/jobs/{id}/"),
    ("delete", "/api/v1/jobs/{id}/"),
    ("post", "/api/v1/jobs/{id}/run/"),
    ("post", "/api/v1/jobs/{id}/pause/"),
    ("post", "/api/v1/jobs/{id}/resume/"),
    ("get", "/api/v1/jobs/{id}/executions/"),
    ("get", "/api/v1/executions/{id}/"),
    ("get", "/api/v1/audit/"),
    ("get", "/api/v1/ordering-keys/"),
    ("post", "/api/v1/ordering-keys/{key}/resume/"),
    ("post", "/api/v1/jobs/test-run/"),
    ("post", "/api/v1/jobs/{id}/test-run/"),
    ("get", "/api/v1/test-runs/{id}/"),
    ("post", "/api/v1/signing-secret/"),
    ("get", "/api/v1/channels/"),
    ("post", "/api/v1/channels/"),
    ("get", "/api/v1/channels/{id}/"),
    ("patch", "/api/v1/channels/{id}/"),
    ("delete", "/api/v1/channels/{id}/"),
    ("post", "/api/v1/channels/{id}/test/"),
    ("get", "/api/v1/maintenance-windows/"),
    ("post", "/api/v1/maintenance-windows/"),
    ("get", "/api/v1/maintenance-windows/{id}/"),
    ("patch", "/api/v1/maintenance-windows/{id}/"),
    ("delete", "/api/v1/maintenance-windows/{id}/"),
    ("post", "/api/v1/jobs/bulk/"),
    ("get", "/api/v1/jobs/export/"),
    ("post", "/api/v1/jobs/import/"),
    ("post", "/api/v1/jobs/{id}/rotate-badge/"),
    ("get", "/api/v1/tag-badges/"),
    ("post", "/api/v1/tag-badges/rotate/"),
    ("get", "/api/v1/status-pages/"),
    ("post", "/api/v1/status-pages/"),
    ("get", "/api/v1/status-pages/{id}/"),
    ("patch", "/api/v1/status-pages/{id}/"),
    ("delete", "/api/v1/status-pages/{id}/"),
}
pytestmark = pytest.mark.usefixtures("fresh_limits")


@pytest.fixture
def schema(client, db) -> dict:
    response = client.get(SCHEMA)
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def operations(schema: dict) -> set[tuple[str, str]]:
    return {(method, path) for path, item in schema["paths"].items() for method in item}


def test_the_schema_is_served_without_a_key(client, db):
    response = client.get(SCHEMA)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")


def test_the_served_schema_is_valid_openapi(schema):
    validate_schema(schema)  # raises on an invalid document


def test_the_schema_generates_without_warnings(db):
    out = StringIO()

    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)

    assert yaml.safe_load(out.getvalue())["info"]["title"] == "cronsvc API"


def test_every_operation_of_the_contract_is_described(schema):
    assert operations(schema) == CONTRACT


def test_list_filters_are_described_on_the_list_only(schema):
    def query_parameters(method: str, path: str) -> set[str]:
        parameters = schema["paths"][path][method].get("parameters", [])
        return {parameter["name"] for parameter in parameters if parameter["in"] == "query"}

    assert query_parameters("get", "/api/v1/jobs/") == {"enabled", "search", "tag", "page"}
    for method, path in CONTRACT - {("get", "/api/v1/jobs/")}:
        assert not query_parameters(method, path) & {"enabled", "search", "tag"}, (method, path)


def test_every_operation_asks_for_a_bearer_key(schema):
    assert schema["components"]["securitySchemes"]["apiKey"]["type"] == "http"
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    for method, path in CONTRACT:
        assert schema["paths"][path][method]["security"] == [{"apiKey": []}], (method, path)


def test_the_password_is_write_only_and_next_runs_are_times(schema):
    job = schema["components"]["schemas"]["Job"]["properties"]

    assert job["auth_password"]["writeOnly"] is True
    assert job["auth_password_set"]["readOnly"] is True
    assert job["next_runs"]["readOnly"] is True
    assert job["next_runs"]["items"] == {"type": "string", "format": "date-time"}


def test_run_now_answers_202_with_an_execution(schema):
    responses = schema["paths"]["/api/v1/jobs/{id}/run/"]["post"]["responses"]

    assert responses["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Execution"
    }


@pytest.mark.parametrize("path", ["/api/v1/jobs/test-run/", "/api/v1/jobs/{id}/test-run/"])
def test_a_test_run_answers_202_with_where_to_poll(schema, path):
    operation = schema["paths"][path]["post"]

    assert operation["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TestRunStarted"
    }
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"] in (
        "#/components/schemas/Job",
        "#/components/schemas/PatchedJob",
    )
    started = schema["components"]["schemas"]["TestRunStarted"]["properties"]
    assert set(started) == {"id", "status", "url"}


def test_a_test_run_reads_as_its_status_and_result(schema):
    response = schema["paths"]["/api/v1/test-runs/{id}/"]["get"]["responses"]["200"]
    test_run = schema["components"]["schemas"]["TestRun"]["properties"]

    assert response["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TestRun"
    }
    assert schema["components"]["schemas"]["TestRunStatusEnum"]["enum"] == ["pending", "done"]
    assert {"status", "succeeded", "http_status", "response_body", "error"} <= set(test_run)


class Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.urls.append(attributes["src"])
        if tag == "link" and attributes.get("href"):
            self.urls.append(attributes["href"])


def test_the_docs_page_loads_nothing_from_other_hosts(client, db):
    response = client.get(DOCS)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assets = Assets()
    assets.feed(page)
    assert len(assets.urls) >= 3  # swagger-ui's script, preset and stylesheet
    # Its start-up script comes from the page's own address (no inline script).
    assets.urls.remove(f"{DOCS}?script=")
    for url in assets.urls:
        assert url.startswith("/static/"), url
        # Served from this machine's static files (the drf-spectacular-sidecar package).
        assert finders.find(url.removeprefix("/static/")), url
    assert not re.findall(r"https?://", page)
