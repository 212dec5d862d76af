"""AsyncConsumer: the public consumer; composes coordinator, partition workers, dispatcher.

It joins the group, owns its round-robin share of the topic's partitions (see
coordinator.py) and runs one worker per owned partition until stop(). Opens its own
Redis client from ``redis_url`` unless given one, and closes only what it opened.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from types import TracebackType

from .._backoff import DEFAULT_BASE, RetryBackoff
from .._concurrency import AsyncEvent, AsyncTask
from .._config import ConsumerConfig, default_consumer_id
from .._errors import ConsumerFencedError, RedisaqError
from .._lease import Lease
from .._metrics import ConsumerHooks, HookChain, Metrics
from .._redis import AsyncClient, AsyncConnector
from .._serialization import Deserializer
from .._types import AsyncBatchHandler, AsyncCallables, AsyncHandler
from .coordinator import AsyncCoordinator
from .dispatch import AsyncDispatcher
from .partition import AsyncPartitionWorker
from .store import AsyncStore

log = logging.getLogger("redisaq.consumer")


class AsyncConsumer:
    """Consumes a topic as one member of a consumer group.

    Give exactly one of ``process_job`` (called per job) or ``process_batch`` (called with
    the jobs of one read of one partition). See the README for every option; times are
    in seconds.

    Raises:
        ValueError: a setting is invalid, or not exactly one handler was given.
        TypeError: a handler of the wrong kind (async vs plain) was given.
    """

    def __init__(
        self,
        topic: str,
        *,
        group: str = "default",
        consumer_id: str | None = None,
        process_job: AsyncHandler | None = None,
        process_batch: AsyncBatchHandler | None = None,
        redis_url: str = "redis://localhost:6379/0",
        redis: AsyncClient | None = None,
        prefix: str = "redisaq",
        batch_size: int = 10,
        heartbeat_interval: float = 5.0,
        heartbeat_ttl: float = 10.0,
        max_retries: int = 3,
        retry_backoff: RetryBackoff = DEFAULT_BASE,
        dead_letter: str | None = None,
        start_from: str = "earliest",
        deserializer: Deserializer | None = None,
        block_timeout: float = 1.0,
        hooks: Sequence[ConsumerHooks] = (),
    ) -> None:
        if (process_job is None) == (process_batch is None):
            raise ValueError("give exactly one of process_job= or process_batch=")
        if process_job is not None:
            AsyncCallables.check(process_job, "process_job")
        if process_batch is not None:
            AsyncCallables.check(process_batch, "process_batch")
        self.config = ConsumerConfig(
            topic=topic,
            group=group,
            consumer_id=consumer_id or default_consumer_id(),
            prefix=prefix,
            batch_size=batch_size,
            heartbeat_interval=heartbeat_interval,
            heartbeat_ttl=heartbeat_ttl,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            dead_letter=dead_letter or "",
            start_from=start_from,
            deserializer=deserializer,
            block_timeout=block_timeout,
        )
        self.consumer_id = self.config.consumer_id
        self._process_job = process_job
        self._process_batch = process_batch
        self._redis_url = redis_url
        self._client = redis
        self._token = uuid.uuid4().hex
        self._stop = AsyncEvent()
        self._coordinator: AsyncCoordinator | None = None
        self.metrics = Metrics()
        """Counters of this consumer: ``consumer.metrics.snapshot()``."""
        self._hooks = HookChain([self.metrics, *hooks])

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(topic={self.config.topic!r}, "
            f"group={self.config.group!r}, consumer_id={self.consumer_id!r})"
        )

    @property
    def partitions(self) -> list[int]:
        """The partitions this consumer owns right now."""
        coordinator = self._coordinator
        return coordinator.owned() if coordinator is not None else []

    @property
    def members(self) -> list[str]:
        """The live members of the group at the last heartbeat, sorted."""
        coordinator = self._coordinator
        return list(coordinator.members) if coordinator is not None else []

    async def __aenter__(self) -> AsyncConsumer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def request_stop(self) -> None:
        """Ask consume() to finish: a plain call, safe from signal handlers and any thread."""
        self._stop.set()

    async def stop(self) -> None:
        """Ask consume() to finish in-flight jobs, hand its partitions over and return.

        Idempotent; safe from another task or thread; returns without waiting.
        """
        self.request_stop()

    async def consume(self) -> None:
        """Consume until stop(); returns after a clean shutdown.

        Redis errors do not end it: it reconnects with backoff and goes on.

        Raises:
            ConsumerFencedError: a newer instance with the same consumer_id took over.
        """
        if self._coordinator is not None:
            raise RedisaqError(f"{self!r}: consume() was already called; make a new consumer")
        owned = self._client is None
        client = self._client or AsyncConnector.from_url(self._redis_url)
        store = AsyncStore(client, owned=owned)
        coordinator = AsyncCoordinator(
            self.config,
            self.consumer_id,
            self._token,
            store,
            self._stop,
            lambda lease, start_id: self._worker(store, lease, start_id),
            self._hooks,
        )
        self._coordinator = coordinator
        task = AsyncTask(f"redisaq:{self.config.topic}:coordinator", coordinator.run)
        task.start()
        try:
            await task.join()
        except BaseException:
            # Interrupted (cancelled, Ctrl-C): still finish in-flight jobs and hand over.
            self.request_stop()
            await task.join()
            raise
        finally:
            await store.aclose()
        if task.error is not None:
            raise task.error
        if coordinator.fenced:
            raise ConsumerFencedError(
                f"consumer {self.consumer_id!r} of group {self.config.group!r} was fenced: "
                "a newer instance with the same consumer_id joined and took its partitions"
            )

    def _worker(self, store: AsyncStore, lease: Lease, start_id: str) -> AsyncPartitionWorker:
        dispatcher = AsyncDispatcher(
            self.config,
            self.consumer_id,
            store,
            self._stop,
            self._process_job,
            self._process_batch,
            self._hooks,
        )
        return AsyncPartitionWorker(
            self.config,
            self.consumer_id,
            self._token,
            store,
            dispatcher,
            lease,
            start_id,
            self._stop,
        )
