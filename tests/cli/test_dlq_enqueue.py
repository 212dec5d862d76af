"""``redisaq dlq list|requeue|purge`` and ``redisaq enqueue``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points

import pytest
import redis

from redisaq import SyncDeadLetters, __version__
from redisaq._partitioning import partition_for_value
from tests.cli.conftest import ROOT, Cli, wait_for


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_url, decode_responses=True) as c:
        yield c


def test_dlq_list_requeue_purge_round_trip(cli: Cli, client: redis.Redis) -> None:
    allow, out = f"{cli.prefix}:allow", f"{cli.prefix}:out"
    letters = SyncDeadLetters(stream=cli.dead_letter, prefix=cli.prefix, redis_url=cli.redis_url)

    def dead() -> int:
        return letters.count()

    worker = cli.start_worker(
        "tests.cli.handlers:fail_unless_allowed",
        *("--topic", "pay", "--group", "billing", "--max-retries", "0"),
    )
    try:
        payloads = [{"n": n, "allow": allow, "out": out} for n in range(2)]
        stdin = "\n".join(map(json.dumps, payloads))
        ids = cli.ok("enqueue", "pay", "-", stdin=stdin).split()
        wait_for(lambda: dead() == 2, what="two dead letters")

        listed = json.loads(cli.ok("dlq", "list", "--json", "--dead-letter", cli.dead_letter))
        assert [x["job_id"] for x in listed] == ids
        assert {(x["topic"], x["group"], x["error_type"]) for x in listed} == {
            ("pay", "billing", "RuntimeError")
        }
        assert [json.loads(x["payload"]) for x in listed] == payloads
        assert "is not allowed yet" in listed[0]["error"] and listed[0]["traceback"]
        table = cli.ok("dlq", "list", "--topic", "pay")  # the prefix's stream by default
        assert "RuntimeError: job 0 is not allowed yet" in table and ids[1] in table
        # The prefix can come from the environment, as the examples' settings do.
        by_env = subprocess.run(
            [
                sys.executable,
                "-m",
                "redisaq",
                "dlq",
                "list",
                "--json",
                "--redis-url",
                cli.redis_url,
            ],
            env={**cli.env, "REDISAQ_PREFIX": cli.prefix},
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=30,
        )
        assert [x["job_id"] for x in json.loads(by_env.stdout)] == ids, by_env.stderr
        table = cli.ok("dlq", "list", "--topic", "pay", "--dead-letter", cli.dead_letter)
        assert "RuntimeError: job 0 is not allowed yet" in table and ids[1] in table
        assert "no dead letters" in cli.ok(
            "dlq", "list", "--topic", "other", "--dead-letter", cli.dead_letter
        )
        report = json.loads(cli.ok("info", "pay", "--json", "--dead-letter", cli.dead_letter))
        assert report["topics"][0]["dead_letters"] == 2

        refused = cli.run("dlq", "requeue", "--dead-letter", cli.dead_letter)
        assert refused.returncode == 1 and "say which dead letters" in refused.stderr

        client.set(allow, "1")
        requeued = cli.ok("dlq", "requeue", "--topic", "pay", "--dead-letter", cli.dead_letter)
        assert requeued.splitlines() == ["requeued 2 job(s)", *ids]
        wait_for(lambda: client.llen(out) == 2, what="the requeued jobs to be handled")
        assert sorted(client.lrange(out, 0, -1)) == sorted(ids)
        assert dead() == 0

        client.delete(allow)
        cli.ok("enqueue", "pay", "-", stdin=stdin)
        wait_for(lambda: dead() == 2, what="two new dead letters")
        first = letters.list()[0].id
        purge = ("dlq", "purge")
        assert cli.ok(*purge, first).strip() == "purged 1 dead letter(s)"
        assert cli.ok(*purge, "--all").strip() == "purged 1 dead letter(s)"
        assert dead() == 0

        worker.signal(signal.SIGTERM)
        assert worker.wait() == 0, worker.stderr
    finally:
        letters.close()


def test_enqueue(cli: Cli, client: redis.Redis) -> None:
    def lengths() -> list[int]:
        return [client.xlen(f"{cli.prefix}:users:{p}") for p in range(4)]

    assert f"no topics under prefix '{cli.prefix}'" in cli.ok("info")
    one = cli.ok("enqueue", "users", '{"user": "ann", "n": 1}', "--partitions", "4")
    two = cli.ok("enqueue", "users", '{"user": "ann", "n": 2}', "--partition-key", "user")
    three = cli.ok("enqueue", "users", '{"user": "ann", "n": 3}', "--partition-key", "user")
    assert len({one, two, three}) == 3 and all(len(x.split()) == 1 for x in (one, two, three))
    assert client.get(f"{cli.prefix}:users:partitions") == "4"
    assert sum(lengths()) == 3
    keyed = client.xrange(f"{cli.prefix}:users:{partition_for_value('ann', 4)}")
    numbers = {json.loads(fields["payload"])["n"] for _, fields in keyed}  # type: ignore[union-attr,index]
    assert {2, 3} <= numbers  # same key, same partition

    for args, stdin, message in [
        (("users", "{nope"), None, "PAYLOAD is not valid JSON"),
        (("users", "[1, 2]"), None, "PAYLOAD must be a JSON object, got list"),
        (("users", "-"), '{"a": 1}\n\n"x"\n', "stdin line 3 must be a JSON object, got str"),
        (("users", "{}", "--partition-key", "user"), None, "PartitionKeyError"),
        (("two words", "{}"), None, "topic 'two words' must not contain ' '"),
        (("users", "-"), '{"a":' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
    ]:
        result = cli.run("enqueue", *args, stdin=stdin)
        assert result.returncode == 1, args
        assert result.stderr.startswith("redisaq: error: ") and message in result.stderr
        assert result.stderr.count("\n") == 1
    assert sum(lengths()) == 3  # nothing written by the refused ones


def test_entry_points_and_usage() -> None:
    (script,) = entry_points(group="console_scripts", name="redisaq")
    assert script.value == "redisaq.cli:main"
    run = [sys.executable, "-m", "redisaq"]
    version = subprocess.run([*run, "--version"], capture_output=True, text=True, cwd=ROOT)
    assert version.returncode == 0 and version.stdout.strip() == f"redisaq {__version__}"
    usage = subprocess.run(run, capture_output=True, text=True, cwd=ROOT)
    assert usage.returncode == 2 and "usage: redisaq" in usage.stderr
