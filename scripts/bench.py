"""Benchmark redisaq against raw redis-py doing the same work, on a local Redis (issue 5).

  python scripts/bench.py                   # sections A-E, both flavors, N=20,000, 3 repeats
  python scripts/bench.py --only A,B -n 50000
  python scripts/bench.py --memory          # adds M: a consumer's RSS over 200,000 jobs (slow)
  python scripts/bench.py --quick           # small N, 1 repeat, short heartbeats (test suite)

Sections, each for the asyncio flavor (Producer/Consumer vs redis.asyncio) and the blocking
flavor (SyncProducer/SyncConsumer vs redis.Redis):

  A  single enqueue: N ``enqueue`` calls, one at a time, vs N ``XADD`` one at a time.
  B  bulk enqueue: ``batch_enqueue`` of ``--chunk`` jobs per call vs one pipeline
     (transaction=False) of ``--chunk`` XADDs per round trip.
  C  end-to-end: N jobs already queued over 4 partitions, one consumer with a no-op handler
     (process_job and process_batch, batch_size ``--batch-size``); time from consume() start
     until all N are acknowledged, vs a raw loop per partition of XREADGROUP COUNT k, a no-op
     call per job on its json-decoded payload and one XACK per batch. Also the time from
     consume() start until the first job is handled.
  D  latency: an idle consumer owning 4 partitions; jobs enqueued one by one 10 ms apart from
     the same process; enqueue call to handler start (time.perf_counter() in the payload).
     Raw: XADD, and per partition a reader looping XREADGROUP BLOCK + XACK.
  E  rebalance, with jobs flowing at 200/s: (join) a second consumer joins a running one; time
     until both handle jobs. (crash) of two consumers, one in a subprocess is SIGKILLed; time
     until the survivor handles a job of a partition the dead one owned.
  M  memory (only with --memory or --only M): a consumer in a subprocess handles
     ``--memory-jobs`` jobs; VmRSS after its first 10,000 jobs and at the end.

Raw A/B write the same entry redisaq writes (fields id = uuid4 hex, payload = compact JSON,
enqueued_at = ISO time) round-robin over the same 4 partition streams. Ratios are redisaq
throughput / raw throughput, computed per repeat; in A and B redisaq and raw alternate over 40
blocks of N/40 jobs (so both see the same background load), in C the three runs of a repeat go
in rotating order. The table shows the median and the min-max over repeats; a target is judged
on the median.
Every key lives under a per-run prefix, deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import redis
import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from redisaq import Consumer, Job, Producer, SyncConsumer, SyncProducer

SCRIPT = Path(__file__).resolve()
PARTITIONS = 4
DATA = "x" * 100
FLAVORS = ("async", "sync")
SECTIONS = "ABCDEM"
FEED_INTERVAL = 0.005  # section E: one job every 5 ms while consumers rebalance
LATENCY_GAP = 0.010  # section D: enqueue one job every 10 ms
MEMORY_WARM = 10_000  # section M: RSS baseline taken after this many jobs
BLOCKS = 40  # A/B: redisaq and raw alternate over this many blocks of jobs
WAIT = 60.0  # longest wait for any condition before the run fails


class BenchError(Exception):
    """The benchmark could not complete (a wait timed out, a subprocess failed)."""


# -- settings and results ------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    url: str
    prefix: str
    n: int
    repeat: int
    chunk: int
    batch_size: int
    latency_jobs: int
    interval: float  # heartbeat_interval of every consumer
    ttl: float  # heartbeat_ttl of every consumer
    memory_jobs: int
    sections: str

    @property
    def dead_letter(self) -> str:
        return f"{self.prefix}:dead_letter"

    def consumer_options(self) -> dict[str, Any]:
        return {
            "redis_url": self.url,
            "prefix": self.prefix,
            "batch_size": self.batch_size,
            "heartbeat_interval": self.interval,
            "heartbeat_ttl": self.ttl,
            "dead_letter": self.dead_letter,
        }


@dataclass(frozen=True)
class Target:
    on: Literal["ratio", "value"]
    op: Literal[">=", "<", "<="]
    limit: float

    def text(self) -> str:
        suffix = "× raw" if self.on == "ratio" else ""
        return f"{self.op} {self.limit:g}{suffix}"

    def holds(self, value: float) -> bool:
        if self.op == ">=":
            return value >= self.limit
        if self.op == "<":
            return value < self.limit
        return value <= self.limit


@dataclass
class Row:
    section: str
    measure: str
    flavor: str
    unit: Literal["jobs/s", "ms", "s", "MB"]
    lib: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    target: Target | None = None

    def ratios(self) -> list[float]:
        if self.unit != "jobs/s" or not self.raw:
            return []
        return [lib / raw for lib, raw in zip(self.lib, self.raw, strict=True)]

    def verdict(self) -> str:
        if self.target is None:
            return ""
        values = self.ratios() if self.target.on == "ratio" else self.lib
        return "yes" if self.target.holds(statistics.median(values)) else "NO"


def payload(i: int) -> dict[str, Any]:
    return {"i": i, "data": DATA}


def raw_entry(body: dict[str, Any]) -> dict[FieldT, EncodableT]:
    """The entry redisaq writes for the payload ``body``, built by hand."""
    return {
        "id": uuid.uuid4().hex,
        "payload": json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False),
        "enqueued_at": datetime.now(timezone.utc).isoformat(),
    }


def streams(s: Settings, topic: str) -> list[str]:
    return [f"{s.prefix}:{topic}:{p}" for p in range(PARTITIONS)]


def leases_key(s: Settings, topic: str, group: str) -> str:
    return f"{s.prefix}:{{{topic}:{group}}}:leases"


def lease_owners(reply: dict[Any, Any]) -> dict[int, str]:
    """partition -> consumer id, from HGETALL of a leases hash ("expiry:token:id")."""
    owners: dict[int, str] = {}
    for key, value in reply.items():
        text = value.decode() if isinstance(value, bytes) else str(value)
        owners[int(key)] = text.split(":", 2)[2]
    return owners


def prequeue(s: Settings, topic: str, count: int) -> None:
    """``count`` jobs spread round-robin over the topic's 4 partitions (not timed)."""
    with SyncProducer(topic, redis_url=s.url, prefix=s.prefix, partitions=PARTITIONS) as producer:
        for start in range(0, count, 10_000):
            producer.batch_enqueue(payload(i) for i in range(start, min(count, start + 10_000)))


