"""The main demo (README: `python -m examples.basic`) runs, ends by itself, and shows it all."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import redis

from tests.cli.conftest import ROOT


def demo_keys(client: redis.Redis) -> set[bytes]:
    return set(client.scan_iter(match="redisaq-demo-*", count=1000))


def test_demo_shows_partitions_rebalances_and_reconsumption(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    before = demo_keys(client)
    run = subprocess.run(
        [sys.executable, "-m", "examples.basic"],
        cwd=ROOT,
        env={**os.environ, "REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    steps = [
        r"alpha \(async\) started +partitions: alpha=\[0, 1, 2, 3\]",
        r"bravo \(sync, a thread\) joined +partitions: alpha=\[0, 2\], bravo=\[1, 3\]",
        r"charlie \(async\) joined +partitions: alpha=\[0, 3\], bravo=\[1\], charlie=\[2\]",
        r"100 more jobs enqueued",
        r"charlie stopped: partitions handed back +partitions: alpha=\[0, 2\], bravo=\[1, 3\]",
        r"all 400 jobs handled",
        r"new group 'audit' re-read every job from the start: 400 jobs",
    ]
    at = 0
    for step in steps:
        found = re.compile(step).search(out, at)
        assert found, f"missing (in order): {step}\n{out}"
        at = found.end()
    totals = {m[0]: int(m[1]) for m in re.findall(r"^  (\w+) +(\d+) jobs", out, re.M)}
    assert set(totals) == {"alpha", "bravo", "charlie", "total"}
    assert all(totals[name] > 0 for name in ("alpha", "bravo", "charlie"))
    assert totals["total"] == totals["alpha"] + totals["bravo"] + totals["charlie"] >= 400
    assert demo_keys(client) == before, "the demo left keys behind"
    client.close()
