"""Consumer hooks and the built-in counters (flavor-free).

Hooks are plain (non-async) callbacks in both flavors, called inline on the consumer's
hot path: keep them cheap. An exception raised by a hook is logged, never raised.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from ._models import Job

log = logging.getLogger("redisaq.metrics")


class ConsumerHooks:
    """Subclass and override what you need; every method does nothing by default."""

    def on_handled(self, job: Job, seconds: float) -> None:
        """A handler returned for ``job`` after ``seconds`` (a batch's time is shared)."""

    def on_failed(self, job: Job, error: Exception, retrying: bool) -> None:
        """A handler raised for ``job``; ``retrying`` says whether it will run again."""

    def on_dead_letter(self, partition: int, job_id: str, error_type: str) -> None:
        """An entry went to the dead-letter stream (``job_id`` is empty for junk)."""

    def on_rebalance(self, partitions: Sequence[int]) -> None:
        """The set of partitions this consumer owns changed to ``partitions``."""

    def on_lag(self, partition: int, lag: int) -> None:
        """Entries of an owned partition not yet delivered to the group (every interval)."""


@dataclass
class MetricsSnapshot:
    handled: int = 0
    failed: int = 0
    retried: int = 0
    dead_lettered: int = 0
    handler_seconds: float = 0.0
    rebalances: int = 0
    partitions: list[int] = field(default_factory=list)
    lag: dict[int, int] = field(default_factory=dict)


class Metrics(ConsumerHooks):
    """Counters of one consumer, readable at any time as ``consumer.metrics.snapshot()``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data = MetricsSnapshot()

    def snapshot(self) -> MetricsSnapshot:
        with self._lock:
            d = self._data
            return MetricsSnapshot(
                d.handled,
                d.failed,
                d.retried,
                d.dead_lettered,
                d.handler_seconds,
                d.rebalances,
                list(d.partitions),
                dict(d.lag),
            )

    def on_handled(self, job: Job, seconds: float) -> None:
        with self._lock:
            self._data.handled += 1
            self._data.handler_seconds += seconds

    def on_failed(self, job: Job, error: Exception, retrying: bool) -> None:
        with self._lock:
            self._data.failed += 1
            self._data.retried += retrying

    def on_dead_letter(self, partition: int, job_id: str, error_type: str) -> None:
        with self._lock:
            self._data.dead_lettered += 1

    def on_rebalance(self, partitions: Sequence[int]) -> None:
        with self._lock:
            self._data.rebalances += 1
            self._data.partitions = list(partitions)
            self._data.lag = {p: n for p, n in self._data.lag.items() if p in partitions}

    def on_lag(self, partition: int, lag: int) -> None:
        with self._lock:
            self._data.lag[partition] = lag


class HookChain(ConsumerHooks):
    """Calls every hook in turn; a failing hook is logged and skipped."""

    def __init__(self, hooks: Sequence[ConsumerHooks]) -> None:
        for hook in hooks:
            if not isinstance(hook, ConsumerHooks):
                raise TypeError(
                    f"hooks must be ConsumerHooks instances (subclass redisaq.ConsumerHooks), "
                    f"got {hook!r}"
                )
        self._hooks = list(hooks)
        # on_handled runs once per job: call only the hooks that override it.
        self._handled = [
            h for h in self._hooks if type(h).on_handled is not ConsumerHooks.on_handled
        ]

    def _each(self, name: str, *args: object) -> None:
        for hook in self._hooks:
            try:
                getattr(hook, name)(*args)
            except Exception:
                log.exception("hook %s.%s failed", type(hook).__name__, name)

    def on_handled(self, job: Job, seconds: float) -> None:
        for hook in self._handled:
            try:
                hook.on_handled(job, seconds)
            except Exception:
                log.exception("hook %s.on_handled failed", type(hook).__name__)

    def on_failed(self, job: Job, error: Exception, retrying: bool) -> None:
        self._each("on_failed", job, error, retrying)

    def on_dead_letter(self, partition: int, job_id: str, error_type: str) -> None:
        self._each("on_dead_letter", partition, job_id, error_type)

    def on_rebalance(self, partitions: Sequence[int]) -> None:
        self._each("on_rebalance", partitions)

    def on_lag(self, partition: int, lag: int) -> None:
        self._each("on_lag", partition, lag)
