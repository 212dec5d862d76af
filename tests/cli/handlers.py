"""Handlers that the CLI tests run in ``redisaq worker`` subprocesses.

Each records what it did in Redis lists named by the job payload, so the test can see it:
``started`` gets the job id when the handler begins, ``out`` when it is done; ``sleep``
makes it take that long. Redis is at $REDISAQ_TEST_URL (set by the tests).
"""

from __future__ import annotations

import asyncio
import os
import time

import redis
import redis.asyncio

from redisaq import Job

NOT_CALLABLE = 42


def _url() -> str:
    return os.environ.get("REDISAQ_TEST_URL", "redis://127.0.0.1:6379/0")


async def record_async(job: Job) -> None:
    client = redis.asyncio.Redis.from_url(_url())
    try:
        if "started" in job.payload:
            await client.rpush(job.payload["started"], job.id)
        await asyncio.sleep(float(job.payload.get("sleep", 0)))
        await client.rpush(job.payload["out"], job.id)
    finally:
        await client.aclose()


def _record(client: redis.Redis, job: Job) -> None:
    if "started" in job.payload:
        client.rpush(job.payload["started"], job.id)
    time.sleep(float(job.payload.get("sleep", 0)))
    client.rpush(job.payload["out"], job.id)


def record_sync(job: Job) -> None:
    with redis.Redis.from_url(_url()) as client:
        _record(client, job)


def record_batch_sync(jobs: list[Job]) -> None:
    with redis.Redis.from_url(_url()) as client:
        for job in jobs:
            _record(client, job)


def fail_unless_allowed(job: Job) -> None:
    """Raises until the key named by ``payload["allow"]`` exists; then records the job."""
    with redis.Redis.from_url(_url()) as client:
        if not client.exists(job.payload["allow"]):
            raise RuntimeError(f"job {job.payload['n']} is not allowed yet")
        client.rpush(job.payload["out"], job.id)
