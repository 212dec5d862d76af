"""Flavor primitives: each Async* class has a Sync* twin with the same methods.

These are the only places (with _redis.py and _types.py) that know about asyncio or
threads. Stopping is cooperative in both flavors: loops wait on an event with a
timeout; nothing relies on cancelling a task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("redisaq.concurrency")

JOIN_SLICE = 0.1  # longest blocking wait of SyncTask.join (see there)


class AsyncEvent:
    """A flag whose wait() returns whether it was set; set() is safe from any thread."""

    def __init__(self) -> None:
        self._flag = False
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def set(self) -> None:
        self._flag = True
        event, loop = self._event, self._loop
        if event is None or loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):  # a closed loop has no waiter left
                loop.call_soon_threadsafe(event.set)

    def clear(self) -> None:
        self._flag = False
        if self._event is not None:
            self._event.clear()

    def is_set(self) -> bool:
        return self._flag

    async def wait(self, timeout: float | None = None) -> bool:
        if self._flag:
            return True
        loop = asyncio.get_running_loop()
        if self._event is None or self._loop is not loop:
            self._event, self._loop = asyncio.Event(), loop
        if self.is_set():  # set() may have run while the event was being made
            return True
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except asyncio.TimeoutError:
            return self._flag
        return True


class SyncEvent:
    """Thread twin of AsyncEvent; same contract."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


class AsyncClock:
    @staticmethod
    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds)


class SyncClock:
    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds)


class AsyncTask:
    """Runs ``target`` in the background; join() waits for it, error holds what it raised."""

    def __init__(self, name: str, target: Callable[[], Awaitable[None]]) -> None:
        self.name = name
        self._target = target
        self._done = AsyncEvent()
        self._task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        try:
            await self._target()
        except BaseException as exc:  # kept for join(); the owner decides what to do
            self.error = exc
            if not isinstance(exc, asyncio.CancelledError):
                log.debug("task %s failed", self.name, exc_info=True)
        finally:
            self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    async def join(self, timeout: float | None = None) -> bool:
        """Wait until the target returned; False if it still runs after ``timeout``."""
        return await self._done.wait(timeout)


class SyncTask:
    """Thread twin of AsyncTask (a daemon thread); same contract."""

    def __init__(self, name: str, target: Callable[[], None]) -> None:
        self.name = name
        self._target = target
        self._done = SyncEvent()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            self._target()
        except BaseException as exc:  # kept for join(); the owner decides what to do
            self.error = exc
            log.debug("thread %s failed", self.name, exc_info=True)
        finally:
            self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def join(self, timeout: float | None = None) -> bool:
        # In slices: Python runs signal handlers (SIGTERM -> request_stop(), Ctrl-C) only
        # in the main thread, between bytecodes. When the kernel hands the signal to
        # another thread, nothing interrupts a blocking wait of the main thread, which
        # would then wait forever for a stop that its handler never requests.
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = JOIN_SLICE if deadline is None else min(JOIN_SLICE, deadline - time.monotonic())
            if step <= 0:
                return self._done.is_set()
            if self._done.wait(step):
                return True
