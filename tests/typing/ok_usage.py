"""Correct use of both flavors: mypy --strict must report nothing here (tests/typing)."""

from __future__ import annotations

import redis
import redis.asyncio
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

from redisaq import (
    Admin,
    Consumer,
    DeadLetter,
    DeadLetters,
    Job,
    Producer,
    SyncAdmin,
    SyncConsumer,
    SyncDeadLetters,
    SyncProducer,
    TopicInfo,
)


async def handle(job: Job) -> None:
    print(job.id, job.payload["to"], job.attempt, job.enqueued_at.isoformat())


async def handle_batch(jobs: list[Job]) -> None:
    for job in jobs:
        await handle(job)


def handle_sync(job: Job) -> None:
    print(job.topic, job.partition, job.stream_id)


def handle_batch_sync(jobs: list[Job]) -> None:
    for job in jobs:
        handle_sync(job)


class Mailer:
    async def __call__(self, job: Job) -> None:
        await handle(job)


async def async_flavor() -> None:
    async with Producer("emails", partitions=2, maxlen=1000) as producer:
        job_id: str = await producer.enqueue({"to": "ann@example.com"}, partition_key="to")
        ids: list[str] = await producer.batch_enqueue([{"to": "bob"}, {"to": "cy"}])
        print(job_id, ids, await producer.num_partitions())
    consumer = Consumer("emails", group="mail", process_job=handle, max_retries=5)
    batch = Consumer("emails", group="bulk", process_batch=handle_batch, batch_size=50)
    callable_object = Consumer("emails", process_job=Mailer(), retry_backoff=lambda n: 0.1 * n)
    await consumer.consume()
    await batch.stop()
    callable_object.request_stop()
    owned: list[int] = consumer.partitions
    async with Admin() as admin:
        info: TopicInfo = await admin.info("emails")
        print(owned, info.groups, await admin.topics())
    async with DeadLetters() as letters:
        found: list[DeadLetter] = await letters.list(topic="emails")
        requeued: list[str] = await letters.requeue([x.id for x in found])
        print(requeued, await letters.purge(group="mail"))


def sync_flavor() -> None:
    with SyncProducer("emails", redis_url="redis://localhost:6379/0") as producer:
        job_id: str = producer.enqueue({"to": "ann@example.com", "n": 1})
        print(job_id, producer.batch_enqueue([{"to": "bob"}], partition_key="to"))
    consumer = SyncConsumer("emails", group="mail", process_job=handle_sync)
    batch = SyncConsumer("emails", process_batch=handle_batch_sync, start_from="latest")
    consumer.consume()
    batch.stop()
    with SyncAdmin() as admin:
        print(admin.info("emails").partitions)
    with SyncDeadLetters(stream="redisaq:dead_letter") as letters:
        print(letters.count(topic="emails"))


async def ready_clients() -> None:
    """`redis=` takes a client of the flavor: a plain one or a cluster one."""
    Producer("emails", redis=redis.asyncio.Redis())
    Consumer("emails", process_job=handle, redis=AsyncRedisCluster(host="127.0.0.1"))
    SyncProducer("emails", redis=RedisCluster(host="127.0.0.1"))
    SyncConsumer("emails", process_job=handle_sync, redis=redis.Redis())
