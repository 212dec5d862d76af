"""Prometheus metrics for consumers: ``pip install 'redisaq[prometheus]'``.

from prometheus_client import start_http_server
from redisaq.prometheus import PrometheusHooks

consumer = Consumer("orders", group="shipping", process_job=handle,
                    hooks=[PrometheusHooks(topic="orders", group="shipping")])
start_http_server(9100)
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from ._metrics import ConsumerHooks
from ._models import Job


class PrometheusHooks(ConsumerHooks):
    """Exports redisaq_jobs_* counters, a handler-time histogram, lag and owned partitions.

    Create one per process and registry: metric names can be registered only once.
    """

    def __init__(
        self,
        *,
        topic: str,
        group: str,
        registry: CollectorRegistry = REGISTRY,
        namespace: str = "redisaq",
    ) -> None:
        self._labels = {"topic": topic, "group": group}
        names = ["topic", "group"]

        def counter(name: str, doc: str) -> Counter:
            return Counter(name, doc, names, namespace=namespace, registry=registry)

        self._handled = counter("jobs_handled", "Jobs whose handler returned")
        self._failed = counter("jobs_failed", "Handler calls that raised")
        self._retried = counter("jobs_retried", "Failed jobs that will run again")
        self._dead = counter("jobs_dead_lettered", "Entries sent to the dead-letter stream")
        self._rebalances = counter("rebalances", "Changes of the owned partition set")
        self._seconds = Histogram(
            "handler_seconds", "Handler time per job", names, namespace=namespace, registry=registry
        )
        self._lag = Gauge(
            "lag",
            "Entries not yet delivered to the group",
            [*names, "partition"],
            namespace=namespace,
            registry=registry,
        )
        self._owned = Gauge(
            "owned_partitions",
            "Partitions this consumer owns",
            names,
            namespace=namespace,
            registry=registry,
        )

    def on_handled(self, job: Job, seconds: float) -> None:
        self._handled.labels(**self._labels).inc()
        self._seconds.labels(**self._labels).observe(seconds)

    def on_failed(self, job: Job, error: Exception, retrying: bool) -> None:
        self._failed.labels(**self._labels).inc()
        if retrying:
            self._retried.labels(**self._labels).inc()

    def on_dead_letter(self, partition: int, job_id: str, error_type: str) -> None:
        self._dead.labels(**self._labels).inc()

    def on_rebalance(self, partitions: Sequence[int]) -> None:
        self._rebalances.labels(**self._labels).inc()
        self._owned.labels(**self._labels).set(len(partitions))

    def on_lag(self, partition: int, lag: int) -> None:
        self._lag.labels(**self._labels, partition=str(partition)).set(lag)
