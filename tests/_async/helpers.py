"""Bounded waiting for tests: no blind sleeps, every wait has a deadline."""

from __future__ import annotations

import time

from redisaq import _parse
from redisaq._concurrency import AsyncEvent
from redisaq._models import StreamEntry
from redisaq._redis import AsyncRedis
from tests.pairs import AsyncPredicate


async def eventually(predicate: AsyncPredicate, timeout: float = 10.0, what: str = "") -> None:
    """Return once ``predicate()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = AsyncEvent()
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await pause.wait(0.01)


async def pause(seconds: float) -> None:
    """Let time pass on purpose (only where the test is about elapsed time)."""
    await AsyncEvent().wait(seconds)


async def read_stream(client: AsyncRedis, key: str) -> list[StreamEntry]:
    """Every entry of a stream, oldest first, parsed (fields are bytes)."""
    return _parse.entries(await client.xrange(key))


async def pending_count(client: AsyncRedis, key: str, group: str) -> int:
    return int((await client.xpending(key, group))["pending"])
