"""The optional Prometheus exporter (redisaq[prometheus])."""

from __future__ import annotations

import threading
import time

from prometheus_client import CollectorRegistry

from redisaq import Job, Reject, SyncConsumer, SyncProducer
from redisaq.prometheus import PrometheusHooks


def test_prometheus_hooks_export_counters(redis_url: str, prefix: str) -> None:
    registry = CollectorRegistry()
    hooks = PrometheusHooks(topic="jobs", group="g", registry=registry)

    def handler(job: Job) -> None:
        if job.payload["i"] == 0:
            raise Reject("no")

    producer = SyncProducer("jobs", prefix=prefix, redis_url=redis_url)
    producer.batch_enqueue([{"i": i} for i in range(3)])
    consumer = SyncConsumer(
        "jobs",
        group="g",
        prefix=prefix,
        redis_url=redis_url,
        process_job=handler,
        hooks=[hooks],
        dead_letter=f"{prefix}:dead_letter",
        heartbeat_interval=0.1,
        heartbeat_ttl=1.0,
        block_timeout=0.1,
    )
    thread = threading.Thread(target=consumer.consume)
    thread.start()
    labels = {"topic": "jobs", "group": "g"}
    try:
        deadline = time.monotonic() + 10
        while registry.get_sample_value("redisaq_jobs_handled_total", labels) != 2.0:
            assert time.monotonic() < deadline, "jobs were not counted"
            time.sleep(0.01)
        assert registry.get_sample_value("redisaq_jobs_dead_lettered_total", labels) == 1.0
        assert registry.get_sample_value("redisaq_jobs_failed_total", labels) == 1.0
        assert registry.get_sample_value("redisaq_owned_partitions", labels) == 1.0
        assert registry.get_sample_value("redisaq_handler_seconds_count", labels) == 2.0
    finally:
        consumer.stop()
        thread.join(10)
        producer.close()
