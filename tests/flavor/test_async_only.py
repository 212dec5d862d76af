"""Behaviour only the asyncio flavor has: cancellation, stop() from inside a handler."""

from __future__ import annotations

import asyncio
import contextlib

from redisaq import Consumer, Job, Producer

FAST = {"heartbeat_interval": 0.1, "heartbeat_ttl": 1.0, "block_timeout": 0.1}


async def test_cancelled_consume_finishes_in_flight_job_and_leaves(
    redis_url: str, prefix: str
) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[int] = []

    async def handler(job: Job) -> None:
        started.set()
        await release.wait()
        finished.append(job.payload["i"])

    producer = Producer("jobs", prefix=prefix, redis_url=redis_url)
    await producer.enqueue({"i": 1})
    consumer = Consumer("jobs", prefix=prefix, redis_url=redis_url, process_job=handler, **FAST)  # type: ignore[arg-type]
    task = asyncio.create_task(consumer.consume())
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    await asyncio.sleep(0.05)
    assert not task.done()  # it waits for the job in flight
    release.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    assert finished == [1]
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(redis_url)
    assert (await client.xpending(f"{prefix}:jobs:0", "default"))["pending"] == 0
    assert await client.zcard(f"{prefix}:{{jobs:default}}:members") == 0
    await client.aclose()
    await producer.close()


async def test_stop_from_inside_a_handler(redis_url: str, prefix: str) -> None:
    seen: list[int] = []

    async def handler(job: Job) -> None:
        seen.append(job.payload["i"])
        await consumer.stop()

    producer = Producer("jobs", prefix=prefix, redis_url=redis_url)
    await producer.enqueue({"i": 1})
    consumer = Consumer("jobs", prefix=prefix, redis_url=redis_url, process_job=handler, **FAST)  # type: ignore[arg-type]
    await asyncio.wait_for(consumer.consume(), 10)
    assert seen == [1]
    await producer.close()
