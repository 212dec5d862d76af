"""Flavor fixtures: factories for producers and consumers with fast test timings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from redisaq import Job
from redisaq._async.consumer import AsyncConsumer
from redisaq._async.producer import AsyncProducer
from redisaq._concurrency import AsyncTask
from redisaq._redis import AsyncRedis

FAST = {"heartbeat_interval": 0.1, "heartbeat_ttl": 1.0, "block_timeout": 0.1}

ProducerFactory = Callable[..., AsyncProducer]
ConsumerFactory = Callable[..., AsyncConsumer]


class Recorder:
    """A handler that keeps every job it was given (in call order)."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    async def __call__(self, job: Job) -> None:
        self.jobs.append(job)

    def ids(self) -> list[str]:
        return [job.id for job in self.jobs]


class Running:
    """Consumers started in the background; all are stopped at teardown."""

    def __init__(self) -> None:
        self.tasks: list[tuple[AsyncConsumer, AsyncTask]] = []

    def start(self, consumer: AsyncConsumer) -> AsyncTask:
        task = AsyncTask(f"test-{consumer.consumer_id}", consumer.consume)
        task.start()
        self.tasks.append((consumer, task))
        return task

    async def stop_all(self) -> None:
        for consumer, _ in self.tasks:
            await consumer.stop()
        for consumer, task in self.tasks:
            assert await task.join(15), f"{consumer!r} did not stop within 15s"


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[AsyncRedis]:
    client = AsyncRedis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def make_producer(redis_url: str, prefix: str) -> AsyncIterator[ProducerFactory]:
    made: list[AsyncProducer] = []

    def factory(topic: str = "jobs", **kwargs: Any) -> AsyncProducer:
        kwargs.setdefault("redis_url", redis_url)
        producer = AsyncProducer(topic, prefix=prefix, **kwargs)
        made.append(producer)
        return producer

    yield factory
    for producer in made:
        await producer.close()


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    tasks = Running()
    yield tasks
    await tasks.stop_all()


@pytest.fixture
def make_consumer(redis_url: str, prefix: str) -> ConsumerFactory:
    def factory(topic: str = "jobs", **kwargs: Any) -> AsyncConsumer:
        for key, value in FAST.items():
            kwargs.setdefault(key, value)
        kwargs.setdefault("redis_url", redis_url)
        kwargs.setdefault("retry_backoff", 0.01)
        return AsyncConsumer(topic, prefix=prefix, **kwargs)

    return factory
