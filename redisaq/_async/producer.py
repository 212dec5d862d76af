"""AsyncProducer: writes jobs to the partition streams of a topic.

Owns ``{prefix}:{topic}:partitions`` (grows it, never shrinks it) and appends to
``{prefix}:{topic}:{p}``. Every payload is checked before anything is written.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .._concurrency import AsyncEvent
from .._config import ProducerConfig, require_partitions
from .._errors import ConnectionFailedError, RedisaqError
from .._models import encode_entry
from .._partitioning import RoundRobin, partition_for_key, payload_key
from .._redis import AsyncClient, AsyncConnector, describe
from .._serialization import Serializer, serialize
from .closing import AsyncClosing
from .store import AsyncStore

log = logging.getLogger("redisaq.producer")

PARTITION_REFRESH = 1.0  # seconds a cached partition count is trusted
WRITE_ATTEMPTS = 3


class AsyncProducer(AsyncClosing):
    """Enqueues jobs to a topic; the connection opens on first use.

    Args:
        topic: the topic; partition ``p`` is the stream ``{prefix}:{topic}:{p}``.
        redis_url: where Redis is, used when ``redis`` is not given.
        redis: a ready client to use instead of ``redis_url`` (not closed by ``close``).
        prefix: key prefix.
        partitions: grow the topic to at least this many partitions on first use.
        maxlen: trim each partition stream to about this many entries on every write.
        approximate: trim with ``MAXLEN ~`` (whole macro nodes; much cheaper).
        serializer: payload -> str | bytes; JSON by default.
    """

    def __init__(
        self,
        topic: str,
        *,
        redis_url: str = "redis://localhost:6379/0",
        redis: AsyncClient | None = None,
        prefix: str = "redisaq",
        partitions: int = 1,
        maxlen: int | None = None,
        approximate: bool = True,
        serializer: Serializer | None = None,
    ) -> None:
        self.config = ProducerConfig(
            topic=topic,
            prefix=prefix,
            partitions=partitions,
            maxlen=maxlen,
            approximate=approximate,
            serializer=serializer,
        )
        self._keys = self.config.keys
        self._redis_url = redis_url
        self._client = redis
        self._store: AsyncStore | None = None
        self._count = 0
        self._count_checked = float("-inf")
        self._round_robin = RoundRobin()
        self._closed = AsyncEvent()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(topic={self.config.topic!r})"

    async def close(self) -> None:
        """Close the connection if this producer opened it. Idempotent."""
        self._closed.set()
        store, self._store = self._store, None
        if store is not None:
            await store.aclose()

    async def enqueue(self, payload: Mapping[str, Any], *, partition_key: str | None = None) -> str:
        """Enqueue one job and return its id.

        Raises:
            SerializationError: the payload is not a JSON-serialisable mapping.
            PartitionKeyError: ``partition_key`` names a field the payload lacks.
            RedisaqError: Redis could not be reached after a few quick retries.
        """
        body = serialize(payload, self.config.serializer)
        keys = None if partition_key is None else [payload_key(payload, partition_key)]
        return (await self._write([body], keys))[0]

    async def batch_enqueue(
        self, payloads: Iterable[Mapping[str, Any]], *, partition_key: str | None = None
    ) -> list[str]:
        """Enqueue many jobs in pipelined round trips; returns their ids in order.

        Every payload is checked first: one bad payload refuses the whole batch and
        nothing is written.

        Raises:
            SerializationError: a payload is not a JSON-serialisable mapping.
            PartitionKeyError: a payload lacks the ``partition_key`` field.
            RedisaqError: Redis could not be reached after a few quick retries.
        """
        items = list(payloads)
        bodies = [serialize(p, self.config.serializer) for p in items]
        if not items:
            return []
        if partition_key is None:
            return await self._write(bodies, None)
        return await self._write(bodies, [payload_key(p, partition_key) for p in items])

    async def _write(self, bodies: list[bytes], keys: list[bytes] | None) -> list[str]:
        """XADD one job per body, to the partition of its key (canonical bytes; round-robin
        without keys); returns the job ids. A failed connection is retried twice, partition count
        included (after a restart, the cached count may be due for a refresh)."""
        store = await self._open()
        now = datetime.now(timezone.utc)
        ids = [uuid.uuid4().hex for _ in bodies]
        maxlen, approx = self.config.maxlen, self.config.approximate
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                count = await self._partition_count()
                if keys is None:
                    parts = self._round_robin.take(count, len(bodies))
                else:
                    parts = [partition_for_key(key, count) for key in keys]
                entries = [
                    (self._keys.stream(part), encode_entry(job_id, body, now))
                    for part, job_id, body in zip(parts, ids, bodies, strict=True)
                ]
                if len(entries) == 1:
                    await store.add(entries[0][0], entries[0][1], maxlen, approx)
                else:
                    await store.add_many(entries, maxlen, approx)
                return ids
            except ResponseError as exc:  # (WRONGTYPE: a key of ours holds something else)
                raise self._refused(exc) from exc
            except (RedisConnectionError, RedisTimeoutError) as exc:
                # A write whose reply was lost may have landed: a retry can then add the
                # same job (same id) twice. Delivery is at least once anyway.
                if attempt == WRITE_ATTEMPTS or await self._closed.wait(0.1 * attempt):
                    raise self._unreachable(exc) from exc
                self._count_checked = float("-inf")  # Redis may have restarted empty
                log.warning("enqueue to %s failed (%s); retrying", self._keys.topic, exc)
        raise RedisaqError("unreachable")  # pragma: no cover - the loop returns or raises

    async def request_partition_increase(self, partitions: int) -> int:
        """Grow the topic to at least ``partitions`` partitions; returns the count now.

        Running consumers pick the new partitions up within one heartbeat interval.
        """
        require_partitions(partitions)
        store = await self._open()
        with self._errors():
            before = await store.partition_count(self._keys.partitions)
            count = await self._grow(store, before, partitions)
        self._count, self._count_checked = count, time.monotonic()
        return count

    async def _grow(self, store: AsyncStore, before: int, wanted: int) -> int:
        """Grow the count to ``wanted`` and tell running consumers at once."""
        count = await store.grow_partitions(self._keys.partitions, wanted)
        if count > before:
            await store.publish(self._keys.events, f"grow {count}")
        return count

    async def num_partitions(self) -> int:
        """The topic's partition count, read from Redis."""
        self._count_checked = float("-inf")
        with self._errors():
            return await self._partition_count()

    async def _partition_count(self) -> int:
        """The count, cached for PARTITION_REFRESH; grown to ``partitions`` on first use."""
        if time.monotonic() - self._count_checked < PARTITION_REFRESH:
            return self._count
        store = await self._open()
        count = await store.partition_count(self._keys.partitions)
        wanted = max(self.config.partitions, self._count)  # the count only grows
        if count < wanted:
            count = await self._grow(store, count, wanted)
        self._count, self._count_checked = count, time.monotonic()
        return count

    async def _open(self) -> AsyncStore:
        if self._store is None:
            owned = self._client is None
            client = self._client or AsyncConnector.from_url(self._redis_url)
            self._store = AsyncStore(client, owned=owned)
            self._closed.clear()
        return self._store

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise self._unreachable(exc) from exc
        except ResponseError as exc:
            raise self._refused(exc) from exc

    def _where(self) -> str:
        return describe(self._store.client) if self._store else self._redis_url

    def _unreachable(self, exc: Exception) -> RedisaqError:
        return ConnectionFailedError(f"cannot reach Redis at {self._where()}: {exc}")

    def _refused(self, exc: Exception) -> RedisaqError:
        return RedisaqError(
            f"Redis at {self._where()} refused a write to topic {self._keys.topic!r}: {exc}"
        )
