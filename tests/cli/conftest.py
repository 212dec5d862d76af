"""Run the ``redisaq`` command in subprocesses; every process is stopped by PID at teardown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Short timings so that joins, hand-overs and shutdowns take a fraction of a second.
FAST_WORKER = (
    "--heartbeat-interval",
    "0.2",
    "--heartbeat-ttl",
    "2",
    "--block-timeout",
    "0.1",
    "--retry-backoff",
    "0.01",
)


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    """Return once ``predicate()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.02)


class Worker:
    """A ``redisaq worker`` subprocess; its stderr goes to a file the test can read."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, sig: signal.Signals) -> None:
        os.kill(self.process.pid, sig)

    def wait(self, timeout: float = 15.0) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"worker still running {timeout}s later; its log:\n{self.stderr}"
            ) from None


class Cli:
    """Runs ``python -m redisaq`` against the test's Redis and prefix."""

    def __init__(self, redis_url: str, prefix: str, tmp: Path) -> None:
        self.redis_url = redis_url
        self.prefix = prefix
        self.dead_letter = f"{prefix}:dead_letter"
        self.tmp = tmp
        self.env = {**os.environ, "REDISAQ_TEST_URL": redis_url, "PYTHONUNBUFFERED": "1"}
        self.workers: list[Worker] = []

    def command(self, args: tuple[str, ...], *, redis_url: str | None = None) -> list[str]:
        return [
            sys.executable,
            "-m",
            "redisaq",
            *args,
            "--redis-url",
            redis_url or self.redis_url,
            "--prefix",
            self.prefix,
        ]

    def run(
        self, *args: str, stdin: str | None = None, redis_url: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(args, redis_url=redis_url),
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=self.env,
            timeout=30,
        )

    def ok(self, *args: str, stdin: str | None = None) -> str:
        """Run a command that must succeed; returns its stdout."""
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 0, f"{args} exited {result.returncode}: {result.stderr}"
        return result.stdout

    def start_worker(self, handler: str, *args: str) -> Worker:
        log = self.tmp / f"worker{len(self.workers)}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                self.command(
                    ("worker", handler, *FAST_WORKER, *args)  # dead letters: PREFIX:dead_letter
                ),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                cwd=ROOT,
                env=self.env,
            )
        worker = Worker(process, log)
        self.workers.append(worker)
        return worker

    def stop_all(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.kill()  # by PID: only the processes this test started
                worker.process.wait(10)


@pytest.fixture
def cli(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[Cli]:
    runner = Cli(redis_url, prefix, tmp_path)
    yield runner
    runner.stop_all()
