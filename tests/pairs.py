"""Test-only flavor pairs (unasync cannot unwrap Awaitable[...]; see redisaq/_types.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

AsyncPredicate = Callable[[], Awaitable[bool]]
SyncPredicate = Callable[[], bool]
