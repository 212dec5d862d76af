"""The consumer group with real consumer processes (GitHub issue 3).

Each worker process (tests/process/worker.py) records every job its handler ran:
partition, consumer, pid, start and end (wall clock, shared by all processes on the
machine), job number, stream id and attempt. From those records the tests check:

- every job was handled (nothing lost);
- exclusivity: no two records of one partition overlap in time;
- order: within a partition, jobs were first completed in stream order;
- duplicates only for jobs whose consumer was SIGKILLed before acknowledging them.

Heartbeats are fast (interval 0.2 s, TTL 1 s). Waits poll Redis with a deadline; bounds
the issue promises are asserted on the measured times.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import count, cycle, pairwise

import pytest
import redis

from redisaq._partitioning import partition_for_value
from tests.conftest import RedisServer
from tests.process.conftest import TTL, Group, Record, Worker

EXIT_FENCED = 3
OTHER = {"async": "sync", "sync": "async"}
HANDOVER_BOUND = 2.0  # "all partitions are owned again and jobs flow within 2 s"
CRASH_BOUND = TTL + 2.0  # "loses its partitions within heartbeat_ttl + 2 s"
CHURN_SLEEP = 0.005  # handler time in the churn test: partitions are mostly busy, so
# SIGKILLs land mid-job and mid-batch


# -- checks on the records -------------------------------------------------------------


def by_partition(records: Iterable[Record]) -> dict[int, list[Record]]:
    out: dict[int, list[Record]] = defaultdict(list)
    for record in records:
        out[record.partition].append(record)
    return out


def assert_exclusive(records: list[Record]) -> None:
    """No two handler runs on one partition overlap in time (any two processes)."""
    for partition, runs in by_partition(records).items():
        runs.sort(key=lambda r: r.start)
        latest: Record | None = None  # the run that ends last among those seen
        for run in runs:
            if latest is not None and run.start < latest.end:
                raise AssertionError(
                    f"partition {partition}: overlapping runs\n  {latest}\n  {run}\n"
                    f"  overlap {latest.end - run.start:.4f}s"
                )
            if latest is None or run.end > latest.end:
                latest = run


def assert_first_completed_in_order(records: list[Record]) -> None:
    """Within each partition, jobs were first completed in stream order."""
    for partition, runs in by_partition(records).items():
        first: dict[tuple[int, int], Record] = {}
        for run in runs:
            if run.order not in first or run.end < first[run.order].end:
                first[run.order] = run
        ordered = [first[key] for key in sorted(first)]
        for before, after in pairwise(ordered):
            assert before.end <= after.end, (
                f"partition {partition}: job {after.i} ({after.stream_id}) was first "
                f"completed before the earlier job {before.i} ({before.stream_id})\n"
                f"  {before}\n  {after}"
            )


def assert_duplicates_only_from_killed(records: list[Record], workers: list[Worker]) -> int:
    """A job runs again only if an earlier run's process was SIGKILLed afterwards.

    Returns the number of jobs that ran more than once.
    """
    killed = {w.pid: w.killed_at for w in workers if w.killed_at is not None}
    runs: dict[int, list[Record]] = defaultdict(list)
    for record in records:
        runs[record.i].append(record)
    again = 0
    for i, job_runs in runs.items():
        if len(job_runs) == 1:
            continue
        again += 1
        job_runs.sort(key=lambda r: r.start)
        for earlier, later in pairwise(job_runs):
            died = killed.get(earlier.pid)
            assert died is not None and earlier.end <= died, (
                f"job {i} ran again although the process of its earlier run was not "
                f"SIGKILLed after it:\n" + "\n".join(f"  {r}" for r in job_runs)
            )
            assert later.attempt > earlier.attempt, (
                f"job {i}: a later run does not count the earlier delivery:\n"
                + "\n".join(f"  {r}" for r in job_runs)
            )
    return again


def assert_exactly_once(records: list[Record], jobs: int) -> None:
    seen: dict[int, list[Record]] = defaultdict(list)
    for record in records:
        seen[record.i].append(record)
    assert set(seen) == set(range(jobs)), (
        f"jobs never handled: {sorted(set(range(jobs)) - set(seen))}"
    )
    twice = {i: runs for i, runs in seen.items() if len(runs) > 1}
    assert not twice, f"jobs handled more than once: {twice}"


def flow_since(group: Group, since: float, owners: dict[int, str]) -> bool:
    """Every partition has a run that started at or after ``since`` by its owner."""
    fresh = {(r.partition, r.consumer) for r in group.records() if r.start >= since}
    return all((p, owner) in fresh for p, owner in owners.items())


class Feeder:
    """Enqueues ``per_tick`` jobs every ``tick`` seconds in a thread, numbered from 0.

    ``grow=(n, partitions)``: once ``n`` jobs are enqueued, grow the topic (while the
    consumers run) and go on enqueueing over every partition.
    """

    def __init__(
        self,
        group: Group,
        partitions: int,
        per_tick: int,
        tick: float,
        limit: int,
        grow: tuple[int, int] | None = None,
    ) -> None:
        self._producer = group.producer(partitions)
        self._per_tick, self._tick, self._limit = per_tick, tick, limit
        self._grow = grow
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feeder", daemon=True)
        self.sent = 0
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            while self.sent < self._limit and not self._stop.is_set():
                if self._grow is not None and self.sent >= self._grow[0]:
                    wanted = self._grow[1]
                    assert self._producer.request_partition_increase(wanted) == wanted
                    self._grow = None
                n = min(self._per_tick, self._limit - self.sent)
                self._producer.batch_enqueue([{"i": self.sent + k} for k in range(n)])
                self.sent += n
                self._stop.wait(self._tick)  # a steady rate: pacing, not waiting for a state
        except BaseException as exc:  # reported by stop()
            self.error = exc
        finally:
            self._producer.close()

    def __enter__(self) -> Feeder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> int:
        """Stop enqueueing; return how many jobs were enqueued."""
        self._stop.set()
        self._thread.join(30)
        assert not self._thread.is_alive(), "the feeder did not stop"
        if self.error is not None:
            raise self.error
        return self.sent

    def done(self) -> bool:
        return not self._thread.is_alive()


def wait_all_handled(group: Group, jobs: int, partitions: int, timeout: float = 30.0) -> None:
    group.until(lambda: len(group.handled()) >= jobs, timeout, f"all {jobs} jobs handled")
    group.until(lambda: group.pending(partitions) == 0, 10.0, "every job acknowledged")
    missing = set(range(jobs)) - group.handled()
    assert not missing, f"jobs never handled: {sorted(missing)[:20]}"


def stop_gracefully(*workers: Worker) -> None:
    for worker in workers:
        worker.signal(signal.SIGTERM)
    for worker in workers:
        code = worker.wait(10)
        assert code == 0, f"{worker.consumer_id} exited {code} after SIGTERM\n{worker.tail()}"


# -- tests -----------------------------------------------------------------------------


def test_churn_keeps_partitions_exclusive_and_loses_nothing(group: Group) -> None:
    """Members join, stop and are SIGKILLed at random times while jobs keep coming."""
    seed = int(os.environ.get("REDISAQ_CHURN_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    about = f"(churn seed {seed}; rerun with REDISAQ_CHURN_SEED={seed})"
    partitions, grown = 6, 8
    group.create_topic(partitions)
    names = (f"c{n:02d}" for n in count())
    flavors = cycle(["async", "sync"])
    live = [group.start(next(names), next(flavors), sleep=CHURN_SLEEP) for _ in range(3)]
    group.wait_ready(*live)
    stopped: list[Worker] = []
    churn = ["join", "join", "join", "stop", "stop", "kill", "kill", "kill"]
    schedule = sorted((rng.uniform(0.5, 6.5), event) for event in churn)
    grow_after = rng.randrange(500, 2500)  # jobs; the rest go to the grown topic
    began = time.monotonic()
    # Bursts: reads return batches, so a SIGKILL often lands between a handled job and
    # the acknowledgement of its batch (the job then runs again).
    with Feeder(group, partitions, 100, 0.2, 3500, grow=(grow_after, grown)) as feeder:
        for at, event in schedule:
            if (delay := at - (time.monotonic() - began)) > 0:
                time.sleep(delay)  # the churn schedule: elapsed time is the point
            if event in ("stop", "kill") and len(live) <= 2:
                newcomer = group.start(next(names), next(flavors), sleep=CHURN_SLEEP)
                group.wait_ready(newcomer)
                live.append(newcomer)
            if event == "join":
                newcomer = group.start(next(names), next(flavors), sleep=CHURN_SLEEP)
                group.wait_ready(newcomer)
                live.append(newcomer)
            elif event == "stop":
                target = live.pop(rng.randrange(len(live)))
                target.signal(signal.SIGTERM)
                stopped.append(target)
            else:  # kill
                live.pop(rng.randrange(len(live))).kill()
        group.until(feeder.done, 30.0, "the producer to finish")
        jobs = feeder.stop()
    wait_all_handled(group, jobs, grown, timeout=40.0)
    for worker in stopped:
        code = worker.wait(10)
        assert code == 0, f"{worker.consumer_id} exited {code} after SIGTERM {about}"
    stop_gracefully(*live)

    records = group.records()
    kills = sum(1 for w in group.workers if w.killed_at is not None)
    assert kills == 3 and len(stopped) == 2, about
    assert {r.i for r in records} == set(range(jobs)), about
    used = {r.partition for r in records}
    assert used == set(range(grown)), f"partitions with jobs: {sorted(used)} {about}"
    assert_exclusive(records)
    assert_first_completed_in_order(records)
    again = assert_duplicates_only_from_killed(records, group.workers)
    redelivered = len({r.i for r in records if r.attempt > 1})
    print(
        f"{about}: {jobs} jobs, {len(records)} runs, {redelivered} redelivered, "
        f"{again} ran again after a SIGKILL"
    )


@pytest.mark.parametrize("flavor", ["async", "sync"])
def test_sigkilled_consumer_job_is_handled_by_the_survivor(group: Group, flavor: str) -> None:
    """a (of ``flavor``) is SIGKILLed mid-job; b (the other flavor) takes over in time."""
    partitions = 2
    group.create_topic(partitions)
    a = group.start("a", flavor)
    group.wait_ready(a)
    b = group.start("b", OTHER[flavor])
    group.wait_ready(b)
    group.until(lambda: group.settled(["a", "b"], partitions), 10.0, "a: 0, b: 1")
    # Jobs for partition 0 (a's): the first runs for 30 s on its first delivery only.
    keys = [k for k in range(100) if partition_for_value(k, partitions) == 0][:6]
    others = [k for k in range(100) if partition_for_value(k, partitions) == 1][:4]
    payloads = [{"i": 0, "k": keys[0], "sleep_first": 30, "announce": True}]
    payloads += [{"i": n, "k": k} for n, k in enumerate(keys[1:], 1)]
    payloads += [{"i": n, "k": k} for n, k in enumerate(others, len(payloads))]
    with group.producer(partitions) as producer:
        producer.batch_enqueue(payloads, partition_key="k")
    group.until(lambda: any(r.i == 0 for r in group.started()), 10.0, "job 0 started on a", a)
    started = group.started()
    assert [(r.consumer, r.i) for r in started] == [("a", 0)]

    a.kill()
    # Read after a's death: its heartbeat expiry (its last heartbeat was TTL before) and
    # the jobs it had fetched and not acknowledged.
    expiry = group.members().get("a")
    assert expiry is not None, "a's heartbeat had expired before it was killed"
    last_heartbeat = expiry - TTL
    left = group.pending_of(0, "a")
    assert started[0].stream_id in left
    lost = group.until(lambda: group.leases().get(0) == "b", CRASH_BOUND + 8, "b owns 0", b)
    group.until(lambda: 0 in group.handled(), CRASH_BOUND + 8, "job 0 handled by b", b)
    wait_all_handled(group, len(payloads), partitions, timeout=10.0)

    records = group.records()
    (run,) = [r for r in records if r.i == 0]
    print(
        f"a's last heartbeat -> b owns partition 0: {lost - last_heartbeat:.3f}s, "
        f"-> b starts job 0: {run.start - last_heartbeat:.3f}s (bound {CRASH_BOUND}s)"
    )
    assert run.consumer == "b" and run.attempt == 2, run
    assert lost - last_heartbeat <= CRASH_BOUND, (
        f"partition 0 moved {lost - last_heartbeat:.2f}s after a's last heartbeat"
    )
    assert run.start - last_heartbeat <= CRASH_BOUND, (
        f"job 0 restarted {run.start - last_heartbeat:.2f}s after a's last heartbeat"
    )
    assert lost >= expiry, "partition 0 moved before a's heartbeat expired"
    # Every job a left pending was handled by b, its attempt counting a's delivery.
    again = {r.stream_id: r for r in records if r.stream_id in left}
    assert set(again) == set(left)
    assert all(r.consumer == "b" and r.attempt == 2 for r in again.values()), again
    assert_exactly_once(records, len(payloads))
    assert_exclusive(records)
    assert_first_completed_in_order(records)
    assert all(r.consumer == "b" for r in records if r.partition == 0)
    stop_gracefully(b)


@pytest.mark.parametrize("flavor", ["async", "sync"])
def test_paused_consumer_drops_its_partitions_and_rejoins(group: Group, flavor: str) -> None:
    """SIGSTOP past the TTL while idle, then SIGCONT: no job runs twice, none is lost."""
    partitions = 4
    group.create_topic(partitions)
    a = group.start("a", flavor)
    b = group.start("b", OTHER[flavor])
    group.wait_ready(a, b)
    group.until(lambda: group.settled(["a", "b"], partitions), 10.0, "a: 0, 2; b: 1, 3")
    producer = group.producer(partitions)
    producer.batch_enqueue([{"i": i} for i in range(40)])
    wait_all_handled(group, 40, partitions, timeout=10.0)

    paused_at = a.signal(signal.SIGSTOP)
    expiry = group.members()["a"]  # at most a's last heartbeat + TTL
    producer.batch_enqueue([{"i": i} for i in range(40, 80)])
    delivered = set().union(*(group.pending_of(p, "a") for p in range(partitions)))
    moved = group.until(
        lambda: group.leases() == dict.fromkeys(range(partitions), "b"),
        CRASH_BOUND + 8,
        "b owns all",
    )
    assert moved >= expiry, "a lost its partitions before its heartbeat expired"
    assert moved - paused_at <= CRASH_BOUND, f"b took over {moved - paused_at:.2f}s after SIGSTOP"
    wait_all_handled(group, 80, partitions, timeout=10.0)
    print(
        f"SIGSTOP -> b owns all: {moved - paused_at:.3f}s; {len(delivered)} jobs were "
        "delivered to the paused reader (b claimed them)"
    )

    resumed_at = a.signal(signal.SIGCONT)
    group.until(lambda: group.settled(["a", "b"], partitions), 10.0, "a rejoined and owns 0, 2", a)
    producer.batch_enqueue([{"i": i} for i in range(80, 120)])
    wait_all_handled(group, 120, partitions, timeout=10.0)
    producer.close()

    records = group.records()
    assert_exactly_once(records, 120)
    assert_exclusive(records)
    assert_first_completed_in_order(records)
    assert all(r.consumer == "b" for r in records if 40 <= r.i < 80)
    assert all(r.start > resumed_at for r in records if r.consumer == "a" and r.i >= 40)
    late = [r for r in records if r.i >= 80 and r.partition in (0, 2)]
    assert late and all(r.consumer == "a" for r in late), "a did not go on after rejoining"
    assert a.alive() and b.alive()
    stop_gracefully(a, b)


def test_late_heartbeats_do_not_reorder_a_partition(group: Group) -> None:
    """A handler blocks the event loop past the lease's safe window (not past its TTL).

    The dispatcher stops before the rest of the batch; the lease is then confirmed (it
    never expired in Redis). The rest of the batch, pending under the consumer's own
    name, must still be handled before jobs enqueued later, and not left behind.
    """
    # Lease safe for TTL - margin = 1.6 s after a renewal is sent; renewals every 0.1 s.
    interval, ttl, block = 0.1, 2.0, 1.75
    with group.producer(1) as producer:
        # Enqueued before the consumer starts: its first read returns them as one batch.
        producer.batch_enqueue([{"i": 0, "block_loop": block}] + [{"i": i} for i in range(1, 5)])
        a = group.start("a", "async", interval=interval, ttl=ttl)
        group.until(lambda: 0 in group.handled(), 20.0, "the blocking job handled", a)
        producer.enqueue({"i": 5})
        wait_all_handled(group, 6, 1, timeout=10.0)

    records = group.records()
    assert_exactly_once(records, 6)
    assert_first_completed_in_order(records)
    assert a.alive()
    stop_gracefully(a)


def test_second_instance_with_same_id_fences_the_first(group: Group) -> None:
    """The older instance finishes its in-flight job, hands over and raises; no overlap."""
    partitions = 2
    group.create_topic(partitions)
    old = group.start("same", "async", sleep=0.05)
    group.wait_ready(old)
    group.until(lambda: group.settled(["same"], partitions), 10.0, "the first owns all")
    with Feeder(group, partitions, per_tick=4, tick=0.05, limit=10_000) as feeder:
        group.until(lambda: len(group.handled()) >= 10, 10.0, "jobs flowing")
        new = group.start("same", "sync", sleep=0.05)
        joined = group.ready_at(new)

        def new_flows() -> bool:
            runs = {r.partition for r in group.records() if r.pid == new.pid and r.start >= joined}
            return runs == set(range(partitions))

        code = old.wait(TTL + 5)
        exited = time.time()
        took_over = group.until(new_flows, 10.0, "the newer instance handles both partitions")
        jobs = feeder.stop()
    wait_all_handled(group, jobs, partitions, timeout=20.0)
    print(
        f"join -> older exits {exited - joined:.3f}s, -> newer runs both {took_over - joined:.3f}s"
    )
    assert code == EXIT_FENCED, f"the older instance exited {code}\n{old.tail()}"
    assert "ConsumerFencedError" in old.tail() or "fenced:" in old.tail()
    assert exited - joined <= HANDOVER_BOUND, f"the older one ran {exited - joined:.2f}s more"
    assert took_over - joined <= HANDOVER_BOUND, f"took over {took_over - joined:.2f}s after"

    records = group.records()
    assert {r.pid for r in records} == {old.pid, new.pid}
    # The older one finished and acknowledged its in-flight jobs: none ran twice.
    assert_exactly_once(records, jobs)
    assert_exclusive(records)
    assert_first_completed_in_order(records)
    stop_gracefully(new)


def test_fenced_instance_finishes_a_job_longer_than_the_ttl_first(group: Group) -> None:
    """Fenced mid-job: the older instance keeps its lease until its job is done."""
    group.create_topic(1)
    old = group.start("same", "sync")
    group.wait_ready(old)
    group.until(lambda: group.settled(["same"], 1), 10.0, "the first owns the partition")
    long_job = TTL * 3  # still running well past the TTL after the newer one joined
    with group.producer(1) as producer:
        producer.enqueue({"i": 0, "sleep": long_job, "announce": True})
        producer.batch_enqueue([{"i": i} for i in range(1, 4)])
    group.until(lambda: bool(group.started()), 10.0, "the long job started", old)
    new = group.start("same", "async")
    joined = group.ready_at(new)
    assert old.wait(long_job + 5) == EXIT_FENCED, old.tail()
    wait_all_handled(group, 4, 1, timeout=10.0)

    records = group.records()
    assert_exactly_once(records, 4)
    assert_exclusive(records)
    assert_first_completed_in_order(records)
    (first,) = [r for r in records if r.i == 0]
    assert first.pid == old.pid and first.attempt == 1 and first.start < joined
    assert first.end - joined > TTL, "the long job was not running past the TTL when fenced"
    assert all(r.pid == new.pid for r in records if r.i > 0), "the fenced one started more"
    stop_gracefully(new)


def test_join_and_stop_hand_over_within_two_seconds(group: Group) -> None:
    partitions = 6
    group.create_topic(partitions)
    a = group.start("a", "async", sleep=0.005)
    b = group.start("b", "sync", sleep=0.005)
    group.wait_ready(a, b)
    group.until(lambda: group.settled(["a", "b"], partitions), 10.0, "a, b settled")
    with Feeder(group, partitions, per_tick=12, tick=0.05, limit=100_000) as feeder:
        c = group.start("c", "sync", sleep=0.005)
        joined = group.until(lambda: "c" in group.members(), 20.0, "c joined", c)
        owners = group.expected(["a", "b", "c"], partitions)
        flowing = group.until(
            lambda: group.leases() == owners and flow_since(group, joined, owners),
            10.0,
            "a, b, c own and handle their partitions",
        )
        after_join = flowing - joined

        stopped_at = b.signal(signal.SIGTERM)
        owners = group.expected(["a", "c"], partitions)
        flowing = group.until(
            lambda: group.leases() == owners and flow_since(group, stopped_at, owners),
            10.0,
            "a, c own and handle every partition",
        )
        after_stop = flowing - stopped_at
        assert b.wait(10) == 0
        jobs = feeder.stop()
    wait_all_handled(group, jobs, partitions)
    print(f"owned and flowing: {after_join:.3f}s after the join, {after_stop:.3f}s after the stop")
    assert after_join <= HANDOVER_BOUND, f"{after_join:.2f}s after the join"
    assert after_stop <= HANDOVER_BOUND, f"{after_stop:.2f}s after the stop"
    records = group.records()
    assert_exactly_once(records, jobs)
    assert_exclusive(records)
    assert_first_completed_in_order(records)
    stop_gracefully(a, c)


def test_new_partitions_are_assigned_and_consumed_exclusively(group: Group) -> None:
    group.create_topic(2)
    a = group.start("a", "sync", sleep=0.005)
    b = group.start("b", "async", sleep=0.005)
    group.wait_ready(a, b)
    group.until(lambda: group.settled(["a", "b"], 2), 10.0, "a, b settled on 2 partitions")
    with Feeder(group, 2, per_tick=10, tick=0.05, limit=100_000) as feeder:
        group.until(lambda: len(group.handled()) >= 20, 10.0, "jobs flowing")
        for size in (5, 7):
            with group.producer(1) as producer:
                grown_at = time.time()
                assert producer.request_partition_increase(size) == size
            owners = group.expected(["a", "b"], size)
            group.until(
                lambda owners=owners, since=grown_at: (  # type: ignore[misc]
                    group.leases() == owners and flow_since(group, since, owners)
                ),
                10.0,
                f"{size} partitions owned and consumed",
            )
        jobs = feeder.stop()
    wait_all_handled(group, jobs, 7)
    records = group.records()
    assert {r.partition for r in records} == set(range(7))
    assert_exactly_once(records, jobs)
    assert_exclusive(records)
    assert_first_completed_in_order(records)
    stop_gracefully(a, b)


@pytest.mark.parametrize("flavor", ["async", "sync"])
def test_sigterm_stops_a_consumer_whichever_thread_receives_it(group: Group, flavor: str) -> None:
    """The kernel may hand a process-directed SIGTERM to any thread that accepts it."""
    group.create_topic(2)
    a = group.start("a", flavor, extra=("--sigterm-elsewhere",))
    group.wait_ready(a)
    group.until(lambda: group.settled(["a"], 2), 10.0, "a owns both partitions")
    with group.producer(2) as producer:
        producer.batch_enqueue([{"i": i} for i in range(10)])
    wait_all_handled(group, 10, 2, timeout=10.0)
    stop_gracefully(a)
    assert group.members() == {} and group.leases() == {}, "a did not leave the group"


@pytest.mark.parametrize("event", ["restart", "restart-appendonly", "flushall"])
def test_lost_group_state_keeps_partitions_exclusive(
    group: Group, redis_server: Callable[..., RedisServer], event: str
) -> None:
    """The consumers' Redis restarts (losing every key without persistence) or is flushed
    while both consumers are busy: the one that heartbeats first must not take partitions
    the other is still running jobs of. Records live in the shared Redis."""
    appendonly = event == "restart-appendonly"
    server = redis_server(appendonly=appendonly)
    group.queue_url = server.url
    partitions = 4
    group.create_topic(partitions)
    a = group.start("a", "async", sleep=0.02, interval=0.5, ttl=2.0)
    b = group.start("b", "sync", sleep=0.02, interval=0.5, ttl=2.0)
    group.wait_ready(a, b)
    with group.producer(partitions) as producer:
        producer.batch_enqueue([{"i": i} for i in range(200)])
        group.until(lambda: len(group.handled()) >= 40, 20.0, "jobs flowing before the restart")
        if event == "flushall":
            with redis.Redis(port=server.port) as queue:
                queue.flushall()
        else:
            server.restart()
        restarted = len(group.handled())
        # Jobs right after the restart, so both consumers are busy while they find out.
        producer.batch_enqueue([{"i": i} for i in range(1000, 1200)])
    after = set(range(1000, 1200))
    group.until(lambda: after <= group.handled(), 40.0, "every job enqueued after the restart")
    if appendonly:  # nothing was lost: every job before the restart is handled too
        group.until(lambda: set(range(200)) <= group.handled(), 20.0, "the jobs from before")
    stop_gracefully(a, b)
    records = group.records()
    print(f"{restarted} handled before the {event}, {len(records)} runs in all")
    assert_exclusive(records)
    assert {r.consumer for r in records if r.i >= 1000} == {"a", "b"}