def delete_prefix(url: str, prefix: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.unlink(*keys[start : start + 500])
        return len(keys)
    finally:
        client.close()


def deadline_check(deadline: float, what: str) -> None:
    if time.perf_counter() > deadline:
        raise BenchError(f"timed out waiting for {what}")


class Tracker:
    """What a handler saw: (perf_counter, partition) per job; append is thread-safe."""

    def __init__(self, target: int = 0) -> None:
        self.events: list[tuple[float, int]] = []
        self.target = target
        self.done = threading.Event()
        self._counter = itertools.count(1)  # next() is atomic: no lock on the hot path
        self.count = 0

    def seen(self, job: Job) -> None:
        self.events.append((time.perf_counter(), job.partition))

    def add(self, k: int) -> bool:
        """Count ``k`` handled jobs (safe from several threads); True once all are in."""
        if not self.events:
            self.events.append((time.perf_counter(), -1))
        n = 0
        for _ in range(k):
            n = next(self._counter)
        self.count = n  # for messages only
        if n >= self.target:
            self.done.set()
            return True
        return False

    def first(self) -> float:
        return self.events[0][0]

    def first_after(self, t0: float, partitions: Sequence[int] | None = None) -> float | None:
        for t, p in list(self.events):
            if t >= t0 and (partitions is None or p in partitions):
                return t
        return None


Block = Callable[[int, int], float]  # (first job, end) -> seconds spent
AsyncBlock = Callable[[int, int], Awaitable[float]]


def blocks(s: Settings, unit: int) -> list[tuple[int, int]]:
    """N split into ~BLOCKS runs of whole ``unit``s, for interleaving redisaq and raw."""
    size = max(unit, (s.n // BLOCKS) // unit * unit)
    return [(start, min(s.n, start + size)) for start in range(0, s.n, size)]


def interleave(s: Settings, rep: int, unit: int, lib: Block, raw: Block) -> tuple[float, float]:
    """Total seconds of each over all blocks; which one goes first alternates per block,
    so both see the same background load."""
    lib_t = raw_t = 0.0
    for k, (start, stop) in enumerate(blocks(s, unit)):
        if (k + rep) % 2:
            lib_t += lib(start, stop)
            raw_t += raw(start, stop)
        else:
            raw_t += raw(start, stop)
            lib_t += lib(start, stop)
    return lib_t, raw_t


async def ainterleave(
    s: Settings, rep: int, unit: int, lib: AsyncBlock, raw: AsyncBlock
) -> tuple[float, float]:
    lib_t = raw_t = 0.0
    for k, (start, stop) in enumerate(blocks(s, unit)):
        if (k + rep) % 2:
            lib_t += await lib(start, stop)
            raw_t += await raw(start, stop)
        else:
            raw_t += await raw(start, stop)
            lib_t += await lib(start, stop)
    return lib_t, raw_t


async def noop_async(value: object) -> None:
    return None


def noop_sync(value: object) -> None:
    return None


# -- A. single enqueue / B. bulk enqueue ----------------------------------------------------


async def ab_async(s: Settings, rep: int, bulk: bool) -> tuple[float, float]:
    """jobs/s of redisaq and of raw redis.asyncio, one at a time or in chunks."""
    name = "b" if bulk else "a"
    raw = aioredis.Redis.from_url(s.url)
    producer = Producer(f"{name}-async-lib-{rep}", redis_url=s.url, prefix=s.prefix, partitions=4)
    keys = streams(s, f"{name}-async-raw-{rep}")

    async def raw_one(start: int, stop: int) -> float:
        t0 = time.perf_counter()
        for i in range(start, stop):
            await raw.xadd(keys[i % PARTITIONS], raw_entry(payload(i)))
        return time.perf_counter() - t0

    async def lib_one(start: int, stop: int) -> float:
        t0 = time.perf_counter()
        for i in range(start, stop):
            await producer.enqueue(payload(i))
        return time.perf_counter() - t0

    async def raw_bulk(start: int, stop: int) -> float:
        t0 = time.perf_counter()
        for first in range(start, stop, s.chunk):
            pipe = raw.pipeline(transaction=False)
            for i in range(first, min(stop, first + s.chunk)):
                pipe.xadd(keys[i % PARTITIONS], raw_entry(payload(i)))
            await pipe.execute()
        return time.perf_counter() - t0

    async def lib_bulk(start: int, stop: int) -> float:
        t0 = time.perf_counter()
        for first in range(start, stop, s.chunk):
            await producer.batch_enqueue(
                [payload(i) for i in range(first, min(stop, first + s.chunk))]
            )
        return time.perf_counter() - t0

    try:
        await raw.ping()
        await producer.num_partitions()  # opens the connection, creates the partitions
        if bulk:
            lib_t, raw_t = await ainterleave(s, rep, s.chunk, lib_bulk, raw_bulk)
        else:
            lib_t, raw_t = await ainterleave(s, rep, 1, lib_one, raw_one)
    finally:
        await producer.close()
        await raw.aclose()
    return s.n / lib_t, s.n / raw_t


def ab_sync(s: Settings, rep: int, bulk: bool) -> tuple[float, float]:
    """jobs/s of redisaq and of raw redis.Redis, one at a time or in chunks."""
    name = "b" if bulk else "a"
    raw = redis.Redis.from_url(s.url)
    producer = SyncProducer(
        f"{name}-sync-lib-{rep}", redis_url=s.url, prefix=s.prefix, partitions=4
    )
    keys = streams(s, f"{name}-sync-raw-{rep}")

    def raw_one(start: int, stop: int) -> float:
        t0 = time.perf_counter()
        for i in range(start, stop):
            raw.xadd(keys[i % PARTITIONS], raw_entry(payload(i)))
        return time.perf_counter() - t0

    def lib_one(start: int, stop: int) -> float:
        t0 = time.perf_counter()
        for i in range(start, stop):
            producer.enqueue(payload(i))
        return time.perf_counter() - t0

    def raw_bulk(start: int, stop: int) -> float:
        t0 = time.perf_counter()
        for first in range(start, stop, s.chunk):
            pipe = raw.pipeline(transaction=False)
            for i in range(first, min(stop, first + s.chunk)):
                pipe.xadd(keys[i % PARTITIONS], raw_entry(payload(i)))
            pipe.execute()
        return time.perf_counter() - t0

    def lib_bulk(start: int, stop: int) -> float:
        t0 = time.perf_counter()
        for first in range(start, stop, s.chunk):
            producer.batch_enqueue([payload(i) for i in range(first, min(stop, first + s.chunk))])
        return time.perf_counter() - t0

    try:
        raw.ping()
        producer.num_partitions()
        if bulk:
            lib_t, raw_t = interleave(s, rep, s.chunk, lib_bulk, raw_bulk)
        else:
            lib_t, raw_t = interleave(s, rep, 1, lib_one, raw_one)
    finally:
        producer.close()
        raw.close()
    return s.n / lib_t, s.n / raw_t


# -- C. end-to-end on a backlog ------------------------------------------------------------


@dataclass
class Drain:
    """One end-to-end run: seconds until all acknowledged, seconds until the first job."""

    total: float
    first: float


async def c_async_lib(s: Settings, topic: str, group: str, batch: bool) -> Drain:
    tracker = Tracker(s.n)
    done = asyncio.Event()

    async def on_job(job: Job) -> None:
        if tracker.add(1):
            done.set()

    async def on_batch(jobs: list[Job]) -> None:
        if tracker.add(len(jobs)):
            done.set()

    consumer = Consumer(
        topic,
        group=group,
        process_job=None if batch else on_job,
        process_batch=on_batch if batch else None,
        **s.consumer_options(),
    )
    check = aioredis.Redis.from_url(s.url)
    await check.ping()
    try:
        t0 = time.perf_counter()
        task = asyncio.create_task(consumer.consume())
        await asyncio.wait_for(done.wait(), WAIT)
        await wait_acked_async(check, streams(s, topic), group)
        total = time.perf_counter() - t0
        await consumer.stop()
        await asyncio.wait_for(task, WAIT)
    finally:
        await check.aclose()
    return Drain(total, tracker.first() - t0)


async def wait_acked_async(client: aioredis.Redis, keys: list[str], group: str) -> None:
    deadline = time.perf_counter() + WAIT
    while True:
        pending = 0
        for key in keys:
            pending += int((await client.xpending(key, group))["pending"])
        if pending == 0:
            return
        deadline_check(deadline, "acknowledgements")
        await asyncio.sleep(0.0005)


async def c_async_raw(s: Settings, topic: str, group: str) -> Drain:
    client = aioredis.Redis.from_url(s.url)
    await client.ping()
    first: list[float] = []

    async def work(key: str) -> None:
        while True:
            reply: Any = await client.xreadgroup(group, "raw", {key: ">"}, count=s.batch_size)
            if not reply:
                return
            ids = []
            for entry_id, fields in reply[0][1]:
                await noop_async(json.loads(fields[b"payload"]))
                ids.append(entry_id)
            if not first:
                first.append(time.perf_counter())
            await client.xack(key, group, *ids)

    try:
        t0 = time.perf_counter()
        keys = streams(s, topic)
        for key in keys:
            await client.xgroup_create(key, group, id="0")
        await asyncio.gather(*(work(key) for key in keys))
        total = time.perf_counter() - t0
    finally:
        await client.aclose()
    return Drain(total, first[0] - t0)


def c_sync_lib(s: Settings, topic: str, group: str, batch: bool) -> Drain:
    tracker = Tracker(s.n)

    def on_job(job: Job) -> None:
        tracker.add(1)

    def on_batch(jobs: list[Job]) -> None:
        tracker.add(len(jobs))

    consumer = SyncConsumer(
        topic,
        group=group,
        process_job=None if batch else on_job,
        process_batch=on_batch if batch else None,
        **s.consumer_options(),
    )
    check = redis.Redis.from_url(s.url)
    check.ping()
    try:
        t0 = time.perf_counter()
        thread = threading.Thread(target=consumer.consume, daemon=True)
        thread.start()
        if not tracker.done.wait(WAIT):
            raise BenchError(f"sync consumer handled {tracker.count} of {s.n} jobs")
        wait_acked_sync(check, streams(s, topic), group)
        total = time.perf_counter() - t0
        consumer.stop()
        thread.join(WAIT)
    finally:
        check.close()
    return Drain(total, tracker.first() - t0)


def wait_acked_sync(client: redis.Redis, keys: list[str], group: str) -> None:
    deadline = time.perf_counter() + WAIT
    while sum(int(client.xpending(key, group)["pending"]) for key in keys):
        deadline_check(deadline, "acknowledgements")
        time.sleep(0.0005)


def c_sync_raw(s: Settings, topic: str, group: str) -> Drain:
    client = redis.Redis.from_url(s.url)
    client.ping()
    first: list[float] = []
    errors: list[BaseException] = []

    def work(key: str) -> None:
        try:
            while True:
                reply: Any = client.xreadgroup(group, "raw", {key: ">"}, count=s.batch_size)
                if not reply:
                    return
                ids = []
                for entry_id, fields in reply[0][1]:
                    noop_sync(json.loads(fields[b"payload"]))
                    ids.append(entry_id)
                if not first:
                    first.append(time.perf_counter())
                client.xack(key, group, *ids)
        except BaseException as exc:
            errors.append(exc)

    try:
        t0 = time.perf_counter()
        keys = streams(s, topic)
        for key in keys:
            client.xgroup_create(key, group, id="0")
        threads = [threading.Thread(target=work, args=(key,)) for key in keys]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        total = time.perf_counter() - t0
    finally:
        client.close()
    if errors:
        raise errors[0]
    return Drain(total, first[0] - t0)


# -- D. latency ----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def d_async(s: Settings, rep: int) -> list[float]:
    topic = f"d-async-{rep}"
    latencies: list[float] = []

    async def on_job(job: Job) -> None:
        latencies.append(time.perf_counter() - job.payload["t"])

    consumer = Consumer(topic, group="d", process_job=on_job, **s.consumer_options())
    producer = Producer(topic, redis_url=s.url, prefix=s.prefix, partitions=PARTITIONS)
    await producer.num_partitions()
    task = asyncio.create_task(consumer.consume())
    try:
        deadline = time.perf_counter() + WAIT
        while consumer.partitions != list(range(PARTITIONS)):
            deadline_check(deadline, "the consumer to own every partition")
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # every worker is in its blocking read
        warm = 5
        start = time.perf_counter()
        for i in range(s.latency_jobs + warm):
            await asyncio.sleep(max(0.0, start + i * LATENCY_GAP - time.perf_counter()))
            await producer.enqueue({**payload(i), "t": time.perf_counter()})
        while len(latencies) < s.latency_jobs + warm:
            deadline_check(deadline, "latency jobs")
            await asyncio.sleep(0.01)
    finally:
        await consumer.stop()
        await asyncio.wait_for(task, WAIT)
        await producer.close()
    return [x * 1000 for x in latencies[warm:]]


def d_sync(s: Settings, rep: int) -> list[float]:
    topic = f"d-sync-{rep}"
    latencies: list[float] = []

    def on_job(job: Job) -> None:
        latencies.append(time.perf_counter() - job.payload["t"])

    consumer = SyncConsumer(topic, group="d", process_job=on_job, **s.consumer_options())
    producer = SyncProducer(topic, redis_url=s.url, prefix=s.prefix, partitions=PARTITIONS)
    producer.num_partitions()
    thread = threading.Thread(target=consumer.consume, daemon=True)
    thread.start()
    try:
        deadline = time.perf_counter() + WAIT
        while consumer.partitions != list(range(PARTITIONS)):
            deadline_check(deadline, "the consumer to own every partition")
            time.sleep(0.01)
        time.sleep(0.3)
        warm = 5
        start = time.perf_counter()
        for i in range(s.latency_jobs + warm):
            time.sleep(max(0.0, start + i * LATENCY_GAP - time.perf_counter()))
            producer.enqueue({**payload(i), "t": time.perf_counter()})
        while len(latencies) < s.latency_jobs + warm:
            deadline_check(deadline, "latency jobs")
            time.sleep(0.01)
    finally:
        consumer.stop()
        thread.join(WAIT)
        producer.close()
    return [x * 1000 for x in latencies[warm:]]


# -- E. rebalance --------------------------------------------------------------------------


async def d_async_raw(s: Settings, rep: int) -> list[float]:
    """The same as d_async with redis.asyncio: XADD, and per partition a task looping
    XREADGROUP BLOCK, json.loads, XACK."""
    keys = streams(s, f"d-async-raw-{rep}")
    producer, reader = aioredis.Redis.from_url(s.url), aioredis.Redis.from_url(s.url)
    latencies: list[float] = []
    stop = asyncio.Event()

    async def work(key: str) -> None:
        while not stop.is_set():
            reply: Any = await reader.xreadgroup(
                "d", "raw", {key: ">"}, count=s.batch_size, block=100
            )
            if not reply:
                continue
            ids = []
            for entry_id, fields in reply[0][1]:
                latencies.append(time.perf_counter() - json.loads(fields[b"payload"])["t"])
                ids.append(entry_id)
            await reader.xack(key, "d", *ids)

    for key in keys:
        await reader.xgroup_create(key, "d", id="0", mkstream=True)
    await producer.ping()
    tasks = [asyncio.create_task(work(key)) for key in keys]
    try:
        await asyncio.sleep(0.3)
        warm = 5
        start = time.perf_counter()
        for i in range(s.latency_jobs + warm):
            await asyncio.sleep(max(0.0, start + i * LATENCY_GAP - time.perf_counter()))
            body = {**payload(i), "t": time.perf_counter()}
            await producer.xadd(keys[i % PARTITIONS], raw_entry(body))
        await until_async(lambda: len(latencies) >= s.latency_jobs + warm, "latency jobs")
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await producer.aclose()
        await reader.aclose()
    return [x * 1000 for x in latencies[warm:]]


def d_sync_raw(s: Settings, rep: int) -> list[float]:
    keys = streams(s, f"d-sync-raw-{rep}")
    producer, reader = redis.Redis.from_url(s.url), redis.Redis.from_url(s.url)
    latencies: list[float] = []
    stop = threading.Event()

    def work(key: str) -> None:
        while not stop.is_set():
            reply: Any = reader.xreadgroup("d", "raw", {key: ">"}, count=s.batch_size, block=100)
            if not reply:
                continue
            ids = []
            for entry_id, fields in reply[0][1]:
                latencies.append(time.perf_counter() - json.loads(fields[b"payload"])["t"])
                ids.append(entry_id)
            reader.xack(key, "d", *ids)

    for key in keys:
        reader.xgroup_create(key, "d", id="0", mkstream=True)
    producer.ping()
    threads = [threading.Thread(target=work, args=(key,), daemon=True) for key in keys]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        warm = 5
        start = time.perf_counter()
        for i in range(s.latency_jobs + warm):
            time.sleep(max(0.0, start + i * LATENCY_GAP - time.perf_counter()))
            body = {**payload(i), "t": time.perf_counter()}
            producer.xadd(keys[i % PARTITIONS], raw_entry(body))
        until_sync(lambda: len(latencies) >= s.latency_jobs + warm, "latency jobs")
    finally:
        stop.set()
        for thread in threads:
            thread.join(WAIT)
        producer.close()
        reader.close()
    return [x * 1000 for x in latencies[warm:]]


@dataclass
class Rebalance:
    join: float  # second consumer starts -> both have handled a job
    crash: float  # SIGKILL -> the survivor handles a job of a dead consumer's partition


def child_command(s: Settings, flavor: str, topic: str, group: str, consumer_id: str) -> list[str]:
    return [
        sys.executable,
        str(SCRIPT),
        "--child",
        "consumer",
        "--flavor",
        flavor,
        "--redis-url",
        s.url,
        "--prefix",
        s.prefix,
        "--topic",
        topic,
        "--group",
        group,
        "--consumer-id",
        consumer_id,
        "--heartbeat-interval",
        str(s.interval),
        "--heartbeat-ttl",
        str(s.ttl),
    ]


class Child:
    """A consumer subprocess (this script with --child); stderr kept for error messages."""

    def __init__(self, command: list[str]) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115  # closed by close()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self._log)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(f"consumer subprocess exited early:\n{self.stderr()}")

    def stderr(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-3000:]

    def close(self) -> None:
        self.kill()
        self._log.close()


async def until_async(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        deadline_check(deadline, what)
        await asyncio.sleep(0.002)


def until_sync(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        deadline_check(deadline, what)
        time.sleep(0.002)


class AsyncFeeder:
    """Enqueues one job every FEED_INTERVAL in the background until stopped."""

    def __init__(self, s: Settings, topic: str) -> None:
        self._producer = Producer(topic, redis_url=s.url, prefix=s.prefix, partitions=PARTITIONS)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._producer.num_partitions()
        self._task = asyncio.create_task(self._feed())

    async def _feed(self) -> None:
        i = 0
        while not self._stop.is_set():
            await self._producer.enqueue(payload(i))
            i += 1
            await asyncio.sleep(FEED_INTERVAL)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        await self._producer.close()


class SyncFeeder:
    def __init__(self, s: Settings, topic: str) -> None:
        self._producer = SyncProducer(
            topic, redis_url=s.url, prefix=s.prefix, partitions=PARTITIONS
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, daemon=True)

    def start(self) -> None:
        self._producer.num_partitions()
        self._thread.start()

    def _feed(self) -> None:
        i = 0
        while not self._stop.is_set():
            self._producer.enqueue(payload(i))
            i += 1
            self._stop.wait(FEED_INTERVAL)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(WAIT)
        self._producer.close()


async def e_async(s: Settings, rep: int) -> Rebalance:
    return Rebalance(await e_join_async(s, rep), await e_crash_async(s, rep))


async def e_join_async(s: Settings, rep: int) -> float:
    topic = f"e-join-async-{rep}"
    first, second = Tracker(), Tracker()

    async def on_first(job: Job) -> None:
        first.seen(job)

    async def on_second(job: Job) -> None:
        second.seen(job)

    old = Consumer(topic, group="g", consumer_id="a", process_job=on_first, **s.consumer_options())
    new = Consumer(topic, group="g", consumer_id="b", process_job=on_second, **s.consumer_options())
    feeder = AsyncFeeder(s, topic)
    await feeder.start()
    tasks = [asyncio.create_task(old.consume())]
    try:
        await until_async(
            lambda: old.partitions == list(range(PARTITIONS)) and bool(first.events),
            "the first consumer to own every partition",
        )
        await asyncio.sleep(0.2)
        t0 = time.perf_counter()
        tasks.append(asyncio.create_task(new.consume()))
        await until_async(
            lambda: first.first_after(t0) is not None and second.first_after(t0) is not None,
            "both consumers to handle jobs",
        )
        a, b = first.first_after(t0), second.first_after(t0)
        assert a is not None and b is not None
        return max(a, b) - t0
    finally:
        await old.stop()
        await new.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
        await feeder.stop()


async def e_crash_async(s: Settings, rep: int) -> float:
    topic, group = f"e-crash-async-{rep}", "g"
    survivor = Tracker()

    async def on_job(job: Job) -> None:
        survivor.seen(job)

    # Sorted ids give the child ("k") partitions 0 and 2, the survivor ("s") 1 and 3.
    consumer = Consumer(
        topic, group=group, consumer_id="s", process_job=on_job, **s.consumer_options()
    )
    feeder = AsyncFeeder(s, topic)
    check = aioredis.Redis.from_url(s.url)
    await feeder.start()
    task = asyncio.create_task(consumer.consume())
    child = Child(child_command(s, "async", topic, group, "k"))
    try:
        expected = {0: "k", 1: "s", 2: "k", 3: "s"}
        deadline = time.perf_counter() + WAIT
        while not (
            lease_owners(await check.hgetall(leases_key(s, topic, group))) == expected
            and consumer.partitions == [1, 3]
        ):
            child.check_alive()
            deadline_check(deadline, "the partitions to split between survivor and child")
            await asyncio.sleep(0.01)
        # The child handles jobs for a while; the kill lands at a random point of its
        # heartbeat cycle.
        await asyncio.sleep(s.interval + random.uniform(0, s.interval))
        child.check_alive()
        t0 = time.perf_counter()
        child.kill()
        await until_async(
            lambda: survivor.first_after(t0, (0, 2)) is not None,
            "the survivor to handle the dead consumer's partitions",
            s.ttl + WAIT,
        )
        handled = survivor.first_after(t0, (0, 2))
        assert handled is not None
        return handled - t0
    finally:
        child.close()
        await consumer.stop()
        await asyncio.wait_for(task, WAIT)
        await feeder.stop()
        await check.aclose()


def e_sync(s: Settings, rep: int) -> Rebalance:
    return Rebalance(e_join_sync(s, rep), e_crash_sync(s, rep))


def e_join_sync(s: Settings, rep: int) -> float:
    topic = f"e-join-sync-{rep}"
    first, second = Tracker(), Tracker()
    opts = s.consumer_options()
    old = SyncConsumer(topic, group="g", consumer_id="a", process_job=first.seen, **opts)
    new = SyncConsumer(topic, group="g", consumer_id="b", process_job=second.seen, **opts)
    feeder = SyncFeeder(s, topic)
    feeder.start()
    threads = [threading.Thread(target=old.consume, daemon=True)]
    threads[0].start()
    try:
        until_sync(
            lambda: old.partitions == list(range(PARTITIONS)) and bool(first.events),
            "the first consumer to own every partition",
        )
        time.sleep(0.2)
        t0 = time.perf_counter()
        threads.append(threading.Thread(target=new.consume, daemon=True))
        threads[1].start()
        until_sync(
            lambda: first.first_after(t0) is not None and second.first_after(t0) is not None,
            "both consumers to handle jobs",
        )
        a, b = first.first_after(t0), second.first_after(t0)
        assert a is not None and b is not None
        return max(a, b) - t0
    finally:
        old.stop()
        new.stop()
        for thread in threads:
            thread.join(WAIT)
        feeder.stop()


def e_crash_sync(s: Settings, rep: int) -> float:
    topic, group = f"e-crash-sync-{rep}", "g"
    survivor = Tracker()
    consumer = SyncConsumer(
        topic, group=group, consumer_id="s", process_job=survivor.seen, **s.consumer_options()
    )
    feeder = SyncFeeder(s, topic)
    check = redis.Redis.from_url(s.url)
    feeder.start()
    thread = threading.Thread(target=consumer.consume, daemon=True)
    thread.start()
    child = Child(child_command(s, "sync", topic, group, "k"))
    try:
        expected = {0: "k", 1: "s", 2: "k", 3: "s"}
        deadline = time.perf_counter() + WAIT
        while not (
            lease_owners(check.hgetall(leases_key(s, topic, group))) == expected
            and consumer.partitions == [1, 3]
        ):
            child.check_alive()
            deadline_check(deadline, "the partitions to split between survivor and child")
            time.sleep(0.01)
        time.sleep(s.interval + random.uniform(0, s.interval))
        child.check_alive()
        t0 = time.perf_counter()
        child.kill()
        until_sync(
            lambda: survivor.first_after(t0, (0, 2)) is not None,
            "the survivor to handle the dead consumer's partitions",
            s.ttl + WAIT,
        )
        handled = survivor.first_after(t0, (0, 2))
        assert handled is not None
        return handled - t0
    finally:
        child.close()
        consumer.stop()
        thread.join(WAIT)
        feeder.stop()
        check.close()


# -- M. memory -----------------------------------------------------------------------------


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError("no VmRSS in /proc/self/status")


def memory_warm(jobs: int) -> int:
    return min(MEMORY_WARM, max(100, jobs // 10))


class MemoryProbe:
    """Counts handled jobs; reads VmRSS after the warm-up and at the end."""

    def __init__(self, warm: int, total: int) -> None:
        self.warm, self.total = warm, total
        self.count = 0
        self.marks: dict[str, int] = {"start": rss_kb()}
        self.done = threading.Event()
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.count += 1
            if self.count == self.warm:
                self.marks["warm"] = rss_kb()
            elif self.count == self.total:
                self.marks["end"] = rss_kb()
                self.done.set()


def child_memory(s: Settings, flavor: str, topic: str, group: str) -> dict[str, int]:
    warm = memory_warm(s.memory_jobs)
    probe = MemoryProbe(warm, warm + s.memory_jobs)
    if flavor == "async":

        async def on_job(job: Job) -> None:
            probe.add()

        async def main() -> None:
            consumer = Consumer(topic, group=group, process_job=on_job, **s.consumer_options())
            task = asyncio.create_task(consumer.consume())
            while not probe.done.is_set():
                await asyncio.sleep(0.05)
                if task.done():
                    await task
                    raise BenchError("consumer stopped early")
            await consumer.stop()
            await task

        asyncio.run(main())
    else:

        def on_sync_job(job: Job) -> None:
            probe.add()

        consumer = SyncConsumer(topic, group=group, process_job=on_sync_job, **s.consumer_options())
        thread = threading.Thread(target=consumer.consume, daemon=True)
        thread.start()
        while not probe.done.wait(0.05):
            if not thread.is_alive():
                raise BenchError("consumer stopped early")
        consumer.stop()
        thread.join(WAIT)
    return {**probe.marks, "jobs": s.memory_jobs, "warm_jobs": warm}


def m_run(s: Settings, flavor: str) -> dict[str, int]:
    topic, group = f"m-{flavor}", "m"
    prequeue(s, topic, s.memory_jobs + memory_warm(s.memory_jobs))
    command = [
        sys.executable,
        str(SCRIPT),
        "--child",
        "memory",
        "--flavor",
        flavor,
        "--redis-url",
        s.url,
        "--prefix",
        s.prefix,
        "--topic",
        topic,
        "--group",
        group,
        "--memory-jobs",
        str(s.memory_jobs),
        "--batch-size",
        str(s.batch_size),
        "--heartbeat-interval",
        str(s.interval),
        "--heartbeat-ttl",
        str(s.ttl),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120 + s.memory_jobs / 500, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"memory subprocess failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- running and reporting -----------------------------------------------------------------


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_a_b(s: Settings, rows: list[Row]) -> None:
    specs = [
        ("A", "single enqueue", Target("ratio", ">=", 0.9), False),
        ("B", f"batch_enqueue x{s.chunk:,}", Target("ratio", ">=", 0.8), True),
    ]
    for section, measure, target, bulk in specs:
        if section not in s.sections:
            continue
        made = {f: Row(section, measure, f, "jobs/s", target=target) for f in FLAVORS}
        rows.extend(made.values())
        for rep in range(s.repeat):
            for flavor in FLAVORS:
                if flavor == "async":
                    lib, raw = asyncio.run(ab_async(s, rep, bulk))
                else:
                    lib, raw = ab_sync(s, rep, bulk)
                made[flavor].lib.append(lib)
                made[flavor].raw.append(raw)
                progress(f"{section} {rep + 1}/{s.repeat} {flavor}: {lib:,.0f} vs raw {raw:,.0f}/s")
            delete_prefix(s.url, s.prefix)


def c_drain(s: Settings, flavor: str, topic: str, kind: str, run: int) -> Drain:
    """One C run on the backlog of ``topic``, with a group of its own."""
    group = f"{kind}-{flavor}-{run}"
    if flavor == "async":
        if kind == "raw":
            return asyncio.run(c_async_raw(s, topic, group))
        return asyncio.run(c_async_lib(s, topic, group, kind == "batch"))
    if kind == "raw":
        return c_sync_raw(s, topic, group)
    return c_sync_lib(s, topic, group, kind == "batch")


def run_c(s: Settings, rows: list[Row]) -> None:
    made: dict[tuple[str, str], Row] = {}
    for flavor in FLAVORS:
        b = f"b={s.batch_size}"
        made[flavor, "job"] = Row("C", f"process_job {b}", flavor, "jobs/s")
        made[flavor, "job"].target = Target("ratio", ">=", 0.35)
        made[flavor, "batch"] = Row("C", f"process_batch {b}", flavor, "jobs/s")
        made[flavor, "batch"].target = Target("ratio", ">=", 0.7)
        made[flavor, "first"] = Row("C", "first job on backlog", flavor, "ms")
        made[flavor, "first"].target = Target("value", "<", 100)
    rows.extend(made.values())
    for rep in range(s.repeat):
        topic = f"c-{rep}"
        prequeue(s, topic, s.n)
        for flavor in FLAVORS:
            # Each kind runs twice, in mirrored order (e.g. raw job batch batch job raw), so
            # a burst of background load is less likely to land on one kind only.
            order = ["raw", "job", "batch"]
            order = order[rep % 3 :] + order[: rep % 3]
            got: dict[str, list[Drain]] = {kind: [] for kind in order}
            for run, kind in enumerate(order + order[::-1]):
                got[kind].append(c_drain(s, flavor, topic, kind, run))
            rate = {kind: 2 * s.n / sum(d.total for d in runs) for kind, runs in got.items()}
            for kind in ("job", "batch"):
                made[flavor, kind].lib.append(rate[kind])
                made[flavor, kind].raw.append(rate["raw"])
            # every run of a consumer on the backlog counts for the first-job time
            made[flavor, "first"].lib.extend(d.first * 1000 for d in got["job"] + got["batch"])
            made[flavor, "first"].raw.extend(d.first * 1000 for d in got["raw"])
            progress(
                f"C {rep + 1}/{s.repeat} {flavor}: job {rate['job']:,.0f}, "
                f"batch {rate['batch']:,.0f}, raw {rate['raw']:,.0f} jobs/s; "
                "first job "
                + ", ".join(f"{d.first * 1000:.1f}" for d in got["job"] + got["batch"])
                + " ms"
            )
        delete_prefix(s.url, s.prefix)


def d_latencies(s: Settings, flavor: str, kind: str, rep: int) -> list[float]:
    if flavor == "async":
        return asyncio.run(d_async(s, rep) if kind == "lib" else d_async_raw(s, rep))
    return d_sync(s, rep) if kind == "lib" else d_sync_raw(s, rep)


def run_d(s: Settings, rows: list[Row]) -> None:
    p50 = {f: Row("D", "latency p50", f, "ms", target=Target("value", "<", 1.5)) for f in FLAVORS}
    p99 = {f: Row("D", "latency p99", f, "ms", target=Target("value", "<", 5.0)) for f in FLAVORS}
    for flavor in FLAVORS:
        rows.extend((p50[flavor], p99[flavor]))
    for rep in range(s.repeat):
        for flavor in FLAVORS:
            order = ("raw", "lib") if rep % 2 == 0 else ("lib", "raw")
            got = {kind: d_latencies(s, flavor, kind, rep) for kind in order}
            lib, raw = got["lib"], got["raw"]
            for row, q in ((p50[flavor], 0.5), (p99[flavor], 0.99)):
                row.lib.append(percentile(lib, q))
                row.raw.append(percentile(raw, q))
            progress(
                f"D {rep + 1}/{s.repeat} {flavor}: p50 {p50[flavor].lib[-1]:.2f} ms, "
                f"p99 {p99[flavor].lib[-1]:.2f} ms, max {max(lib):.2f} ms; raw p50 "
                f"{p50[flavor].raw[-1]:.2f} ms, p99 {p99[flavor].raw[-1]:.2f} ms"
            )
        delete_prefix(s.url, s.prefix)


def run_e(s: Settings, rows: list[Row]) -> None:
    join = {
        f: Row("E", "join: both handle jobs", f, "s", target=Target("value", "<", 2.0))
        for f in FLAVORS
    }
    crash = {
        f: Row(
            "E",
            f"crash: partitions back (ttl {s.ttl:g}s)",
            f,
            "s",
            target=Target("value", "<=", s.ttl + 2),
        )
        for f in FLAVORS
    }
    for flavor in FLAVORS:
        rows.extend((join[flavor], crash[flavor]))
    for rep in range(s.repeat):
        for flavor in FLAVORS:
            got = asyncio.run(e_async(s, rep)) if flavor == "async" else e_sync(s, rep)
            join[flavor].lib.append(got.join)
            crash[flavor].lib.append(got.crash)
            progress(
                f"E {rep + 1}/{s.repeat} {flavor}: join {got.join:.3f} s, crash {got.crash:.3f} s"
            )
        delete_prefix(s.url, s.prefix)


def run_m(s: Settings, rows: list[Row]) -> None:
    warm = memory_warm(s.memory_jobs)
    for flavor in FLAVORS:
        got = m_run(s, flavor)
        start, warmed, end = got["start"] / 1024, got["warm"] / 1024, got["end"] / 1024
        rows.append(Row("M", f"RSS after {warm:,} jobs", flavor, "MB", lib=[warmed]))
        rows.append(
            Row(
                "M",
                f"RSS growth, next {s.memory_jobs:,} jobs",
                flavor,
                "MB",
                lib=[end - warmed],
                target=Target("value", "<", 20),
            )
        )
        rows.append(Row("M", "RSS growth from start", flavor, "MB", lib=[end - start]))
        progress(f"M {flavor}: start {start:.1f} MB, warm {warmed:.1f} MB, end {end:.1f} MB")
        delete_prefix(s.url, s.prefix)


def spread(values: Sequence[float], unit: str) -> str:
    def one(value: float) -> str:
        if unit == "jobs/s":
            return f"{value:,.0f}"
        if unit == "MB":
            return f"{value:.1f}"
        if unit == "ms":
            return f"{value:.2f}"
        return f"{value:.3f}"

    if not values:
        return "-"
    median = one(statistics.median(values))
    if len(values) == 1:
        return median
    return f"{median} ({one(min(values))}-{one(max(values))})"


def table(rows: Sequence[Row]) -> str:
    header = ("", "measure", "flavor", "unit", "redisaq", "raw redis-py", "ratio", "target", "ok")
    lines = [header]
    for row in rows:
        ratios = row.ratios()
        ratio = "-"
        if ratios:
            ratio = (
                f"{statistics.median(ratios):.2f}"
                if len(ratios) == 1
                else f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
            )
        lines.append(
            (
                row.section,
                row.measure,
                row.flavor,
                row.unit,
                spread(row.lib, row.unit),
                spread(row.raw, row.unit),
                ratio,
                row.target.text() if row.target else "",
                row.verdict(),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = {4, 5, 6}
    out = []
    for n, line in enumerate(lines):
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        ]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def revision() -> str:
    """The git commit of the tree measured, with "+dirty" for local changes; "" outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=SCRIPT.parent.parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "redisaq"],
            cwd=SCRIPT.parent.parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"redisaq at {head}{'+dirty' if dirty else ''}; "


def describe(s: Settings) -> str:
    client = redis.Redis.from_url(s.url)
    try:
        version = client.info("server").get("redis_version", "?")
    finally:
        client.close()
    return (
        f"redisaq benchmark: {revision()}Redis {version} at {s.url}; "
        f"Python {platform.python_version()}, redis-py {redis.__version__}, "
        f"{os.cpu_count()} CPUs\n"
        f"N={s.n:,} jobs, payload {{'i': n, 'data': 'x' * 100}}, {PARTITIONS} partitions, "
        f"{s.repeat} repeat(s): median (min-max)\n"
        f"B: {s.chunk:,} jobs per batch_enqueue call / per raw pipeline; C: batch_size and "
        f"XREADGROUP COUNT {s.batch_size}; consumers: heartbeat_interval {s.interval:g}s, "
        f"heartbeat_ttl {s.ttl:g}s, block_timeout 1s\n"
        f"D: {s.latency_jobs} jobs 10 ms apart per run; E: jobs flowing at "
        f"{1 / FEED_INTERVAL:.0f}/s"
    )


NOTES = """\
ratio = redisaq jobs/s / raw jobs/s per repeat (>1: redisaq faster). Raw A/B write the same
three-field entry (uuid4 id, compact JSON payload, ISO time). Raw C: one reader per partition
(an asyncio task / a thread) looping XREADGROUP COUNT k, json.loads + a no-op per job, one XACK
per batch, on the same backlog (its own group). C times run from consume() start until
XPENDING shows all N acknowledged; each kind runs twice per repeat (mirrored order) and its
rate is over both runs; "first job" pools every consumer run (4 per repeat, 2 raw).
D: enqueue() call to handler start, producer in the same process; raw: XADD call to the start
of a raw reader's handling of the entry. E join: second consumer's consume() start until both
consumers have handled a job since; E crash: SIGKILL of the subprocess consumer until the
survivor handles a job of the partitions it owned (kill at a random point of its heartbeat
cycle). M: VmRSS of a consumer subprocess (process_job) after the warm-up jobs and at the end."""


def load() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def run(s: Settings) -> int:
    progress(describe(s))
    rows: list[Row] = []
    started, load_before = time.perf_counter(), load()
    try:
        if "A" in s.sections or "B" in s.sections:
            run_a_b(s, rows)
        for section, runner in (("C", run_c), ("D", run_d), ("E", run_e), ("M", run_m)):
            if section in s.sections:
                runner(s, rows)
    finally:
        delete_prefix(s.url, s.prefix)
        progress(f"deleted the keys under {s.prefix}:")
    print(describe(s))
    print(
        f"run took {time.perf_counter() - started:.0f} s; load average before {load_before}, "
        f"after {load()}"
    )
    print()
    print(table(sorted(rows, key=lambda r: (r.section, FLAVORS.index(r.flavor)))))
    print()
    print(NOTES)
    judged = [row for row in rows if row.target is not None]
    held = sum(row.verdict() == "yes" for row in judged)
    print(f"\ntargets held: {held} of {len(judged)}")
    return 0


def parse(argv: Sequence[str] | None = None) -> tuple[Settings, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description="Benchmark redisaq against raw redis-py on a local Redis."
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("-n", type=int, default=None, help="jobs per run (20,000)")
    parser.add_argument("--repeat", type=int, default=None, help="repeats (3)")
    parser.add_argument("--only", default=None, help="sections, e.g. A,B (default A-E)")
    parser.add_argument("--quick", action="store_true", help="small N, 1 repeat (for tests)")
    parser.add_argument("--memory", action="store_true", help="also run M (slow)")
    parser.add_argument("--memory-jobs", type=int, default=None, help="M jobs (200,000)")
    parser.add_argument("--chunk", type=int, default=1000, help="B jobs per call (1,000)")
    parser.add_argument("--batch-size", type=int, default=100, help="C batch_size (100)")
    parser.add_argument("--latency-jobs", type=int, default=None, help="D jobs per run (500)")
    parser.add_argument("--heartbeat-interval", type=float, default=None, help="(1.0)")
    parser.add_argument("--heartbeat-ttl", type=float, default=None, help="(3.0)")
    hidden = argparse.SUPPRESS
    parser.add_argument("--prefix", default=None, help=hidden)
    parser.add_argument("--child", choices=("consumer", "memory"), default=None, help=hidden)
    parser.add_argument("--flavor", choices=FLAVORS, default="async", help=hidden)
    parser.add_argument("--topic", default="", help=hidden)
    parser.add_argument("--group", default="", help=hidden)
    parser.add_argument("--consumer-id", default="", help=hidden)
    args = parser.parse_args(argv)

    def pick(value: Any, full: Any, quick: Any) -> Any:
        return value if value is not None else (quick if args.quick else full)

    sections = (args.only or "ABCDE").upper().replace(",", "").replace(" ", "")
    if args.memory and "M" not in sections:
        sections += "M"
    if not sections or set(sections) - set(SECTIONS):
        parser.error(f"--only takes letters of {','.join(SECTIONS)}, got {args.only!r}")
    settings = Settings(
        url=args.redis_url,
        prefix=args.prefix or f"bench-{uuid.uuid4().hex[:10]}",
        n=pick(args.n, 20_000, 400),
        repeat=pick(args.repeat, 3, 1),
        chunk=args.chunk,
        batch_size=args.batch_size,
        latency_jobs=pick(args.latency_jobs, 500, 30),
        interval=pick(args.heartbeat_interval, 1.0, 0.25),
        ttl=pick(args.heartbeat_ttl, 3.0, 1.0),
        memory_jobs=pick(args.memory_jobs, 200_000, 2_000),
        sections=sections,
    )
    for name in ("n", "repeat", "chunk", "batch_size", "latency_jobs", "memory_jobs"):
        if getattr(settings, name) < 1:
            parser.error(f"{name} must be at least 1")
    if settings.ttl <= settings.interval:
        parser.error("--heartbeat-ttl must exceed --heartbeat-interval")
    return settings, args


def child_main(s: Settings, args: argparse.Namespace) -> int:
    if args.child == "memory":
        print(json.dumps(child_memory(s, args.flavor, args.topic, args.group)), flush=True)
        return 0
    lifetime = 120.0  # never outlive a parent that died
    if args.flavor == "async":

        async def on_job(job: Job) -> None:
            return None

        async def main() -> None:
            consumer = Consumer(
                args.topic,
                group=args.group,
                consumer_id=args.consumer_id,
                process_job=on_job,
                **s.consumer_options(),
            )
            asyncio.get_running_loop().call_later(lifetime, consumer.request_stop)
            await consumer.consume()

        asyncio.run(main())
        return 0
    consumer = SyncConsumer(
        args.topic,
        group=args.group,
        consumer_id=args.consumer_id,
        process_job=noop_sync,
        **s.consumer_options(),
    )
    timer = threading.Timer(lifetime, consumer.request_stop)
    timer.daemon = True
    timer.start()
    consumer.consume()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    settings, args = parse(argv)
    if args.child is not None:
        return child_main(settings, args)
    try:
        return run(settings)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
