"""Prometheus metrics: HTTP metrics from litestar's plugin, plus job metrics read from the store.

The job metrics are counters the store keeps in the same transaction as each job status change and each
saved check (`service.store.metric_counters`), not counted in this process: jobs are run by worker processes
(possibly on other machines) and several API replicas may be scraped. A scrape reads them in one query, so
its cost does not grow with the number of jobs ever run. Two gauges depend on the clock and are read from the
jobs themselves (`service.store.queue_gauges`): one indexed aggregate each.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import SkipValidation
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from schemas.jobs import JobStatus
from service.routes.deps import StoreDep
from service.store.api import JobStore
from service.store.metric_counters import DURATION_BUCKETS, DurationHistogram, MetricCounters
from service.store.queue_gauges import QueueGauges

log = logging.getLogger(__name__)
PREFIX = "unlearn_audit"
JOB_STATUSES: tuple[JobStatus, ...] = ("queued", "running", "succeeded", "failed", "cancelled")
CHECK_DURATION_BUCKETS: tuple[float, ...] = DURATION_BUCKETS


def prometheus_config() -> PrometheusConfig:
    """HTTP metrics; paths grouped by route template so job ids do not explode the label set."""
    return PrometheusConfig(app_name=PREFIX, prefix=f"{PREFIX}_http", group_path=True)


@dataclass
class StoreSnapshot:
    """What the store said at the last scrape."""

    counters: MetricCounters = field(default_factory=MetricCounters)
    queue: QueueGauges = field(default_factory=QueueGauges)
    store_up: bool = True


def _histogram(
    name: str, doc: str, histograms: Mapping[str, DurationHistogram], label: str = "check"
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=[label])
    for value, histogram in sorted(histograms.items()):
        buckets = [(str(bound), float(n)) for bound, n in histogram.cumulative()]
        buckets.append(("+Inf", float(histogram.count)))
        family.add_metric([value], buckets, sum_value=histogram.sum)
    return family


class StoreCollector(Collector):
    """Exposes the latest StoreSnapshot as Prometheus metric families."""

    def __init__(self) -> None:
        self.snapshot = StoreSnapshot()

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        up = GaugeMetricFamily(f"{PREFIX}_store_up", "1 when the last scrape could read the job store.")
        up.add_metric([], 1.0 if snap.store_up else 0.0)
        yield up
        if not snap.store_up:  # no figures rather than zeros that look real
            return
        counters = snap.counters
        jobs = GaugeMetricFamily(f"{PREFIX}_jobs", "Evaluation jobs by status, from the store.", labels=["status"])
        for status in JOB_STATUSES:
            jobs.add_metric([status], float(counters.jobs_by_status.get(status, 0)))
        yield jobs
        oldest = GaugeMetricFamily(
            f"{PREFIX}_oldest_queued_job_age_seconds",
            "Seconds since the oldest queued job was submitted (0 when none is queued), from the store.",
        )
        oldest.add_metric([], snap.queue.oldest_queued_age_s)
        yield oldest
        expired = GaugeMetricFamily(
            f"{PREFIX}_expired_leases",
            "Running jobs whose lease has expired (their worker stopped heartbeating), from the store.",
        )
        expired.add_metric([], float(snap.queue.expired_leases))
        yield expired
        yield _histogram(
            f"{PREFIX}_check_duration_seconds",
            "Durations of finished checks, from the store.",
            counters.check_durations,
        )
        yield _histogram(
            f"{PREFIX}_job_duration_seconds",
            "Durations of finished jobs from first start to end, by final status, from the store.",
            counters.job_durations,
            label="status",
        )
        items = CounterMetricFamily(
            f"{PREFIX}_items_scored", "Per-item records scored by finished checks, by check.", labels=["check"]
        )
        for check, count in sorted(counters.items_scored.items()):
            items.add_metric([check], float(count))
        yield items


class StoreMetrics:
    """A per-app registry holding the store collector (the HTTP metrics live in the global REGISTRY)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = StoreCollector()
        self.registry.register(self.collector)

    async def refresh(self, store: JobStore) -> None:
        """Read the store once. A store that cannot be read gives `store_up 0` (the HTTP metrics are still served)."""
        try:
            snapshot = StoreSnapshot(counters=await store.read_metrics(), queue=await store.read_queue_gauges())
        except Exception as exc:  # any database failure; the scrape itself must not fail
            log.warning("metrics: cannot read the job store: %s", exc)
            snapshot = StoreSnapshot(store_up=False)
        self.collector.snapshot = snapshot

    def exposition(self) -> bytes:
        return generate_latest(REGISTRY) + generate_latest(self.registry)


@get(
    "/metrics",
    summary="Prometheus metrics",
    description="The text exposition format: HTTP metrics by route template, and job metrics read from the store.",
    media_type=MediaType.TEXT,
)
async def metrics_endpoint(
    store: StoreDep, store_metrics: NamedDependency[SkipValidation[StoreMetrics]]
) -> Response[bytes]:
    """Prometheus text exposition: HTTP metrics and job metrics."""
    await store_metrics.refresh(store)
    # Set as a header: as `media_type`, Litestar would add a second `charset` to the one it carries.
    return Response(store_metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})
