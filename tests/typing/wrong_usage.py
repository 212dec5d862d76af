"""Wrong use that mypy must report: each `# expect: CODE` line gets that error code.

Excluded from the project's own mypy run (pyproject.toml); tests/typing/test_typing.py
checks it on its own and asserts exactly these errors.
"""

from __future__ import annotations

import redis
import redis.asyncio

from redisaq import Consumer, Job, Producer, SyncConsumer, SyncProducer


async def handle(job: Job) -> None:
    print(job.id)


def handle_sync(job: Job) -> None:
    print(job.id)


def handle_batch_sync(jobs: list[Job]) -> None:
    print(len(jobs))


async def wrong_async() -> None:
    Consumer("t", process_job=handle_sync)  # expect: arg-type
    Consumer("t", process_batch=handle_batch_sync)  # expect: arg-type
    Consumer("t", process_job=handle, retries=3)  # expect: call-arg
    producer = Producer("t")
    await producer.enqueue(["not", "a", "mapping"])  # expect: arg-type
    await producer.batch_enqueue([{"ok": 1}, "text"])  # expect: list-item
    await producer.enqueue({"ok": 1}, key="ok")  # expect: call-arg


def wrong_sync() -> None:
    SyncConsumer("t", process_job=handle)  # expect: arg-type
    SyncConsumer("t", group="g", process_job=handle_sync, heartbeat=1)  # expect: call-arg
    producer = SyncProducer("t", partition=2)  # expect: call-arg
    producer.enqueue("payload")  # expect: arg-type
    job_id: int = producer.enqueue({"ok": 1})  # expect: assignment
    print(job_id)
    SyncProducer("t", redis=redis.asyncio.Redis())  # expect: arg-type
    Producer("t", redis=redis.Redis())  # expect: arg-type
