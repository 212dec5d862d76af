"""scripts/bench.py --quick runs every section against the test Redis and prints its table."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = "ABCDE"


@pytest.mark.timeout(150)
def test_bench_quick_prints_a_table_and_cleans_up(redis_url: str) -> None:
    prefix = f"test-bench-{uuid.uuid4().hex[:10]}"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench.py"),
            "--quick",
            "--redis-url",
            redis_url,
            "--prefix",
            prefix,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    header = [line for line in lines if line.split()[:2] == ["measure", "flavor"]]
    assert header and "raw redis-py" in header[0] and "ratio" in header[0], done.stdout
    seen: set[tuple[str, str]] = set()
    for line in lines:
        cells = line.split()
        if len(cells) > 2 and cells[0] in SECTIONS and len(cells[0]) == 1:
            flavor = next((c for c in cells if c in ("async", "sync")), None)
            if flavor is not None:
                seen.add((cells[0], flavor))
    assert seen == {(s, f) for s in SECTIONS for f in ("async", "sync")}, done.stdout
    assert "targets held:" in done.stdout

    client = redis.Redis.from_url(redis_url)
    try:
        assert not list(client.scan_iter(match=f"{prefix}:*", count=1000))
    finally:
        client.close()
