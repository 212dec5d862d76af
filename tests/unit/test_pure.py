"""Pure modules: partitioning, assignment, backoff, keys, entry decoding, replay ids."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from redisaq import Retry
from redisaq._assignment import assign
from redisaq._async.admin import replay_position
from redisaq._backoff import CAP, retry_delay
from redisaq._keys import GroupKeys, TopicKeys
from redisaq._models import DecodeError, StreamEntry, decode_job, encode_entry
from redisaq._partitioning import RoundRobin, partition_for_value

VALUES = ["user-1", "user-2", 42, "ünïcode", {"a": 1}, "x" * 100]


def test_partition_hash_is_stable_across_processes_and_hash_seeds() -> None:
    here = [partition_for_value(v, 7) for v in VALUES]
    code = (
        "from redisaq._partitioning import partition_for_value;"
        f"print([partition_for_value(v, 7) for v in {VALUES!r}])"
    )
    for seed in ("0", "12345", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        assert out.stdout.strip() == str(here)
    # Pinned values: changing the hash would silently move keys between partitions.
    assert partition_for_value("user-1", 8) == 4
    assert [partition_for_value(f"k{i}", 4) for i in range(8)] == [3, 1, 3, 1, 2, 0, 2, 0]
    assert len({partition_for_value(f"k{i}", 4) for i in range(100)}) == 4


def test_round_robin_cycles_over_partitions() -> None:
    rr = RoundRobin(start=0)
    assert rr.take(3, 4) == [0, 1, 2, 0]
    assert rr.take(3, 2) == [1, 2]
    firsts = {RoundRobin().take(4)[0] for _ in range(200)}
    assert firsts == {0, 1, 2, 3}  # new producers start anywhere
    rr = RoundRobin()
    cycle = rr.take(4, 8)
    assert sorted(cycle) == [0, 0, 1, 1, 2, 2, 3, 3] and cycle[:4] == cycle[4:]


def test_assignment_is_round_robin_over_sorted_members() -> None:
    members = ["b", "a", "c"]
    assert assign(members, 7, "a") == {0, 3, 6}
    assert assign(members, 7, "b") == {1, 4}
    assert assign(members, 7, "c") == {2, 5}
    assert assign(members, 2, "c") == set()
    assert assign(["a"], 3, "z") == set()
    owners = [m for p in range(10) for m in members if p in assign(members, 10, m)]
    assert len(owners) == 10  # every partition has exactly one owner


def test_retry_delay_is_exponential_jittered_and_capped() -> None:
    for attempt in range(1, 6):
        ceiling = 0.5 * 2 ** (attempt - 1)
        for _ in range(20):
            assert ceiling / 2 <= retry_delay(0.5, attempt) <= ceiling
    assert retry_delay(0.5, 30) <= CAP
    assert retry_delay(lambda attempt: attempt * 2.0, 3) == 6.0


def test_keys_follow_the_documented_layout() -> None:
    assert TopicKeys("redisaq", "send_email").stream(0) == "redisaq:send_email:0"
    group = GroupKeys("redisaq", "send_email", "mailers")
    assert group.members == "redisaq:{send_email:mailers}:members"
    assert group.leases.startswith("redisaq:{send_email:mailers}:")


def test_entries_round_trip_and_junk_is_refused_with_a_reason() -> None:
    now = datetime.now(timezone.utc)
    fields = {
        k: v if isinstance(v, bytes) else v.encode()
        for k, v in encode_entry("id1", '{"a":1}', now).items()
    }
    job = decode_job(
        StreamEntry("1-0", fields), topic="t", partition=2, attempt=1, deserializer=None
    )
    assert (job.id, job.payload, job.enqueued_at, job.partition) == ("id1", {"a": 1}, now, 2)
    with pytest.raises(DecodeError, match="deleted"):
        decode_job(StreamEntry("1-0", None), topic="t", partition=0, attempt=1, deserializer=None)
    with pytest.raises(DecodeError, match="missing"):
        decode_job(
            StreamEntry("1-0", {"x": b"1"}), topic="t", partition=0, attempt=1, deserializer=None
        )


def test_replay_positions() -> None:
    assert replay_position("0") == "0-0"
    assert replay_position("1700000000000-5") == "1700000000000-4"
    assert replay_position("1700000000000-0") == "1699999999999-18446744073709551615"
    when = datetime.fromtimestamp(1_700_000_000, timezone.utc)
    assert replay_position(when) == "1699999999999-18446744073709551615"
    with pytest.raises(ValueError, match="aware"):
        replay_position(datetime(2026, 1, 1))


def test_retry_delay_must_be_a_finite_number() -> None:
    assert Retry("later", after=2).after == 2.0
    for bad in (-1, float("nan"), float("inf"), 1e10, "5", None):
        with pytest.raises(ValueError, match="after"):
            Retry("later", after=bad)  # type: ignore[arg-type]
