"""Fixtures for the multi-process group tests: consumer processes and a view of Redis.

``group`` starts worker processes (tests/process/worker.py) with subprocess.Popen; at
teardown it SIGKILLs and reaps only the processes it started, by PID. ``Group`` also reads
what the workers recorded and who holds which partition lease, straight from Redis.
Every wait is bounded: poll Redis with a deadline, never sleep blindly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest
import redis

from redisaq import SyncProducer
from redisaq._models import text

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 0.2  # heartbeat_interval of every worker
TTL = 1.0  # heartbeat_ttl of every worker
TOPIC = "jobs"
GROUP = "g"
POLL = 0.01


@dataclass(frozen=True)
class Record:
    """One handled job, as the worker's handler recorded it."""

    partition: int
    consumer: str
    pid: int
    start: float
    end: float
    i: int
    stream_id: str
    attempt: int

    @staticmethod
    def parse(line: bytes | str) -> Record:
        p, consumer, pid, start, end, i, sid, attempt = text(line).split(",")
        return Record(
            int(p), consumer, int(pid), float(start), float(end or "nan"), int(i), sid, int(attempt)
        )

    @property
    def order(self) -> tuple[int, int]:
        """Stream order within a partition."""
        ms, seq = self.stream_id.split("-")
        return int(ms), int(seq)


