"""A job that kills its worker process is dead-lettered after max_retries + 1 deliveries."""

from __future__ import annotations

import subprocess
import sys

import pytest
import redis

from redisaq import SyncDeadLetters, SyncProducer

WORKER = """
import asyncio, os, sys
from redisaq import Consumer, SyncConsumer

flavor, url, prefix, max_retries = sys.argv[1:5]
options = dict(prefix=prefix, redis_url=url, consumer_id="worker", max_retries=int(max_retries),
               heartbeat_interval=0.1, heartbeat_ttl=1.0, block_timeout=0.1,
               dead_letter=prefix + ":dead_letter")

def handle(job):
    if job.payload.get("poison"):
        os._exit(3)  # dies like an OOM kill or a segfault would: no except, no finally
    if job.payload.get("last"):
        consumer.request_stop()

async def ahandle(job):
    handle(job)

if flavor == "sync":
    consumer = SyncConsumer("jobs", process_job=handle, **options)
    consumer.consume()
else:
    consumer = Consumer("jobs", process_job=ahandle, **options)
    asyncio.run(consumer.consume())
"""


def run_until_clean_exit(flavor: str, redis_url: str, prefix: str, max_retries: int) -> list[int]:
    """Start worker processes one after the other until one exits 0; their exit codes."""
    codes: list[int] = []
    for _ in range(4):
        run = subprocess.run(
            [sys.executable, "-c", WORKER, flavor, redis_url, prefix, str(max_retries)],
            timeout=30,
            capture_output=True,
        )
        codes.append(run.returncode)
        if run.returncode == 0:
            break
    return codes


def assert_only_poison_dead_lettered(redis_url: str, prefix: str, poison: str) -> None:
    """The poison job alone was dead-lettered, unrun on its third delivery; none pending."""
    with SyncDeadLetters(prefix=prefix, redis_url=redis_url) as dead:
        [letter] = dead.list()
    assert (letter.job_id, letter.error_type, letter.attempts) == (
        poison,
        "DeliveryLimitExceeded",
        3,
    )
    client = redis.Redis.from_url(redis_url)
    assert client.xpending(f"{prefix}:jobs:0", "default")["pending"] == 0
    client.close()


@pytest.mark.parametrize("flavor", ["async", "sync"])
def test_poison_job_is_dead_lettered_not_redelivered_forever(
    redis_url: str, prefix: str, flavor: str
) -> None:
    producer = SyncProducer("jobs", prefix=prefix, redis_url=redis_url)
    poison = producer.enqueue({"poison": True})
    producer.enqueue({"last": True})
    codes = run_until_clean_exit(flavor, redis_url, prefix, max_retries=1)
    # Delivery 1 and 2 (max_retries=1) kill the worker; delivery 3 is dead-lettered unrun,
    # then the good job runs and the worker stops cleanly.
    assert codes == [3, 3, 0]
    assert_only_poison_dead_lettered(redis_url, prefix, poison)
    producer.close()


@pytest.mark.parametrize("flavor", ["async", "sync"])
def test_jobs_read_with_a_poison_job_are_not_dead_lettered_with_it(
    redis_url: str, prefix: str, flavor: str
) -> None:
    """max_retries=0; one batch read holds a good job, the poison job and a good job."""
    producer = SyncProducer("jobs", prefix=prefix, redis_url=redis_url)
    _, poison, _ = producer.batch_enqueue([{"i": 0}, {"poison": True}, {"i": 2, "last": True}])
    codes = run_until_clean_exit(flavor, redis_url, prefix, max_retries=0)
    # Worker 1 runs job 0 and dies on the poison job before acknowledging the batch.
    # Worker 2 runs job 0 again and the poison job once more (its first delivery came in
    # a read that a crash could have cut short before it started); worker 3 dead-letters
    # it unrun and runs the last job.
    assert codes == [3, 3, 0]
    assert_only_poison_dead_lettered(redis_url, prefix, poison)
    producer.close()
