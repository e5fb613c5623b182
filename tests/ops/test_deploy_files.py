"""deploy/: the Grafana dashboard and the Prometheus alert rules parse, and every metric,
label and label value they ask for is one /metrics really serves; docs/OPERATIONS.md
describes the same metrics and alerts."""

import json
import re
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.conf import settings as django_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from alerts import delivery
from jobs.engine import tasks, tick
from jobs.models import Job
from ops.models import Heartbeat
from tests.conftest import make_job
from tests.ops.test_metrics import TOKEN, fetch, run_manually

BASE_DIR = Path(django_settings.BASE_DIR)
DASHBOARD = BASE_DIR / "deploy" / "grafana-dashboard.json"
ALERTS = BASE_DIR / "deploy" / "prometheus-alerts.yml"
OPERATIONS = BASE_DIR / "docs" / "OPERATIONS.md"
METRIC_NAME = re.compile(r"cronsvc_[a-z_]+")
# A metric name and the {matchers} written right after it, if any.
SELECTOR = re.compile(r"(cronsvc_[a-z_]+)(?:\{([^}]*)\})?")
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def alert_rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]


def all_exprs() -> list[str]:
    return dashboard_exprs() + [rule["expr"] for rule in alert_rules()]


def family_name(name: str) -> str:
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


class Served:
    """What one scrape holds: sample names, and each sample name's label values."""

    def __init__(self, text: str) -> None:
        self.families = {family.name: family for family in text_string_to_metric_families(text)}
        self.labels: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for family in self.families.values():
            for sample in family.samples:
                # Looked up first, so a sample without labels is recorded too.
                labels = self.labels[sample.name]
                for label, value in sample.labels.items():
                    labels[label].add(value)

    def has(self, name: str) -> bool:
        """Served with samples: as itself, or as a histogram's _count."""
        return name in self.labels or name + "_count" in self.labels

    def label_values(self, name: str, label: str) -> set[str]:
        names = [name] if name in self.labels else [name + s for s in HISTOGRAM_SUFFIXES]
        return {value for n in names for value in self.labels[n].get(label, set())}

    def family_of(self, name: str):
        """The family a sample name belongs to (counters drop _total from the family name)."""
        for family in self.families.values():
            if any(sample.name == name for sample in family.samples) or family.name == name:
                return family
        return None


@pytest.fixture
def served(alice, target, private_targets, settings, monkeypatch, tmp_path, closed_port) -> Served:
    """A scrape after one of everything the metrics count, so every label value exists."""
    settings.METRICS_TOKEN = TOKEN
    run_manually(
        make_job(alice, url=target.url("/ok")), make_job(alice, url=target.url("/status/500"))
    )
    Job.objects.update(next_run_at=timezone.now())
    assert tick.tick() == 2
    # The failure email cannot go out: `emails_total{result="failed"}`.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 5
    assert delivery.deliver_pending().failed == 1
    tasks.recover()  # the sweep, under its lease
    Heartbeat.record("beat", timezone.now())
    # A worker whose circuit to a dead host is open, as its heartbeat publishes it.
    dead_host = {
        "host": "198.51.100.7:443",
        "since": timezone.now().isoformat(),
        "until": (timezone.now() + timedelta(seconds=30)).isoformat(),
        "failures": 20,
    }
    Heartbeat.record("worker:celery@host-1", timezone.now(), open_circuits=[dead_host])
    return Served(fetch(monkeypatch, tmp_path))


def test_the_dashboard_parses_and_every_panel_queries_prometheus():
    dashboard = json.loads(DASHBOARD.read_text())

    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        assert all(METRIC_NAME.search(target["expr"]) for target in panel["targets"])
        assert len({target["refId"] for target in panel["targets"]}) == len(panel["targets"])
    (variable,) = dashboard["templating"]["list"]
    assert (variable["name"], variable["query"]) == ("datasource", "prometheus")


def test_each_alert_rule_has_an_expression_labels_and_annotations():
    rules = alert_rules()

    assert rules
    assert len({rule["alert"] for rule in rules}) == len(rules)
    for rule in rules:
        assert rule["alert"].startswith("Cronsvc")
        assert METRIC_NAME.search(rule["expr"]), rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_every_metric_the_deploy_files_use_is_served(served):
    used = {family_name(name) for expr in all_exprs() for name in METRIC_NAME.findall(expr)}

    assert used
    assert sorted(name for name in used if not served.has(name)) == []


def test_every_label_and_value_the_deploy_files_select_on_is_served(served):
    for expr in all_exprs():
        names = [name for name, _ in SELECTOR.findall(expr)]
        for name, matchers in SELECTOR.findall(expr):
            for label, operator, wanted in MATCHER.findall(matchers):
                values = served.label_values(name, label)
                assert values, f"{name} has no label {label!r}: {expr}"
                if operator in ("=", "!="):
                    assert wanted in values, f"{name}{{{label}={wanted!r}}} never served: {expr}"
        for grouping in GROUPING.findall(expr):
            for label in filter(None, (part.strip() for part in grouping.split(","))):
                assert any(served.label_values(name, label) for name in names), (label, expr)


def documented_metrics() -> list[tuple[str, set[str], str]]:
    """The metric table of docs/OPERATIONS.md: name, labels and type of each row."""
    rows = re.findall(
        r"^\| `(cronsvc_[a-z_]+)(?:\{([^}]*)\})?` \| (counter|gauge|histogram) \|",
        OPERATIONS.read_text(),
        re.MULTILINE,
    )
    return [
        (name, {label.strip() for label in labels.split(",") if label.strip()}, kind)
        for name, labels, kind in rows
    ]


def test_the_runbook_documents_the_metrics_served(served):
    documented = documented_metrics()

    assert len(documented) == 14
    for name, labels, kind in documented:
        family = served.family_of(name)
        assert family is not None, name
        assert family.type == kind, name
        served_labels = {
            label
            for sample in family.samples
            for label in sample.labels
            if label != "le"  # a histogram's buckets
        }
        assert served_labels == labels, name
    families = {name for name, _, _ in documented}
    undocumented = {
        family.name
        for family in served.families.values()
        if family.name.startswith("cronsvc_")
        and not {family.name, family.name + "_total"} & families
    }
    assert undocumented == set()


def test_the_runbook_explains_every_alert():
    documented = set(re.findall(r"^\| `(Cronsvc\w+)` \|", OPERATIONS.read_text(), re.MULTILINE))

    assert documented == {rule["alert"] for rule in alert_rules()}
