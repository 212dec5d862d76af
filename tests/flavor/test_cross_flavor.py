"""The two flavors share one wire format and one group protocol."""

from __future__ import annotations

import asyncio
import threading
import time

from redisaq import Consumer, Job, Producer, SyncConsumer, SyncProducer

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
    import redis

    client = redis.Redis.from_url(redis_url)
    for p in range(5):
        payloads = [fields[b"payload"] for _, fields in client.xrange(f"{prefix}:keys:{p}")]  # type: ignore[union-attr,index]
        half = len(payloads) // 2
        assert payloads[:half] == payloads[half:]  # same users, same partition, same order
    client.close()
    await async_producer.close()
    sync_producer.close()
