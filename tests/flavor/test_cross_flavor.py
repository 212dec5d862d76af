"""The two flavors share one wire format and one group protocol."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime, timezone

import redis

from redisaq import (
    Consumer,
    DeadLetters,
    Job,
    Producer,
    SyncConsumer,
    SyncDeadLetters,
    SyncProducer,
)
from redisaq._models import StreamEntry, dead_letter_fields, encode_entry

FAST = {"heartbeat_interval": 0.1, "heartbeat_ttl": 1.0, "block_timeout": 0.1}


def wait(condition: object, timeout: float = 15.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {condition}"
        time.sleep(0.01)


async def test_sync_and_async_consumers_share_a_group(redis_url: str, prefix: str) -> None:
    handled: list[tuple[str, int, int]] = []
    lock = threading.Lock()

    async def async_handler(job: Job) -> None:
        with lock:
            handled.append(("async", job.partition, job.payload["i"]))

    def sync_handler(job: Job) -> None:
        with lock:
            handled.append(("sync", job.partition, job.payload["i"]))

    common = {"prefix": prefix, "redis_url": redis_url, "group": "mixed", **FAST}
    a = Consumer("jobs", consumer_id="a", process_job=async_handler, **common)  # type: ignore[arg-type]
    b = SyncConsumer("jobs", consumer_id="b", process_job=sync_handler, **common)  # type: ignore[arg-type]
    async_producer = Producer("jobs", prefix=prefix, redis_url=redis_url, partitions=4)
    sync_producer = SyncProducer("jobs", prefix=prefix, redis_url=redis_url)
    assert await async_producer.num_partitions() == 4
    a_task = asyncio.create_task(a.consume())
    b_thread = threading.Thread(target=b.consume)
    b_thread.start()
    try:
        for _ in range(1500):
            if a.partitions == [0, 2] and b.partitions == [1, 3]:
                break
            await asyncio.sleep(0.01)
        assert (a.partitions, b.partitions) == ([0, 2], [1, 3])
        await async_producer.batch_enqueue([{"i": i} for i in range(20)])
        await asyncio.to_thread(sync_producer.batch_enqueue, [{"i": i} for i in range(20, 40)])
        for _ in range(1500):
            if len(handled) >= 40:
                break
            await asyncio.sleep(0.01)
        assert sorted(i for _, _, i in handled) == list(range(40))
        assert {(flavor, p % 2) for flavor, p, _ in handled} == {("async", 0), ("sync", 1)}
        await async_producer.close()
        sync_producer.close()
    finally:
        await a.stop()
        b.stop()
        await asyncio.wait_for(a_task, 10)
        await asyncio.to_thread(b_thread.join, 10)
    assert not b_thread.is_alive()


async def test_partition_key_maps_identically_in_both_flavors(redis_url: str, prefix: str) -> None:
    async_producer = Producer("keys", prefix=prefix, redis_url=redis_url, partitions=5)
    sync_producer = SyncProducer("keys", prefix=prefix, redis_url=redis_url, partitions=5)
    users = [{"user": f"u{n}"} for n in range(20)]
    await async_producer.batch_enqueue(users, partition_key="user")
    await asyncio.to_thread(sync_producer.batch_enqueue, users, partition_key="user")
    client = redis.Redis.from_url(redis_url)
    for p in range(5):
        payloads = [fields[b"payload"] for _, fields in client.xrange(f"{prefix}:keys:{p}")]  # type: ignore[union-attr,index]
        half = len(payloads) // 2
        assert payloads[:half] == payloads[half:]  # same users, same partition, same order
    client.close()
    await async_producer.close()
    sync_producer.close()


async def test_requeues_running_at_once_requeue_each_dead_letter_once(
    redis_url: str, prefix: str
) -> None:
    """Three sync and two async requeue(all=True) calls at the same moment."""
    client = redis.Redis.from_url(redis_url)
    stream = f"{prefix}:dead_letter"
    now = datetime.now(timezone.utc)
    for i in range(300):
        job = StreamEntry(f"{i + 1}-0", encode_entry(f"job{i}", f'{{"i":{i}}}', now))  # type: ignore[arg-type]
        fields = dead_letter_fields(
            prefix=prefix,
            topic="jobs",
            group="g",
            partition=0,
            consumer_id="c",
            entry=job,
            attempts=1,
            error_type="KeyError",
            error="x",
        )
        client.xadd(stream, fields)  # type: ignore[arg-type]
    start = threading.Barrier(3 + 1)
    results: list[list[str]] = []
    lock = threading.Lock()

    def sync_requeue() -> None:
        with SyncDeadLetters(prefix=prefix, redis_url=redis_url) as tool:
            start.wait(10)
            ids = tool.requeue(all=True)
        with lock:
            results.append(ids)

    async def async_requeue(tool: DeadLetters) -> None:
        ids = await tool.requeue(all=True)
        with lock:
            results.append(ids)

    threads = [threading.Thread(target=sync_requeue) for _ in range(3)]
    for thread in threads:
        thread.start()
    tools = [DeadLetters(prefix=prefix, redis_url=redis_url) for _ in range(2)]
    for tool in tools:
        await tool.count()  # connected, so that both start at once
    await asyncio.to_thread(start.wait, 10)
    await asyncio.gather(*(async_requeue(tool) for tool in tools))
    for thread in threads:
        await asyncio.to_thread(thread.join, 20)
    for tool in tools:
        await tool.close()
    requeued = [job_id for ids in results for job_id in ids]
    assert len(results) == 5
    assert sorted(requeued) == sorted(f"job{i}" for i in range(300)), (
        f"requeued {len(requeued)} job(s) for 300 dead letters: {[len(r) for r in results]}"
    )
    assert client.xlen(f"{prefix}:jobs:0") == 300
    assert client.xlen(stream) == 0
    client.close()
