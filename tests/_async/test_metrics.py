"""Metrics and hooks: counters a user can read, callbacks other systems can plug into."""

from __future__ import annotations

from collections.abc import Sequence

from redisaq import ConsumerHooks, Job, Reject
from redisaq._redis import AsyncRedis
from tests._async.conftest import ConsumerFactory, ProducerFactory, Running
from tests._async.helpers import eventually


class Seen(ConsumerHooks):
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def on_handled(self, job: Job, seconds: float) -> None:
        self.events.append(("handled", job.payload["i"]))

    def on_failed(self, job: Job, error: Exception, retrying: bool) -> None:
        self.events.append(("failed", (job.payload["i"], retrying)))

    def on_dead_letter(self, partition: int, job_id: str, error_type: str) -> None:
        self.events.append(("dead", error_type))

    def on_rebalance(self, partitions: Sequence[int]) -> None:
        self.events.append(("rebalance", list(partitions)))


class Broken(ConsumerHooks):
    def on_handled(self, job: Job, seconds: float) -> None:
        raise RuntimeError("a broken hook must not break the consumer")


async def test_counters_and_hooks(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    redis_client: AsyncRedis,
    prefix: str,
) -> None:
    async def handler(job: Job) -> None:
        if job.payload["i"] == 1 and job.attempt == 1:
            raise ValueError("once")
        if job.payload["i"] == 2:
            raise Reject("never")

    seen = Seen()
    await make_producer().batch_enqueue([{"i": i} for i in range(4)])
    consumer = make_consumer(group="g", process_job=handler, hooks=[Broken(), seen])
    running.start(consumer)

    async def settled() -> bool:
        snap = consumer.metrics.snapshot()
        return snap.handled == 3 and snap.dead_lettered == 1 and snap.lag.get(0) == 0

    await eventually(settled, what="3 handled, 1 dead, lag reported")
    snap = consumer.metrics.snapshot()
    assert (snap.failed, snap.retried, snap.rebalances, snap.partitions) == (2, 1, 1, [0])
    assert snap.handler_seconds > 0 and snap.lag == {0: 0}
    assert seen.events[0] == ("rebalance", [0])
    assert ("failed", (1, True)) in seen.events and ("failed", (2, False)) in seen.events
    assert [e for e in seen.events if e[0] == "handled"] == [
        ("handled", 0),
        ("handled", 1),
        ("handled", 3),
    ]
    assert ("dead", "Reject") in seen.events
    await consumer.stop()
