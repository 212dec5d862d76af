"""Shared fixtures: the Redis under test and a unique key prefix per test.

Tests run against a real Redis (REDISAQ_TEST_URL, default redis://127.0.0.1:6379/0).
Every test gets its own prefix and dead-letter key, deleted afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

REDIS_URL = os.environ.get("REDISAQ_TEST_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.exit(f"tests need a Redis at {REDIS_URL} ({exc}); run: bash scripts/setup.sh", 2)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{name}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


class RedisServer:
    """A redis-server process of the test's own, on a free loopback port; stopped by PID."""

    def __init__(
        self, directory: Path, *, appendonly: bool, extra: tuple[str, ...] = (), port: int = 0
    ) -> None:
        self.directory = directory
        self.appendonly = appendonly
        self.extra = extra
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--dir",
                str(self.directory),
                "--logfile",
                str(self.directory / "redis.log"),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.RedisError as exc:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        raise RuntimeError(
                            f"redis-server on port {self.port} did not start"
                        ) from exc
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()  # SIGTERM: redis-server syncs its append-only file and exits
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Factory: ``redis_server(appendonly=True)`` starts a private redis-server."""
    servers: list[RedisServer] = []

    def start(
        *, appendonly: bool = True, extra: tuple[str, ...] = (), port: int = 0
    ) -> RedisServer:
        directory = tmp_path / f"redis{len(servers)}"
        server = RedisServer(directory, appendonly=appendonly, extra=extra, port=port)
        server.directory.mkdir()
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()
