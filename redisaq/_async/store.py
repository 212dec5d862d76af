"""AsyncStore: every Redis command redisaq sends, with typed results.

Replies are parsed in redisaq._parse; nothing above this module sees an untyped reply.
No command here touches two keys of different Cluster slots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from redis.exceptions import ResponseError
from redis.typing import EncodableT, FieldT

from .. import _parse, _scripts
from .._config import MAX_PARTITIONS
from .._models import PendingEntry, StreamEntry, text
from .._redis import AsyncClient, AsyncConnector, AsyncPubSub

PIPELINE_CHUNK = 5000


class AsyncStore:
    """Typed wrapper over one client; closes it only if it opened it."""

    def __init__(self, client: AsyncClient, *, owned: bool) -> None:
        self.client = client
        self._owned = owned
        self._heartbeat = client.register_script(_scripts.HEARTBEAT)
        self._acquire = client.register_script(_scripts.ACQUIRE)
        self._confirm = client.register_script(_scripts.CONFIRM)
        self._release = client.register_script(_scripts.RELEASE)
        self._leave = client.register_script(_scripts.LEAVE)
        self._grow = client.register_script(_scripts.GROW)
        self._group_start = client.register_script(_scripts.GROUP_START)
        self._forget = client.register_script(_scripts.FORGET)
        self._snapshot = client.register_script(_scripts.SNAPSHOT)
        # Pub/sub notices only speed hand-overs up; an async cluster client of redis-py < 8
        # has no pub/sub, and then consumers rely on their timed heartbeats alone.
        self.notices = hasattr(client, "pubsub") and hasattr(client, "publish")

    async def aclose(self) -> None:
        if self._owned:
            await self.client.aclose()

    async def ping(self) -> None:
        await self.client.ping()

    # -- topic -------------------------------------------------------------------------

    async def partition_count(self, key: str) -> int:
        """The stored count; 0 when absent or not a count (then growing it rewrites it)."""
        return _parse.count(await self.client.get(key), key)

    async def grow_partitions(self, key: str, wanted: int) -> int:
        return int(await self._grow(keys=[key], args=[wanted, MAX_PARTITIONS]))

    async def add(
        self, stream: str, fields: Mapping[str, str | bytes], maxlen: int | None, approximate: bool
    ) -> str:
        entry_id = await self.client.xadd(
            stream, _wire(fields), maxlen=maxlen, approximate=approximate
        )
        return text(entry_id)

    async def add_many(
        self,
        items: Sequence[tuple[str, Mapping[str, str | bytes]]],
        maxlen: int | None,
        approximate: bool,
    ) -> list[str]:
        ids: list[str] = []
        for start in range(0, len(items), PIPELINE_CHUNK):
            pipe = self.client.pipeline(transaction=False)
            for stream, fields in items[start : start + PIPELINE_CHUNK]:
                pipe.xadd(stream, _wire(fields), maxlen=maxlen, approximate=approximate)
            ids.extend(text(x) for x in await pipe.execute())
        return ids

    async def publish(self, channel: str, message: str) -> None:
        if self.notices:
            await self.client.publish(channel, message)

    def pubsub(self) -> AsyncPubSub | None:
        return AsyncConnector.pubsub(self.client) if self.notices else None

    # -- group membership and leases ---------------------------------------------------

    async def heartbeat(
        self, keys: Sequence[str], consumer_id: str, token: str, ttl_ms: int, join: bool
    ) -> _parse.HeartbeatReply:
        reply = await self._heartbeat(
            keys=list(keys), args=[consumer_id, token, ttl_ms, 1 if join else 0]
        )
        return _parse.HeartbeatReply(reply)

    async def acquire(
        self, keys: Sequence[str], consumer_id: str, token: str, ttl_ms: int, parts: Sequence[int]
    ) -> _parse.AcquireReply:
        reply = await self._acquire(keys=list(keys), args=[consumer_id, token, ttl_ms, *parts])
        return _parse.AcquireReply(reply)

    async def confirm(
        self, leases: str, token: str, ttl_ms: int, consumer_id: str, partition: int
    ) -> bool:
        reply = await self._confirm(keys=[leases], args=[token, ttl_ms, consumer_id, partition])
        return int(reply) == 1

    async def release(self, leases: str, token: str, parts: Sequence[int]) -> int:
        if not parts:
            return 0
        return int(await self._release(keys=[leases], args=[token, *parts]))

    async def leave(self, keys: Sequence[str], consumer_id: str, token: str) -> None:
        await self._leave(keys=list(keys), args=[consumer_id, token])

    async def group_start(self, meta: str, start_from: str) -> str:
        return text(await self._group_start(keys=[meta], args=[start_from]))

    # -- streams -----------------------------------------------------------------------

    async def ensure_group(self, stream: str, group: str, start_id: str) -> bool:
        """Create ``group`` on ``stream`` (and the stream); False if it existed."""
        try:
            await self.client.xgroup_create(stream, group, id=start_id, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" in str(exc):
                return False
            raise
        return True

    async def read(
        self, stream: str, group: str, consumer: str, count: int, block_ms: int
    ) -> list[StreamEntry]:
        reply = await self.client.xreadgroup(
            group, consumer, {stream: ">"}, count=count, block=block_ms
        )
        return _parse.read_entries(reply)

    async def pending(self, stream: str, group: str, after: str, count: int) -> list[PendingEntry]:
        """Pending entries with ids above ``after`` (exclusive), oldest first."""
        low = "-" if after in ("", "0-0") else f"({after}"
        reply = await self.client.xpending_range(stream, group, min=low, max="+", count=count)
        return _parse.pending_range(reply)

    async def pending_by_consumer(self, stream: str, group: str) -> dict[str, int]:
        return _parse.pending_consumers(await self.client.xpending(stream, group))

    async def claim(
        self, stream: str, group: str, consumer: str, ids: Sequence[str]
    ) -> list[StreamEntry]:
        """Take ``ids`` into ``consumer``'s pending list (counts a delivery); deleted ones
        are dropped from the pending list by Redis >= 7 and absent from the result."""
        if not ids:
            return []
        reply = await self.client.xclaim(stream, group, consumer, 0, list(ids))
        return _parse.entries(reply)

    async def set_delivery_counts(
        self, stream: str, group: str, consumer: str, ids: Sequence[str], count: int
    ) -> None:
        """Set the delivery count of pending ``ids`` (already this consumer's) to ``count``."""
        await self.client.xclaim(
            stream, group, consumer, 0, list(ids), retrycount=count, justid=True
        )

    async def forget_consumer(self, stream: str, group: str, consumer: str) -> bool:
        """Remove ``consumer`` from the group's consumer list if nothing is pending under it."""
        return int(await self._forget(keys=[stream], args=[group, consumer])) == 1

    async def ack(self, stream: str, group: str, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        return int(await self.client.xack(stream, group, *ids))

    async def range(self, stream: str, after: str, count: int) -> list[StreamEntry]:
        """Up to ``count`` entries from ``after`` (an XRANGE bound: ``-``, ``(id``, ``id``)."""
        return _parse.entries(await self.client.xrange(stream, min=after, max="+", count=count))

    async def length(self, stream: str) -> int:
        return int(await self.client.xlen(stream))

    async def delete_entries(self, stream: str, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        return int(await self.client.xdel(stream, *ids))

    # -- inspection and administration -----------------------------------------------

    async def server_time_ms(self) -> int:
        seconds, micros = await self.client.time()
        return int(seconds) * 1000 + int(micros) // 1000

    async def group_snapshot(
        self, leases: str, heartbeats: str, members: str
    ) -> _parse.GroupSnapshot:
        """Leases, heartbeats and members of a group with Redis's time, read atomically."""
        return _parse.GroupSnapshot(await self._snapshot(keys=[leases, heartbeats, members]))

    async def scores(self, key: str) -> dict[str, float]:
        return _parse.scored(await self.client.zrange(key, 0, -1, withscores=True))

    async def hash(self, key: str) -> dict[str, str]:
        reply = await self.client.hgetall(key)
        return {text(k): text(v) for k, v in reply.items()}

    async def groups(self, stream: str) -> list[_parse.GroupState]:
        try:
            return _parse.groups(await self.client.xinfo_groups(stream))
        except ResponseError as exc:
            if "no such key" in str(exc).lower():
                return []
            raise

    async def set_group_position(self, stream: str, group: str, last_id: str) -> None:
        await self.client.xgroup_setid(stream, group, last_id)

    async def keys(self, pattern: str) -> list[str]:
        return sorted([text(k) async for k in self.client.scan_iter(match=pattern, count=1000)])

    async def mark_once(self, keys: Sequence[str], ttl_ms: int) -> list[bool]:
        """SET NX each key (pipelined); True where this call set it first."""
        if not keys:
            return []
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.set(key, 1, nx=True, px=ttl_ms)
        return [bool(ok) for ok in await pipe.execute()]

    async def present(self, stream: str, ids: Sequence[str]) -> list[bool]:
        """Whether each of ``ids`` is still an entry of ``stream`` (pipelined)."""
        if not ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for entry_id in ids:
            pipe.xrange(stream, min=entry_id, max=entry_id, count=1)
        return [bool(reply) for reply in await pipe.execute()]

    async def add_dead_letter(self, stream: str, fields: Mapping[str, str | bytes]) -> str:
        return text(await self.client.xadd(stream, _wire(fields)))


def _wire(fields: Mapping[str, str | bytes]) -> dict[FieldT, EncodableT]:
    return {k: v for k, v in fields.items()}


def pubsub_message(message: Any) -> str | None:
    """The data of a pub/sub message dict, or None for no message."""
    if not message or message.get("type") != "message":
        return None
    return text(message["data"])
