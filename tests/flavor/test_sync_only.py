"""Behaviour only the blocking flavor has: threads and signals."""

from __future__ import annotations

import os
import signal
import threading
import time

from redisaq import Job, SyncConsumer, SyncProducer

FAST = {"heartbeat_interval": 0.1, "heartbeat_ttl": 1.0, "block_timeout": 0.1}


def test_stop_from_another_thread_and_a_signal_handler(redis_url: str, prefix: str) -> None:
    handled: list[int] = []

    def handler(job: Job) -> None:
        handled.append(job.payload["i"])

    producer = SyncProducer("jobs", prefix=prefix, redis_url=redis_url)
    producer.batch_enqueue([{"i": i} for i in range(3)])
    consumer = SyncConsumer("jobs", prefix=prefix, redis_url=redis_url, process_job=handler, **FAST)  # type: ignore[arg-type]
    threading.Timer(1.0, consumer.stop).start()
    started = time.monotonic()
    consumer.consume()
    assert time.monotonic() - started < 5
    assert handled == [0, 1, 2]

    second = SyncConsumer("jobs", prefix=prefix, redis_url=redis_url, process_job=handler, **FAST)  # type: ignore[arg-type]
    previous = signal.signal(signal.SIGUSR1, lambda *_: second.request_stop())
    try:
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        second.consume()
    finally:
        signal.signal(signal.SIGUSR1, previous)
    producer.close()


def test_slow_handler_keeps_its_membership(redis_url: str, prefix: str) -> None:
    """Heartbeats run in a background thread: a handler longer than the TTL keeps its lease."""
    done: list[int] = []

    def handler(job: Job) -> None:
        time.sleep(2.5)  # longer than heartbeat_ttl (1 s)
        done.append(job.payload["i"])
        consumer.stop()

    producer = SyncProducer("jobs", prefix=prefix, redis_url=redis_url)
    producer.enqueue({"i": 1})
    consumer = SyncConsumer("jobs", prefix=prefix, redis_url=redis_url, process_job=handler, **FAST)  # type: ignore[arg-type]
    consumer.consume()
    assert done == [1]
    import redis

    client = redis.Redis.from_url(redis_url)
    assert client.xpending(f"{prefix}:jobs:0", "default")["pending"] == 0
    client.close()
    producer.close()
