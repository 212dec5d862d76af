"""Failure paths: retries, dead letters, junk and trimmed entries, lost groups, network."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from redisaq import DeadLetter, Job, RedisaqError, Reject, Retry, _parse
from redisaq._async.admin import AsyncAdmin
from redisaq._async.dead_letters import AsyncDeadLetters
from redisaq._async.producer import PARTITION_REFRESH, AsyncProducer
from redisaq._concurrency import AsyncTask
from redisaq._redis import AsyncRedis
from tests._async.conftest import ConsumerFactory, ProducerFactory, Recorder, Running
from tests._async.helpers import eventually, pause, pending_count
from tests.conftest import RedisServer
from tests.proxy import FreezableProxy


class Flaky:
    """Fails its first ``failures`` attempts of every job (forever if None) with ``error``."""

    def __init__(self, failures: int | None, error: Callable[[], Exception]) -> None:
        self.failures = failures
        self.error = error
        self.calls: list[tuple[str, int, float]] = []  # job id, attempt, time
        self.done: list[Job] = []

    async def __call__(self, job: Job) -> None:
        self.calls.append((job.id, job.attempt, time.monotonic()))
        if self.failures is None or job.attempt <= self.failures:
            raise self.error()
        self.done.append(job)


@pytest.fixture
async def dead_letters(redis_url: str, prefix: str) -> AsyncDeadLetters:
    # (the default stream of the prefix, where consumers of that prefix write by default)
    letters = AsyncDeadLetters(prefix=prefix, redis_url=redis_url)
    assert letters.stream == f"{prefix}:dead_letter"
    return letters


async def wait_dead(dead_letters: AsyncDeadLetters, n: int) -> None:
    async def arrived() -> bool:
        return await dead_letters.count() >= n

    await eventually(arrived, what=f"{n} dead letter(s)")


async def test_always_failing_job_is_retried_then_dead_lettered(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    dead_letters: AsyncDeadLetters,
    redis_client: AsyncRedis,
    prefix: str,
) -> None:
    handler = Flaky(None, lambda: ValueError("boom"))
    job_id = await make_producer().enqueue({"order": 7})
    running.start(make_consumer(group="g", consumer_id="c1", process_job=handler, max_retries=2))
    await wait_dead(dead_letters, 1)
    assert [attempt for _, attempt, _ in handler.calls] == [1, 2, 3]
    [letter] = await dead_letters.list()
    assert (letter.topic, letter.group, letter.partition) == ("jobs", "g", 0)
    assert letter.job_id == job_id and letter.attempts == 3
    assert json.loads(letter.payload) == {"order": 7}
    assert (letter.error_type, letter.error) == ("ValueError", "boom")
    assert "boom" in letter.traceback and letter.consumer_id == "c1"
    assert datetime.fromisoformat(letter.failed_at) <= datetime.now(timezone.utc)

    async def acknowledged() -> bool:
        return await pending_count(redis_client, f"{prefix}:jobs:0", "g") == 0

    await eventually(acknowledged)
    await dead_letters.close()


async def test_job_failing_twice_then_succeeding_is_not_dead_lettered(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    dead_letters: AsyncDeadLetters,
) -> None:
    handler = Flaky(2, lambda: RuntimeError("not yet"))
    await make_producer().batch_enqueue([{"i": 1}, {"i": 2}])
    running.start(make_consumer(process_job=handler, max_retries=3))

    async def done() -> bool:
        return len(handler.done) == 2

    await eventually(done)
    assert [attempt for _, attempt, _ in handler.calls] == [1, 2, 3, 1, 2, 3]
    assert [job.payload["i"] for job in handler.done] == [1, 2]  # in order, retried in place
    assert await dead_letters.count() == 0
    await dead_letters.close()


async def test_reject_dead_letters_at_once_and_retry_sets_the_delay(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    dead_letters: AsyncDeadLetters,
) -> None:
    rejecting = Flaky(None, lambda: Reject("invalid order"))
    await make_producer("rejects").enqueue({"i": 1})
    running.start(make_consumer("rejects", process_job=rejecting, max_retries=5))
    await wait_dead(dead_letters, 1)
    assert [attempt for _, attempt, _ in rejecting.calls] == [1]
    assert (await dead_letters.list())[0].error_type == "Reject"

    later = Flaky(1, lambda: Retry("busy", after=0.3))
    await make_producer("later").enqueue({"i": 1})
    running.start(make_consumer("later", process_job=later, retry_backoff=0.0))

    async def done() -> bool:
        return len(later.done) == 1

    await eventually(done)
    first, second = later.calls
    assert second[2] - first[2] >= 0.3
    await dead_letters.close()


async def test_undecodable_entries_are_dead_lettered_and_consumption_goes_on(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    dead_letters: AsyncDeadLetters,
    redis_client: AsyncRedis,
    prefix: str,
) -> None:
    stream = f"{prefix}:jobs:0"
    when = "2026-01-01T00:00:00+00:00"
    await redis_client.xadd(stream, {"foo": "bar"})
    await redis_client.xadd(stream, {"id": "a", "payload": "{bad json", "enqueued_at": when})
    await redis_client.xadd(stream, {"id": "b", "payload": "[1, 2]", "enqueued_at": when})
    await redis_client.xadd(stream, {"id": b"\xff\xfe", "payload": "{}", "enqueued_at": when})
    await redis_client.xadd(stream, {"id": "c", "payload": "{}", "enqueued_at": "yesterday"})
    good = await make_producer().enqueue({"ok": True})
    recorder = Recorder()
    running.start(make_consumer(group="g", process_job=recorder))
    await wait_dead(dead_letters, 5)

    async def handled() -> bool:
        return recorder.ids() == [good]

    await eventually(handled)
    letters = await dead_letters.list()
    assert {x.error_type for x in letters} == {"DecodeError"}
    reasons = " | ".join(x.error for x in letters)
    for expected in ("missing field", "JSONDecodeError", "not an object", "bad id", "isoformat"):
        assert expected in reasons
    assert not any(x.requeueable() for x in letters if x.job_id == "")

    async def acknowledged() -> bool:
        return await pending_count(redis_client, stream, "g") == 0

    await eventually(acknowledged)
    await dead_letters.close()


async def test_trimmed_pending_entries_are_acknowledged_and_logged(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    redis_client: AsyncRedis,
    prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = f"{prefix}:jobs:0"
    ids = await make_producer().batch_enqueue([{"i": i} for i in range(5)])
    await redis_client.xgroup_create(stream, "g", id="0")
    # A consumer that is gone read three entries; two of them are then trimmed away.
    read = await redis_client.xreadgroup("g", "ghost", {stream: ">"}, count=3)
    stream_ids = [entry.stream_id for entry in _parse.read_entries(read)]
    await redis_client.xdel(stream, stream_ids[0], stream_ids[1])
    recorder = Recorder()
    caplog.set_level(logging.WARNING, logger="redisaq")
    running.start(make_consumer(group="g", process_job=recorder))

    async def handled() -> bool:
        return len(recorder.jobs) == 3

    await eventually(handled)
    assert recorder.ids() == ids[2:]

    async def acknowledged() -> bool:
        return await pending_count(redis_client, stream, "g") == 0

    await eventually(acknowledged)
    assert "trimmed" in caplog.text


async def test_job_delivered_more_than_max_retries_plus_one_is_dead_lettered_unrun(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    dead_letters: AsyncDeadLetters,
    redis_client: AsyncRedis,
    prefix: str,
) -> None:
    stream = f"{prefix}:jobs:0"
    job_id = await make_producer().enqueue({"poison": True})
    await redis_client.xgroup_create(stream, "g", id="0")
    read = await redis_client.xreadgroup("g", "crashed", {stream: ">"}, count=1)
    entry_id = _parse.read_entries(read)[0].stream_id
    # As if three workers had died on it (max_retries=2 allows three deliveries).
    await redis_client.xclaim(stream, "g", "crashed", 0, [entry_id], retrycount=3, justid=True)
    recorder = Recorder()
    running.start(make_consumer(group="g", process_job=recorder, max_retries=2))
    await wait_dead(dead_letters, 1)
    [letter] = await dead_letters.list()
    assert (letter.job_id, letter.error_type, letter.attempts) == (
        job_id,
        "DeliveryLimitExceeded",
        4,
    )
    assert recorder.jobs == []
    await dead_letters.close()


async def test_one_crash_does_not_dead_letter_jobs_fetched_with_the_running_one(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    dead_letters: AsyncDeadLetters,
    redis_client: AsyncRedis,
    prefix: str,
) -> None:
    """A consumer read a batch of four and died on one of them (which, Redis cannot tell):
    with max_retries=0 every job still runs once more; one delivered twice does not."""
    stream = f"{prefix}:jobs:0"
    await make_producer().batch_enqueue([{"i": i} for i in range(4)])
    await redis_client.xgroup_create(stream, "g", id="0")
    read = await redis_client.xreadgroup("g", "crashed", {stream: ">"}, count=4)
    assert len(_parse.read_entries(read)) == 4  # one delivery each, as for a batch read
    recorder = Recorder()
    running.start(make_consumer(group="g", process_job=recorder, max_retries=0))

    async def all_ran() -> bool:
        return len(recorder.jobs) == 4

    await eventually(all_ran, what="the four jobs of the cut-short read")
    assert [job.payload["i"] for job in recorder.jobs] == [0, 1, 2, 3]
    assert {job.attempt for job in recorder.jobs} == {2}
    assert await dead_letters.count() == 0

    # Delivered twice already (it killed the worker that ran it alone): dead-lettered unrun.
    await running.stop_all()
    poison = await make_producer().enqueue({"poison": True})
    read = await redis_client.xreadgroup("g", "crashed", {stream: ">"}, count=1)
    entry_id = _parse.read_entries(read)[0].stream_id
    await redis_client.xclaim(stream, "g", "crashed", 0, [entry_id], retrycount=2, justid=True)
    running.start(make_consumer(group="g", process_job=recorder, max_retries=0))
    await wait_dead(dead_letters, 1)
    [letter] = await dead_letters.list()
    assert (letter.job_id, letter.error_type, letter.attempts) == (
        poison,
        "DeliveryLimitExceeded",
        3,
    )
    assert len(recorder.jobs) == 4
    await dead_letters.close()


async def test_claimed_job_sees_earlier_deliveries_in_attempt(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    redis_client: AsyncRedis,
    prefix: str,
) -> None:
    stream = f"{prefix}:jobs:0"
    await make_producer().enqueue({"x": 1})
    await redis_client.xgroup_create(stream, "g", id="0")
    await redis_client.xreadgroup("g", "crashed", {stream: ">"}, count=1)
    recorder = Recorder()
    running.start(make_consumer(group="g", process_job=recorder))

    async def handled() -> bool:
        return len(recorder.jobs) == 1

    await eventually(handled)
    assert recorder.jobs[0].attempt == 2


async def test_deleted_stream_and_destroyed_group_are_recreated(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    redis_client: AsyncRedis,
    prefix: str,
) -> None:
    producer = make_producer()
    recorder = Recorder()
    running.start(make_consumer(group="g", process_job=recorder))

    async def handled(n: int) -> None:
        async def check() -> bool:
            return len(recorder.jobs) >= n

        await eventually(check, what=f"{n} jobs handled")

    await producer.enqueue({"n": 1})
    await handled(1)
    await redis_client.delete(f"{prefix}:jobs:0")
    await producer.enqueue({"n": 2})
    await handled(2)
    await redis_client.xgroup_destroy(f"{prefix}:jobs:0", "g")
    await producer.enqueue({"n": 3})
    await handled(4)
    # A destroyed group forgets its position: it is recreated at its start ("earliest"),
    # so job 2, still in the stream, runs again. At least once, not exactly once.
    assert [job.payload["n"] for job in recorder.jobs] == [1, 2, 2, 3]


async def test_requeue_round_trip_is_safe_to_repeat(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    dead_letters: AsyncDeadLetters,
    redis_url: str,
) -> None:
    handler = Flaky(None, lambda: KeyError("missing"))
    other = Recorder()
    ids = await make_producer(partitions=2).batch_enqueue([{"i": i} for i in range(3)])
    running.start(make_consumer(group="g", process_job=handler, max_retries=0))
    running.start(make_consumer(group="other", process_job=other))
    await wait_dead(dead_letters, 3)

    async def other_done() -> bool:
        return len(other.jobs) == 3

    await eventually(other_done)
    handler.failures = 0  # fixed: the next delivery succeeds
    # A tool of another prefix on the same stream sees none of them.
    stranger = AsyncDeadLetters(stream=dead_letters.stream, redis_url=redis_url)
    assert await stranger.count() == 0
    assert await stranger.requeue(all=True) == []
    await stranger.close()
    with pytest.raises(ValueError, match="all=True"):
        await dead_letters.requeue()  # no selection: refused, nothing moved
    assert sorted(await dead_letters.requeue(group="g")) == sorted(ids)
    assert await dead_letters.requeue(group="g") == []
    assert await dead_letters.count() == 0

    async def redone() -> bool:
        return len(handler.done) == 3

    await eventually(redone)
    assert sorted(job.id for job in handler.done) == sorted(ids)
    assert {job.attempt for job in handler.done} == {1}
    assert len(other.jobs) == 3  # the other group does not run them again
    await dead_letters.close()


async def test_a_requeue_overtaken_after_listing_requeues_nothing_twice(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    dead_letters: AsyncDeadLetters,
    redis_client: AsyncRedis,
    redis_url: str,
    prefix: str,
) -> None:
    await make_producer().batch_enqueue([{"i": i} for i in range(3)])
    running.start(make_consumer(group="g", process_job=Flaky(None, KeyError), max_retries=0))
    await wait_dead(dead_letters, 3)
    await running.stop_all()

    class Overtaken(AsyncDeadLetters):
        """Held up between listing the letters and marking them, for longer than a mark
        lives: another requeue ran meanwhile, and its marks expired."""

        async def _select(self, *args: Any) -> list[DeadLetter]:
            letters = await super()._select(*args)
            assert len(await dead_letters.requeue(all=True)) == 3
            marks = [k async for k in redis_client.scan_iter(f"{prefix}:dead_letter:requeuing:*")]
            assert len(marks) == 3
            await redis_client.delete(*marks)
            return letters

    late = Overtaken(prefix=prefix, redis_url=redis_url)
    assert await late.requeue(all=True) == []
    await late.close()
    assert await redis_client.xlen(f"{prefix}:jobs:0") == 3 + 3  # the jobs, requeued once
    await dead_letters.close()


async def test_a_junk_group_start_in_the_meta_hash_is_fixed_anew(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    redis_client: AsyncRedis,
    prefix: str,
) -> None:
    await make_producer(partitions=2).batch_enqueue([{"i": i} for i in range(4)])
    await redis_client.hset(f"{prefix}:{{jobs:g}}:meta", "start_id", "garbage")
    recorder = Recorder()
    running.start(make_consumer(group="g", process_job=recorder))

    async def all_handled() -> bool:
        return len(recorder.jobs) == 4

    await eventually(all_handled, what="the four jobs, from the earliest entry")
    assert await redis_client.hget(f"{prefix}:{{jobs:g}}:meta", "start_id") == b"0-0"


async def test_purge_and_count_filter_by_topic(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    dead_letters: AsyncDeadLetters,
) -> None:
    for topic in ("a", "b"):
        await make_producer(topic).batch_enqueue([{"i": 1}, {"i": 2}])
        running.start(make_consumer(topic, process_job=Flaky(None, lambda: Reject("no"))))
    await wait_dead(dead_letters, 4)
    assert await dead_letters.count(topic="a") == 2
    first = (await dead_letters.list(topic="b"))[0]
    assert await dead_letters.purge([first.id]) == 1
    assert await dead_letters.purge(topic="a") == 2
    assert await dead_letters.count() == 1
    with pytest.raises(ValueError, match="all=True"):
        await dead_letters.purge()
    assert await dead_letters.purge(all=True) == 1
    assert await dead_letters.count() == 0
    await dead_letters.close()


async def test_replay_moves_a_stopped_group_back_to_a_time(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    redis_client: AsyncRedis,
    redis_url: str,
    prefix: str,
) -> None:
    producer = make_producer(partitions=2)
    await producer.batch_enqueue([{"i": i} for i in range(4)])
    await pause(0.01)  # stream ids are milliseconds: keep the batches apart
    middle = datetime.now(timezone.utc)
    await pause(0.01)
    await producer.batch_enqueue([{"i": i} for i in range(4, 8)])
    first = Recorder()
    consumer = make_consumer(group="g", process_job=first)
    task = running.start(consumer)

    async def all_done() -> bool:
        return len(first.jobs) == 8

    await eventually(all_done)
    admin = AsyncAdmin(prefix=prefix, redis_url=redis_url)
    with pytest.raises(RedisaqError, match="live consumers"):
        await admin.replay("jobs", "g", to=middle)
    await consumer.stop()
    assert await task.join(10)
    await producer.request_partition_increase(3)  # partition 2: no stream, no group yet
    assert await admin.replay("jobs", "g", to=middle) == 3
    # A lease value that does not parse (written by hand) is no owner, for info and for
    # the next consumer, which takes the partition.
    await redis_client.hset(f"{prefix}:{{jobs:g}}:leases", "0", "garbage")
    info = await admin.info("jobs")
    assert [row.owner for row in info.groups[0].partitions] == [None, None, None]
    again = Recorder()
    running.start(make_consumer(group="g", process_job=again))

    async def replayed() -> bool:
        return len(again.jobs) == 4

    await eventually(replayed)
    assert sorted(job.payload["i"] for job in again.jobs) == [4, 5, 6, 7]
    with pytest.raises(ValueError, match="stream id"):
        await admin.replay("jobs", "g", to="yesterday")
    await admin.close()


async def test_killed_connections_do_not_end_consume(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    redis_url: str,
    prefix: str,
) -> None:
    name = f"{prefix}-victim"
    client = AsyncRedis.from_url(redis_url, client_name=name, socket_timeout=5)
    recorder = Recorder()
    consumer = make_consumer(redis=client, process_job=recorder)
    task = running.start(consumer)
    producer = make_producer()
    killer = AsyncRedis.from_url(redis_url)

    async def handled(n: int) -> None:
        async def check() -> bool:
            return len(recorder.jobs) >= n

        await eventually(check, what=f"{n} jobs handled")

    await producer.enqueue({"n": 1})
    await handled(1)
    for _ in range(3):
        for info in await killer.client_list():
            if info.get("name") == name:
                await killer.client_kill_filter(_id=info["id"])
        await producer.enqueue({"n": len(recorder.jobs) + 1})
        await handled(len(recorder.jobs) + 1)
    assert not task.done()
    await killer.aclose()
    await consumer.stop()
    assert await task.join(10)
    await client.aclose()


@pytest.mark.parametrize("appendonly", [True, False])
async def test_redis_restart_does_not_end_consume(
    redis_server: Callable[..., RedisServer],
    make_consumer: ConsumerFactory,
    prefix: str,
    appendonly: bool,
) -> None:
    server = redis_server(appendonly=appendonly)
    producer = AsyncProducer("jobs", prefix=prefix, redis_url=server.url, partitions=2)
    recorder = Recorder()
    consumer = make_consumer(redis_url=server.url, process_job=recorder)
    task = AsyncTask("restart", consumer.consume)
    task.start()

    async def handled(n: int) -> None:
        async def check() -> bool:
            return len({job.payload["i"] for job in recorder.jobs}) >= n

        await eventually(check, timeout=20, what=f"{n} distinct jobs handled")

    await producer.batch_enqueue([{"i": i} for i in range(5)])
    await handled(5)
    server.restart()
    await pause(PARTITION_REFRESH)  # the producer's cached count is due: that read retries too
    await producer.batch_enqueue([{"i": i} for i in range(5, 10)])
    await handled(10)
    assert not task.done()
    await consumer.stop()
    assert await task.join(10)
    await producer.close()


async def test_stop_during_a_redis_outage_returns(
    redis_server: Callable[..., RedisServer], make_consumer: ConsumerFactory, prefix: str
) -> None:
    server = redis_server(appendonly=False)
    consumer = make_consumer(redis_url=server.url, process_job=Recorder())
    task = AsyncTask("outage", consumer.consume)
    task.start()

    async def owns() -> bool:
        return consumer.partitions == [0]

    await eventually(owns)
    server.stop()
    await pause(0.3)  # the outage is under way: heartbeats and reads fail
    await consumer.stop()
    # Bounded by the reconnect backoff and the connect timeout, not by the outage.
    assert await task.join(15), "consume() did not return after stop() while Redis was down"
    assert task.error is None


async def test_short_socket_timeout_does_not_time_out_an_idle_consumer(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    redis_url: str,
    prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = AsyncRedis.from_url(redis_url, socket_timeout=0.25)
    recorder = Recorder()
    consumer = make_consumer(redis=client, process_job=recorder, block_timeout=1.0)
    caplog.set_level(logging.WARNING, logger="redisaq")
    running.start(consumer)

    async def owns() -> bool:
        return consumer.partitions == [0]

    await eventually(owns)
    await pause(1.0)  # idle on an empty topic, longer than the socket timeout
    await make_producer().enqueue({"x": 1})

    async def handled() -> bool:
        return len(recorder.jobs) == 1

    await eventually(handled)
    assert "Timeout" not in caplog.text and "retrying" not in caplog.text
    await consumer.stop()


async def test_half_open_connection_does_not_hang_consume(
    make_producer: ProducerFactory,
    make_consumer: ConsumerFactory,
    running: Running,
    redis_url: str,
) -> None:
    upstream = AsyncRedis.from_url(redis_url)
    port = int(upstream.connection_pool.connection_kwargs["port"])
    await upstream.aclose()
    proxy = FreezableProxy(port)
    client = AsyncRedis.from_url(proxy.url, socket_timeout=1.0, socket_connect_timeout=1.0)
    recorder = Recorder()
    consumer = make_consumer(redis=client, process_job=recorder)
    task = running.start(consumer)
    producer = make_producer()

    async def handled(n: int) -> None:
        async def check() -> bool:
            return len(recorder.jobs) >= n

        await eventually(check, timeout=20, what=f"{n} jobs handled")

    await producer.enqueue({"n": 1})
    await handled(1)
    proxy.freeze()  # every connection the consumer holds now goes silent
    await producer.enqueue({"n": 2})
    await handled(2)
    assert not task.done()
    await consumer.stop()
    assert await task.join(15)
    await client.aclose()
    proxy.close()
