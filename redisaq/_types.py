"""Handler types per flavor, and their runtime checks (unasync cannot unwrap Awaitable)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from ._models import Job

AsyncHandler = Callable[[Job], Awaitable[None]]
SyncHandler = Callable[[Job], None]
AsyncBatchHandler = Callable[[list[Job]], Awaitable[None]]
SyncBatchHandler = Callable[[list[Job]], None]


def _is_async(fn: Any, name: str) -> bool:
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    # An object whose __call__ is a coroutine function counts as async too.
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(fn.__call__)


class AsyncCallables:
    """Checks that a handler given to an async consumer is a coroutine function."""

    @staticmethod
    def check(fn: Any, name: str) -> None:
        if not _is_async(fn, name):
            raise TypeError(
                f"{name} must be an 'async def' function for Consumer; "
                "use SyncConsumer for plain functions"
            )


class SyncCallables:
    """Checks that a handler given to a sync consumer is a plain (blocking) callable."""

    @staticmethod
    def check(fn: Any, name: str) -> None:
        if _is_async(fn, name):
            raise TypeError(
                f"{name} is an 'async def' function; SyncConsumer needs a plain function "
                "(use Consumer for async handlers)"
            )
