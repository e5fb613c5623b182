"""Prometheus metrics. Counters and histograms are written by every process (web,
beat, workers) into PROMETHEUS_MULTIPROC_DIR and summed at scrape time; gauges about
the state of things are read from the database when /metrics is scraped."""

import collections
import os
import socket
from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from jobs.models import Execution, Job
from ops.models import Heartbeat, open_circuits, stale_after

# prometheus_client names each process's files by pid, but containers sharing the
# directory (docker-compose's metrics volume) each run their main process as pid 1:
# beat, every worker and web would write into the same counter_1.db and corrupt it.
# The hostname (a container's id) keeps them apart; "_" would break the file-name parsing.
HOSTNAME = socket.gethostname().replace("_", "-")


def process_identifier() -> str:
    # Called again on every write, so a forked child (gunicorn) gets files of its own.
    return f"{HOSTNAME}-{os.getpid()}"


if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # set by settings; before any metric exists
    values.ValueClass = values.MultiProcessValue(process_identifier)

LATENESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)

EXECUTIONS = Counter(
    "cronsvc_executions_total",
    "Finished executions by status and failure reason.",
    ["status", "reason"],
)
LATENESS = Histogram(
    "cronsvc_execution_lateness_seconds",
    "From the scheduled second to the request leaving.",
    buckets=LATENESS_BUCKETS,
)
DURATION = Histogram(
    "cronsvc_execution_duration_seconds",
    "How long the target took to answer.",
    buckets=DURATION_BUCKETS,
)
DISPATCH_TICK = Histogram("cronsvc_dispatch_tick_seconds", "How long one dispatch tick took.")
DISPATCH_CLAIMED = Counter("cronsvc_dispatch_claimed_total", "Due jobs claimed by dispatch ticks.")
EMAILS = Counter(
    "cronsvc_emails_total", "Notification emails by result (sent, failed).", ["result"]
)
LEASES = Counter(
    "cronsvc_leases_total",
    "Single-flight system tasks that arrived, by lease and outcome: taken (it ran) or held "
    "(it ran already this interval, sent by another beat).",
    ["lease", "outcome"],
)
RECOVERY_ACTIONS = Counter(
    "cronsvc_recovery_actions_total", "Recovery sweep actions (requeued, abandoned).", ["action"]
)


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time (the source of truth)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        states = GaugeMetricFamily(
            "cronsvc_executions_by_state",
            "Executions scheduled in the last hour, by state.",
            labels=["state"],
        )
        counts = dict(
            Execution.objects.filter(scheduled_for__gte=now - timedelta(hours=1))
            .values_list("status")
            .annotate(n=Count("id"))
        )
        for state in Execution.Status.values:
            states.add_metric([state], counts.get(state, 0))
        yield states
        yield GaugeMetricFamily(
            "cronsvc_jobs_enabled", "Enabled jobs.", value=Job.objects.filter(enabled=True).count()
        )
        yield GaugeMetricFamily(
            "cronsvc_jobs_stale",
            "Enabled jobs whose next run is more than 2 minutes in the past.",
            value=Job.objects.stale(now).count(),
        )
        heartbeats = GaugeMetricFamily(
            "cronsvc_heartbeat_age_seconds",
            "Seconds since each process last proved alive.",
            labels=["process"],
        )
        stale = GaugeMetricFamily(
            "cronsvc_process_stale",
            "1 for a process taken for dead (its heartbeat is too old), else 0.",
            labels=["process"],
        )
        for heartbeat in Heartbeat.objects.all():
            age = now - heartbeat.seen_at
            heartbeats.add_metric([heartbeat.process], age.total_seconds())
            stale.add_metric([heartbeat.process], int(age > stale_after()))
        yield heartbeats
        yield stale
        circuits = GaugeMetricFamily(
            "cronsvc_open_circuits",
            "Live worker processes whose circuit to a host is open (requests fail at once).",
            labels=["host"],
        )
        hosts = collections.Counter(circuit["host"] for circuit in open_circuits(now))
        for host, processes in hosts.items():
            circuits.add_metric([host], processes)
        yield circuits


def registry() -> CollectorRegistry:
    scrape = CollectorRegistry()
    multiprocess.MultiProcessCollector(scrape)
    scrape.register(DatabaseCollector())
    return scrape
