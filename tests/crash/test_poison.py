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

flavor, url, prefix = sys.argv[1:4]
options = dict(prefix=prefix, redis_url=url, consumer_id="worker", max_retries=1,
               heartbeat_interval=0.1, heartbeat_ttl=1.0, block_timeout=0.1,
               dead_letter=prefix + ":dead_letter")

def handle(job):
    if job.payload.get("poison"):
        os._exit(3)  # dies like an OOM kill or a segfault would: no except, no finally
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


@pytest.mark.parametrize("flavor", ["async", "sync"])
def test_poison_job_is_dead_lettered_not_redelivered_forever(
    redis_url: str, prefix: str, flavor: str
) -> None:
    producer = SyncProducer("jobs", prefix=prefix, redis_url=redis_url)
    poison = producer.enqueue({"poison": True})
    producer.enqueue({"poison": False})
    codes = []
    for _ in range(4):
        run = subprocess.run(
            [sys.executable, "-c", WORKER, flavor, redis_url, prefix],
            timeout=60,
            capture_output=True,
        )
        codes.append(run.returncode)
        if run.returncode == 0:
            break
    # Delivery 1 and 2 (max_retries=1) kill the worker; delivery 3 is dead-lettered unrun,
    # then the good job runs and the worker stops cleanly.
    assert codes == [3, 3, 0]
    with SyncDeadLetters(
        stream=f"{prefix}:dead_letter", prefix=prefix, redis_url=redis_url
    ) as dead:
        [letter] = dead.list()
    assert (letter.job_id, letter.error_type, letter.attempts) == (
        poison,
        "DeliveryLimitExceeded",
        3,
    )
    client = redis.Redis.from_url(redis_url)
    assert client.xpending(f"{prefix}:jobs:0", "default")["pending"] == 0
    client.close()
    producer.close()