@dataclass
class Worker:
    """One consumer process started by the ``group`` fixture."""

    consumer_id: str
    flavor: str
    proc: subprocess.Popen[bytes]
    log: Path
    killed_at: float | None = None  # wall clock of the SIGKILL, if it got one

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signal(self, signum: int) -> float:
        """Send ``signum``; return the wall-clock time just before it was sent."""
        at = time.time()
        os.kill(self.pid, signum)
        return at

    def kill(self) -> float:
        self.killed_at = self.signal(signal.SIGKILL)
        self.proc.wait(10)
        return self.killed_at

    def wait(self, timeout: float) -> int:
        """The exit code; fails the test if the process still runs after ``timeout``."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGUSR1)  # dump its threads' stacks into its log
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(0.5)
            raise AssertionError(
                f"worker {self.consumer_id} (pid {self.pid}) still runs after {timeout}s\n"
                + self.tail(80)
            ) from None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return f"--- {self.log.name} ---\n" + "\n".join(text[-lines:])


@dataclass
class Group:
    """The consumer processes of one group of one topic, and the Redis state they share."""

    redis_url: str
    prefix: str
    logs: Path
    client: redis.Redis
    workers: list[Worker] = field(default_factory=list)
    topic: str = TOPIC
    group: str = GROUP
    queue_url: str = ""  # the consumers' Redis, when not redis_url (which keeps the records)

    # -- processes ---------------------------------------------------------------------

    def start(
        self,
        consumer_id: str,
        flavor: str = "async",
        sleep: float = 0.0,
        interval: float = INTERVAL,
        ttl: float = TTL,
        extra: tuple[str, ...] = (),
    ) -> Worker:
        log = self.logs / f"{consumer_id}-{len(self.workers)}.log"
        command = [
            sys.executable,
            "-m",
            "tests.process.worker",
            "--flavor",
            flavor,
            "--prefix",
            self.prefix,
            "--topic",
            self.topic,
            "--group",
            self.group,
            "--id",
            consumer_id,
            "--sleep",
            str(sleep),
            "--interval",
            str(interval),
            "--ttl",
            str(ttl),
            "--redis-url",
            self.queue_url or self.redis_url,
            "--records-url",
            self.redis_url,
            *extra,
        ]
        with log.open("wb") as out:
            proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        worker = Worker(consumer_id, flavor, proc, log)
        self.workers.append(worker)
        return worker

    def wait_ready(self, *workers: Worker, timeout: float = 20.0) -> None:
        """Wait until each worker has joined the group (it sets its ready key)."""
        for worker in workers:
            key = f"{self.prefix}:ready:{worker.consumer_id}:{worker.pid}"
            self.until(
                lambda key=key: bool(self.client.exists(key)),  # type: ignore[misc]
                timeout,
                f"{worker.consumer_id} ready",
                worker,
            )

    def ready_at(self, worker: Worker, timeout: float = 20.0) -> float:
        """Wait until ``worker`` joined; return when it saw itself a member (wall clock)."""
        self.wait_ready(worker, timeout=timeout)
        value = self.client.get(f"{self.prefix}:ready:{worker.consumer_id}:{worker.pid}")
        assert value is not None
        return float(value)

    def stop_all(self) -> None:
        """SIGKILL and reap every process this group started (by PID)."""
        for worker in self.workers:
            if worker.proc.poll() is None:
                os.kill(worker.pid, signal.SIGKILL)
        for worker in self.workers:
            with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be ignored
                worker.proc.wait(10)

    def tails(self) -> str:
        return "\n".join(w.tail() for w in self.workers)

    # -- bounded waiting ---------------------------------------------------------------

    def until(
        self,
        predicate: Callable[[], bool],
        timeout: float,
        what: str,
        *about: Worker,
    ) -> float:
        """Poll ``predicate`` until true; return the wall-clock time it was first seen true.

        Fails the test (with the workers' log tails) after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                logs = "\n".join(w.tail() for w in (about or tuple(self.workers)))
                raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")
            time.sleep(POLL)
        return time.time()

    # -- Redis state -------------------------------------------------------------------

    def producer(self, partitions: int) -> SyncProducer:
        return SyncProducer(
            self.topic,
            redis_url=self.queue_url or self.redis_url,
            prefix=self.prefix,
            partitions=partitions,
        )

    def create_topic(self, partitions: int) -> None:
        """Give the topic its partition count before any consumer starts."""
        with self.producer(partitions) as producer:
            assert producer.num_partitions() == partitions

    def records(self) -> list[Record]:
        return [Record.parse(x) for x in self.client.lrange(f"{self.prefix}:records", 0, -1)]

    def started(self) -> list[Record]:
        return [Record.parse(x) for x in self.client.lrange(f"{self.prefix}:started", 0, -1)]

    def handled(self) -> set[int]:
        return {r.i for r in self.records()}

    def _group_key(self, name: str) -> str:
        return f"{self.prefix}:{{{self.topic}:{self.group}}}:{name}"

    def now_ms(self) -> int:
        """Redis's clock (the one leases and heartbeats expire on), in milliseconds."""
        seconds, micros = self.client.time()
        return seconds * 1000 + micros // 1000

    def leases(self) -> dict[int, str]:
        """partition -> consumer id of every unexpired lease (Redis's clock)."""
        now_ms = self.now_ms()
        values = cast("dict[bytes, bytes]", self.client.hgetall(self._group_key("leases")))
        out: dict[int, str] = {}
        for p, value in values.items():
            expiry, _token, consumer = text(value).split(":", 2)
            if int(expiry) > now_ms:
                out[int(p)] = consumer
        return out

    def members(self) -> dict[str, float]:
        """Live members -> heartbeat expiry (wall-clock seconds, Redis's clock)."""
        now_ms = self.now_ms()
        pairs = cast(
            "list[tuple[bytes, float]]",
            self.client.zrange(self._group_key("members"), 0, -1, withscores=True),
        )
        return {text(m): score / 1000 for m, score in pairs if score > now_ms}

    def expected(self, members: list[str], partitions: int) -> dict[int, str]:
        """The round-robin assignment: partition p -> sorted(members)[p % n]."""
        ordered = sorted(members)
        return {p: ordered[p % len(ordered)] for p in range(partitions)}

    def settled(self, members: list[str], partitions: int) -> bool:
        """Every partition's lease is held by its assigned member, and only they live."""
        return sorted(self.members()) == sorted(members) and self.leases() == self.expected(
            members, partitions
        )

    def pending_of(self, partition: int, consumer: str) -> set[str]:
        """Stream ids pending in the group on ``partition`` under ``consumer``."""
        stream = f"{self.prefix}:{self.topic}:{partition}"
        rows = self.client.xpending_range(stream, self.group, "-", "+", 1000, consumername=consumer)
        return {text(cast("bytes", row["message_id"])) for row in rows}

    def pending(self, partitions: int) -> int:
        total = 0
        for p in range(partitions):
            stream = f"{self.prefix}:{self.topic}:{p}"
            try:
                total += int(self.client.xpending(stream, self.group)["pending"])
            except redis.ResponseError:  # no group on that stream yet
                continue
        return total


@pytest.fixture
def group(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[Group]:
    client = redis.Redis.from_url(redis_url)
    made = Group(redis_url, prefix, tmp_path, client)
    try:
        yield made
    finally:
        made.stop_all()
        client.close()
