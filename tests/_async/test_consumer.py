"""Consumer behaviour: delivery, acknowledgement, assignment, rebalance, fencing."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone

import pytest

from redisaq import ConsumerFencedError, Job
from redisaq._async.consumer import AsyncConsumer
from redisaq._async.producer import AsyncProducer
from redisaq._concurrency import AsyncEvent
from redisaq._redis import AsyncRedis
from tests._async.conftest import ConsumerFactory, ProducerFactory, Recorder, Running
from tests._async.helpers import eventually, pause, pending_count


async def test_consume_handles_every_job_once_and_acknowledges(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    redis_client: AsyncRedis,
    prefix: str,
) -> None:
    producer = make_producer(partitions=2)
    ids = await producer.batch_enqueue([{"i": i} for i in range(20)])
    recorder = Recorder()
    consumer = make_consumer(group="g", process_job=recorder)
    running.start(consumer)

    async def all_handled() -> bool:
        return len(recorder.jobs) >= 20

    await eventually(all_handled, what="20 jobs handled")
    assert sorted(recorder.ids()) == sorted(ids)
    job = recorder.jobs[0]
    assert job.topic == "jobs" and job.attempt == 1 and job.partition in (0, 1)
    assert job.enqueued_at.tzinfo is not None
    assert job.enqueued_at <= datetime.now(timezone.utc)
    assert job.stream_id.count("-") == 1

    async def acknowledged() -> bool:
        counts = [await pending_count(redis_client, f"{prefix}:jobs:{p}", "g") for p in (0, 1)]
        return counts == [0, 0]

    await eventually(acknowledged, what="no pending entries")


async def test_job_is_acknowledged_only_after_its_handler_returned(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    redis_client: AsyncRedis,
    prefix: str,
) -> None:
    started, release = AsyncEvent(), AsyncEvent()

    async def handler(job: Job) -> None:
        started.set()
        await release.wait(10)

    await make_producer().enqueue({"x": 1})
    running.start(make_consumer(group="g", process_job=handler))

    async def is_started() -> bool:
        return started.is_set()

    await eventually(is_started)
    assert await pending_count(redis_client, f"{prefix}:jobs:0", "g") == 1
    release.set()

    async def acknowledged() -> bool:
        return await pending_count(redis_client, f"{prefix}:jobs:0", "g") == 0

    await eventually(acknowledged)


async def test_process_batch_gets_jobs_in_batches(
    make_producer: ProducerFactory, make_consumer: ConsumerFactory, running: Running
) -> None:
    batches: list[list[int]] = []

    async def handle_batch(jobs: list[Job]) -> None:
        batches.append([job.payload["i"] for job in jobs])

    await make_producer().batch_enqueue([{"i": i} for i in range(23)])
    running.start(make_consumer(process_batch=handle_batch, batch_size=5))

    async def all_handled() -> bool:
        return sum(len(b) for b in batches) >= 23

    await eventually(all_handled)
    assert [i for b in batches for i in b] == list(range(23))
    assert max(len(b) for b in batches) <= 5


async def test_handler_arguments_are_checked(make_consumer: ConsumerFactory) -> None:
    async def job_handler(job: Job) -> None: ...

    async def batch_handler(jobs: list[Job]) -> None: ...

    with pytest.raises(ValueError, match="exactly one"):
        make_consumer()
    with pytest.raises(ValueError, match="exactly one"):
        make_consumer(process_job=job_handler, process_batch=batch_handler)
    with pytest.raises(ValueError, match="heartbeat_ttl"):
        make_consumer(process_job=job_handler, heartbeat_interval=2.0, heartbeat_ttl=1.0)
    with pytest.raises(ValueError, match="start_from"):
        make_consumer(process_job=job_handler, start_from="middle")
    with pytest.raises(ValueError, match="batch_size"):
        make_consumer(process_job=job_handler, batch_size=0)
    for name in ("heartbeat_interval", "heartbeat_ttl", "block_timeout", "retry_backoff"):
        for bad in (float("nan"), float("inf")):
            with pytest.raises(ValueError, match=name):
                make_consumer(process_job=job_handler, **{name: bad})
    with pytest.raises(ValueError, match="batch_size"):
        make_consumer(process_job=job_handler, batch_size=2**63)
    with pytest.raises(TypeError, match="ConsumerHooks"):
        make_consumer(process_job=job_handler, hooks=[print])


async def test_consumers_split_partitions_round_robin(
    make_producer: ProducerFactory, make_consumer: ConsumerFactory, running: Running
) -> None:
    await make_producer(partitions=6).enqueue({"x": 1})
    consumers = {
        name: make_consumer(group="g", consumer_id=name, process_job=Recorder())
        for name in ("b", "a")
    }
    for consumer in consumers.values():
        running.start(consumer)

    async def split(expected: dict[str, list[int]]) -> None:
        async def matches() -> bool:
            return all(consumers[n].partitions == parts for n, parts in expected.items())

        await eventually(matches, what=f"assignment {expected}")

    await split({"a": [0, 2, 4], "b": [1, 3, 5]})
    consumers["c"] = make_consumer(group="g", consumer_id="c", process_job=Recorder())
    running.start(consumers["c"])
    await split({"a": [0, 3], "b": [1, 4], "c": [2, 5]})
    await consumers["b"].stop()
    await split({"a": [0, 2, 4], "c": [1, 3, 5]})


async def test_join_and_stop_hand_over_without_overlap(
    make_producer: ProducerFactory, make_consumer: ConsumerFactory, running: Running
) -> None:
    records: list[tuple[int, str, float, float, int]] = []

    def handler_for(name: str) -> Callable:  # type: ignore[type-arg]
        async def handler(job: Job) -> None:
            start = time.monotonic()
            await pause(0.002)
            records.append((job.partition, name, start, time.monotonic(), job.payload["i"]))

        return handler

    producer = make_producer(partitions=4)
    first = make_consumer(group="g", consumer_id="c1", process_job=handler_for("c1"))
    running.start(first)
    total = 0

    async def enqueue(n: int) -> None:
        nonlocal total
        await producer.batch_enqueue([{"i": i} for i in range(total, total + n)])
        total += n

    async def handled_all() -> bool:
        return {r[4] for r in records} == set(range(total))

    await enqueue(100)
    second = make_consumer(group="g", consumer_id="c2", process_job=handler_for("c2"))
    running.start(second)
    await enqueue(100)

    async def split() -> bool:
        return first.partitions == [0, 2] and second.partitions == [1, 3]

    await eventually(split, what="c2 took partitions 1 and 3")
    await enqueue(100)
    await eventually(handled_all, what="all jobs handled")
    await second.stop()

    async def back() -> bool:
        return first.partitions == [0, 1, 2, 3]

    await eventually(back, what="c1 took every partition back")
    await enqueue(100)
    await eventually(handled_all, what="all jobs handled after the stop")
    assert {r[1] for r in records} == {"c1", "c2"}
    assert_exclusive_and_ordered(records)


def assert_exclusive_and_ordered(records: list[tuple[int, str, float, float, int]]) -> None:
    """No two consumers ran jobs of one partition at once; first completions in order."""
    for partition in {r[0] for r in records}:
        mine = sorted((r for r in records if r[0] == partition), key=lambda r: r[2])
        for earlier, later in zip(mine, mine[1:], strict=False):
            if earlier[1] != later[1]:
                assert earlier[3] <= later[2], (
                    f"overlap on partition {partition}: {earlier} {later}"
                )
        firsts: list[int] = []
        for r in sorted(mine, key=lambda r: r[3]):
            if r[4] not in firsts:
                firsts.append(r[4])
        assert firsts == sorted(firsts), f"partition {partition} completed out of order"


async def test_running_consumer_picks_up_new_partitions(
    make_producer: ProducerFactory, make_consumer: ConsumerFactory, running: Running
) -> None:
    producer = make_producer(partitions=1)
    recorder = Recorder()
    consumer = make_consumer(process_job=recorder)
    running.start(consumer)

    async def owns(parts: list[int]) -> None:
        async def check() -> bool:
            return consumer.partitions == parts

        await eventually(check, what=f"partitions {parts}")

    await owns([0])
    assert await producer.request_partition_increase(3) == 3
    await owns([0, 1, 2])
    await producer.batch_enqueue([{"i": i} for i in range(9)])

    async def all_handled() -> bool:
        return len(recorder.jobs) >= 9

    await eventually(all_handled)
    assert {job.partition for job in recorder.jobs} == {0, 1, 2}


async def test_a_producer_growing_the_topic_with_partitions_wakes_consumers_at_once(
    make_producer: ProducerFactory, make_consumer: ConsumerFactory, running: Running
) -> None:
    await make_producer(partitions=1).enqueue({"i": 0})
    consumer = make_consumer(process_job=Recorder(), heartbeat_interval=10, heartbeat_ttl=20)
    running.start(consumer)

    async def owns(parts: list[int]) -> bool:
        return consumer.partitions == parts

    await eventually(lambda: owns([0]), what="partition 0")
    await make_producer(partitions=3).enqueue({"i": 1})  # grows on first use
    # Well before the next timed heartbeat (10 s): the grow notice woke the consumer.
    await eventually(lambda: owns([0, 1, 2]), timeout=3.0, what="partitions 0-2 within 3 s")


async def test_new_group_reads_from_earliest_or_latest(
    make_producer: ProducerFactory, make_consumer: ConsumerFactory, running: Running
) -> None:
    producer = make_producer(partitions=2)
    await producer.batch_enqueue([{"i": i} for i in range(10)])
    first, again, latest = Recorder(), Recorder(), Recorder()
    running.start(make_consumer(group="first", process_job=first))
    running.start(make_consumer(group="again", process_job=again))
    late = make_consumer(group="late", process_job=latest, start_from="latest")
    running.start(late)

    async def ready() -> bool:
        return len(first.jobs) == 10 and len(again.jobs) == 10 and late.partitions == [0, 1]

    await eventually(ready)
    await producer.batch_enqueue([{"i": i} for i in range(10, 14)])

    async def all_seen() -> bool:
        return len(first.jobs) == len(again.jobs) == 14 and len(latest.jobs) == 4

    await eventually(all_seen)
    assert sorted(j.payload["i"] for j in latest.jobs) == [10, 11, 12, 13]


async def test_second_instance_with_same_id_fences_the_first(
    make_producer: ProducerFactory, make_consumer: ConsumerFactory, running: Running
) -> None:
    older_jobs, newer_jobs = Recorder(), Recorder()
    older = make_consumer(group="g", consumer_id="same", process_job=older_jobs)
    older_task = running.start(older)

    async def older_owns() -> bool:
        return older.partitions == [0]

    await eventually(older_owns)
    newer = make_consumer(group="g", consumer_id="same", process_job=newer_jobs)
    running.start(newer)
    assert await older_task.join(5), "the fenced consumer kept running"
    assert isinstance(older_task.error, ConsumerFencedError)

    async def newer_owns() -> bool:
        return newer.partitions == [0]

    await eventually(newer_owns)
    await make_producer().enqueue({"x": 1})

    async def handled() -> bool:
        return len(newer_jobs.jobs) == 1

    await eventually(handled)
    assert older_jobs.jobs == []


async def test_stop_is_idempotent_and_consume_returns(
    make_consumer: ConsumerFactory, running: Running
) -> None:
    consumer = make_consumer(process_job=Recorder())
    task = running.start(consumer)

    async def owns() -> bool:
        return consumer.partitions == [0]

    await eventually(owns)
    await consumer.stop()
    await consumer.stop()
    assert await task.join(5)
    assert task.error is None
    assert consumer.partitions == []


async def test_seed_example_from_the_readme(redis_url: str, prefix: str) -> None:
    seen: list[str] = []
    topic = f"{prefix}-my_topic"
    producer = AsyncProducer(topic=topic, maxlen=1000)
    await producer.batch_enqueue([{"data": "job1"}, {"data": "job2"}])

    async def process_job(job: Job) -> None:
        seen.append(job.payload["data"])
        if len(seen) == 2:
            await consumer.stop()

    consumer = AsyncConsumer(
        topic=topic, group="my_group", consumer_id="consumer_1", process_job=process_job
    )
    await consumer.consume()
    await producer.close()
    assert seen == ["job1", "job2"]
    client = AsyncRedis.from_url(redis_url)
    keys = [*await client.keys(f"redisaq:{topic}*"), *await client.keys(f"redisaq:{{{topic}*")]
    await client.delete(*keys)
    await client.aclose()


def test_public_names_are_these_classes() -> None:
    import redisaq

    assert AsyncConsumer in (redisaq.Consumer, redisaq.SyncConsumer)
    assert AsyncProducer in (redisaq.Producer, redisaq.SyncProducer)


async def test_stopped_consumer_leaves_no_trace_in_the_group(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    redis_client: AsyncRedis,
    prefix: str,
) -> None:
    await make_producer(partitions=2).batch_enqueue([{"i": i} for i in range(4)])
    recorder = Recorder()
    consumer = make_consumer(group="g", consumer_id="short-lived", process_job=recorder)
    task = running.start(consumer)

    async def handled() -> bool:
        return len(recorder.jobs) == 4

    await eventually(handled)
    assert await redis_client.hkeys(f"{prefix}:{{jobs:g}}:heartbeats") == [b"short-lived"]
    await consumer.stop()
    assert await task.join(10)
    assert await redis_client.hlen(f"{prefix}:{{jobs:g}}:heartbeats") == 0
    for p in (0, 1):
        assert await redis_client.xinfo_consumers(f"{prefix}:jobs:{p}", "g") == []
    assert await redis_client.zcard(f"{prefix}:{{jobs:g}}:members") == 0
    assert await redis_client.hlen(f"{prefix}:{{jobs:g}}:leases") == 0


async def test_jobs_fetched_but_not_started_keep_attempt_one_after_a_hand_over(
    make_producer: ProducerFactory, make_consumer: ConsumerFactory, running: Running
) -> None:
    started = AsyncEvent()
    first_jobs: list[Job] = []

    async def slow_first(job: Job) -> None:
        started.set()
        first_jobs.append(job)
        await pause(0.5)  # the rest of its batch waits behind it while "a" joins

    await make_producer().batch_enqueue([{"i": i} for i in range(10)])
    b = make_consumer(group="g", consumer_id="b", process_job=slow_first, batch_size=10)
    running.start(b)

    async def is_started() -> bool:
        return started.is_set()

    await eventually(is_started)
    later = Recorder()
    a = make_consumer(group="g", consumer_id="a", process_job=later)
    running.start(a)

    async def all_handled() -> bool:
        return len(first_jobs) + len(later.jobs) >= 10 and a.partitions == [0]

    await eventually(all_handled, what="hand-over to a and all jobs handled")
    assert later.jobs, "the partition was not handed over mid-batch"
    jobs = first_jobs + later.jobs
    assert sorted(job.payload["i"] for job in jobs) == list(range(10))
    assert {job.attempt for job in jobs} == {1}
