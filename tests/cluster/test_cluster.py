"""redisaq on a Redis Cluster of its own (three redis-server processes, no replicas).

Partition streams spread over the nodes; each group's coordination keys share one hash
tag, so its scripts run in one slot. Both flavors, one group, a dead letter, info.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable

import pytest
import redis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

from redisaq import Admin, Consumer, DeadLetters, Job, Producer, Reject, SyncConsumer
from tests.conftest import RedisServer

FAST = {"heartbeat_interval": 0.1, "heartbeat_ttl": 1.0, "block_timeout": 0.1, "max_retries": 0}
CLUSTER_NODE = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")


@pytest.fixture
def cluster(redis_server: Callable[..., RedisServer]) -> list[RedisServer]:
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.skip("redis-cli is not installed")
    nodes = [
        redis_server(appendonly=False, extra=CLUSTER_NODE, port=cluster_port()) for _ in range(3)
    ]
    addresses = [f"127.0.0.1:{node.port}" for node in nodes]
    subprocess.run(
        [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    deadline = time.monotonic() + 20
    for node in nodes:
        with redis.Redis(port=node.port) as client:
            while client.cluster("info").get("cluster_state") != "ok":
                assert time.monotonic() < deadline, "the test cluster did not become ready"
                time.sleep(0.05)
    return nodes


def cluster_port() -> int:
    """A free port p <= 55535 whose cluster bus port p + 10000 is free too."""
    for _ in range(200):
        port = random.randint(20000, 55535)
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def streams_on(port: int, pattern: str) -> int:
    with redis.Redis(port=port) as node:
        return len(node.keys(pattern))


def wait(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


async def test_both_flavors_share_a_group_on_a_cluster(
    cluster: list[RedisServer], prefix: str
) -> None:
    port = cluster[0].port
    handled: list[tuple[str, int, int]] = []
    lock = threading.Lock()

    def record(flavor: str, job: Job) -> None:
        if job.payload.get("poison"):
            raise Reject("refused")
        with lock:
            handled.append((flavor, job.partition, job.payload["i"]))

    async def async_handler(job: Job) -> None:
        record("async", job)

    def sync_handler(job: Job) -> None:
        record("sync", job)

    dead_letter = f"{prefix}:dead_letter"
    common = {"prefix": prefix, "group": "g", "dead_letter": dead_letter, **FAST}
    client = AsyncRedisCluster(host="127.0.0.1", port=port)
    producer = Producer("jobs", redis=client, prefix=prefix, partitions=6)
    a = Consumer(
        "jobs",
        consumer_id="a",
        process_job=async_handler,
        redis=AsyncRedisCluster(host="127.0.0.1", port=port),
        **common,  # type: ignore[arg-type]
    )
    b = SyncConsumer(
        "jobs",
        consumer_id="b",
        process_job=sync_handler,
        redis=RedisCluster(host="127.0.0.1", port=port),
        **common,  # type: ignore[arg-type]
    )
    a_task = asyncio.create_task(a.consume())
    b_thread = threading.Thread(target=b.consume)
    b_thread.start()
    try:
        assert await producer.num_partitions() == 6

        def split() -> bool:
            return (a.partitions, b.partitions) == ([0, 2, 4], [1, 3, 5])

        await asyncio.to_thread(wait, split, "the two consumers to split the partitions")
        await producer.batch_enqueue([{"i": i} for i in range(30)])
        await producer.batch_enqueue(
            [{"i": i, "user": f"u{i}"} for i in range(30, 60)], partition_key="user"
        )
        await producer.enqueue({"i": -1, "poison": True})
        holding = [n for n in cluster if streams_on(n.port, f"{prefix}:jobs:*")]
        assert len(holding) >= 2, "the partition streams should spread over the cluster"
        await asyncio.to_thread(wait, lambda: len(handled) >= 60, "60 jobs to be handled")
        assert sorted(i for _, _, i in handled) == list(range(60))
        assert {(flavor, p % 2) for flavor, p, _ in handled} == {("async", 0), ("sync", 1)}

        await a.stop()
        await asyncio.wait_for(a_task, 10)
        await asyncio.to_thread(wait, lambda: b.partitions == list(range(6)), "b to take all")
        await producer.batch_enqueue([{"i": i} for i in range(60, 72)])
        await asyncio.to_thread(wait, lambda: len(handled) >= 72, "the jobs after the hand-over")
        assert {flavor for flavor, _, i in handled if i >= 60} == {"sync"}

        async with Admin(prefix=prefix, redis=client) as admin:
            info = await admin.info("jobs")
        (group,) = info.groups
        assert [m.consumer_id for m in group.members] == ["b"]
        assert sum(p.pending for p in group.partitions) == 0
        assert sum(p.length for p in info.partitions) == 73
        async with DeadLetters(stream=dead_letter, prefix=prefix, redis=client) as letters:
            (letter,) = await letters.list()
        assert json.loads(letter.payload) == {"i": -1, "poison": True}
        assert letter.error_type == "Reject" and letter.topic == "jobs"
    finally:
        await a.stop()
        b.stop()
        await asyncio.wait_for(a_task, 10)
        await asyncio.to_thread(b_thread.join, 10)
        await producer.close()
        await client.aclose()
    assert not b_thread.is_alive()
