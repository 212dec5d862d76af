"""``redisaq worker``: handles jobs, shows up in ``redisaq info``, stops cleanly on signals."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from redisaq import SyncAdmin
from tests.cli.conftest import Cli, wait_for


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_url, decode_responses=True) as c:
        yield c


def group_state(cli: Cli, topic: str, group: str) -> tuple[int, list[str]]:
    """(pending jobs, live member ids) of a group, read in-process."""
    with SyncAdmin(prefix=cli.prefix, redis_url=cli.redis_url) as admin:
        info = admin.info(topic)
    (g,) = [g for g in info.groups if g.name == group]
    return sum(p.pending for p in g.partitions), [m.consumer_id for m in g.members]


@pytest.mark.parametrize(
    ("handler", "options", "sig"),
    [
        ("tests.cli.handlers:record_async", (), signal.SIGINT),
        ("tests.cli.handlers:record_batch_sync", ("--batch",), signal.SIGTERM),
    ],
    ids=["async-SIGINT", "sync-batch-SIGTERM"],
)
def test_worker_handles_jobs_shows_in_info_and_stops_cleanly(
    cli: Cli, client: redis.Redis, handler: str, options: tuple[str, ...], sig: signal.Signals
) -> None:
    out, started = f"{cli.prefix}:out", f"{cli.prefix}:started"
    lines = "\n".join(json.dumps({"n": n, "out": out}) for n in range(3))
    ids = cli.ok("enqueue", "orders", "-", "--partitions", "2", stdin=lines).split()
    assert len(ids) == 3

    worker = cli.start_worker(
        handler, "--topic", "orders", "--group", "mail", "--consumer-id", "w1", *options
    )
    wait_for(lambda: client.llen(out) == 3, what="the worker to handle 3 jobs")
    assert sorted(client.lrange(out, 0, -1)) == sorted(ids)
    wait_for(lambda: group_state(cli, "orders", "mail")[0] == 0, what="the acknowledgements")

    # While it runs, info shows the partitions, the lag and the consumer.
    report: dict[str, Any] = json.loads(cli.ok("info", "--json", "--dead-letter", cli.dead_letter))
    assert report["prefix"] == cli.prefix
    assert report["dead_letter"] == {"stream": cli.dead_letter, "count": 0}
    (topic,) = report["topics"]
    assert topic["topic"] == "orders"
    assert topic["length"] == 3 and topic["dead_letters"] == 0
    assert [p["partition"] for p in topic["partitions"]] == [0, 1]
    assert sum(p["length"] for p in topic["partitions"]) == 3
    (group,) = topic["groups"]
    assert group["name"] == "mail" and group["lag"] == 0 and group["pending"] == 0
    assert [(p["partition"], p["owner"], p["lag"]) for p in group["partitions"]] == [
        (0, "w1", 0),
        (1, "w1", 0),
    ]
    (member,) = group["members"]
    assert member["consumer_id"] == "w1" and member["partitions"] == [0, 1]
    assert 0 < member["expires_in"] <= 2
    assert 0 <= member["since_heartbeat"] <= 2
    assert member["since_heartbeat"] + member["expires_in"] == pytest.approx(2, abs=0.01)
    text = cli.ok("info", "orders", "--group", "mail")
    assert "topic orders: 2 partition(s), 3 entries" in text
    assert "group mail: lag 0, pending 0, 1 live consumer(s)" in text
    assert "w1" in text and "0,1" in text and "s ago" in text

    # A signal while a job runs: the job finishes, is acknowledged, the worker leaves.
    cli.ok("enqueue", "orders", json.dumps({"sleep": 1.0, "started": started, "out": out}))
    wait_for(lambda: client.llen(started) == 1, what="the slow job to start")
    worker.signal(sig)
    assert worker.wait() == 0, worker.stderr
    assert client.llen(out) == 4, "the in-flight job was not finished"
    assert group_state(cli, "orders", "mail") == (0, [])
    log = worker.stderr
    assert f"{sig.name}: stopping" in log and "stopped cleanly" in log
    assert "Traceback" not in log


@pytest.mark.parametrize("handler", ["record_async", "record_sync"])
def test_second_signal_exits_at_once(cli: Cli, client: redis.Redis, handler: str) -> None:
    started, out = f"{cli.prefix}:started", f"{cli.prefix}:out"
    cli.ok("enqueue", "slow", json.dumps({"sleep": 30, "started": started, "out": out}))
    worker = cli.start_worker(f"tests.cli.handlers:{handler}", "--topic", "slow")
    wait_for(lambda: client.llen(started) == 1, what="the slow job to start")
    worker.signal(signal.SIGINT)
    wait_for(lambda: "SIGINT: stopping" in worker.stderr, 5, "the first signal to be handled")
    begun = time.monotonic()
    worker.signal(signal.SIGINT)
    assert worker.wait(5) == 130
    assert time.monotonic() - begun < 3
    assert "exiting at once" in worker.stderr
    assert client.llen(out) == 0


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        ("tests.cli.nowhere:handle", "no module named 'tests.cli.nowhere'"),
        ("tests.cli.handlers:missing", "has no attribute 'missing'"),
        ("tests.cli.handlers:NOT_CALLABLE", "is not callable"),
        ("tests.cli.broken:handle", "raised RuntimeError: this module is broken on purpose"),
        ("handle", "must look like 'package.module:function'"),
    ],
)
def test_bad_handler_is_one_clear_line(cli: Cli, handler: str, message: str) -> None:
    result = cli.run("worker", handler, "--topic", "t")
    assert result.returncode == 1
    assert result.stderr.startswith("redisaq: error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_unreachable_redis_is_one_clear_line(cli: Cli) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    for args in (
        ("worker", "tests.cli.handlers:record_sync", "--topic", "t"),
        ("info",),
        ("dlq", "list"),
        ("enqueue", "t", "{}"),
    ):
        result = cli.run(*args, redis_url=url)
        assert result.returncode == 1, args
        assert result.stderr.startswith(f"redisaq: error: cannot connect to Redis at {url}")
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
