"""AsyncAdmin: inspect topics and groups, and move a stopped group's position (replay).

Reads every key of a topic and its groups; writes only group positions (XGROUP SETID),
and only while the group has no live member.
"""

from __future__ import annotations

import re
from datetime import datetime

from redis.exceptions import ResponseError

from .._errors import RedisaqError
from .._info import GroupInfo, GroupPartitionInfo, MemberInfo, PartitionInfo, TopicInfo
from .._keys import GroupKeys, TopicKeys, validate_name
from .._redis import AsyncClient, AsyncConnector
from .closing import AsyncClosing
from .store import AsyncStore

_STREAM_ID = re.compile(r"^\d+(-\d+)?$")


def replay_position(to: str | datetime) -> str:
    """The last-delivered id that makes a group re-read entries from ``to`` on."""
    if isinstance(to, datetime):
        if to.tzinfo is None:
            raise ValueError("replay time must be timezone-aware (e.g. datetime.now(timezone.utc))")
        ms = int(to.timestamp() * 1000)
        return "0-0" if ms <= 0 else f"{ms - 1}-18446744073709551615"
    if not _STREAM_ID.match(to):
        raise ValueError(f"replay position must be a stream id like '1700000000000-0', got {to!r}")
    ms_text, _, seq_text = to.partition("-")
    ms, seq = int(ms_text), int(seq_text or 0)
    if seq > 0:
        return f"{ms}-{seq - 1}"
    return "0-0" if ms == 0 else f"{ms - 1}-18446744073709551615"


class AsyncAdmin(AsyncClosing):
    """Inspection and replay. ``redis`` (a ready client) is not closed by ``close``."""

    def __init__(
        self,
        *,
        prefix: str = "redisaq",
        redis_url: str = "redis://localhost:6379/0",
        redis: AsyncClient | None = None,
    ) -> None:
        self.prefix = validate_name("prefix", prefix)
        self._store = AsyncStore(redis or AsyncConnector.from_url(redis_url), owned=redis is None)

    async def close(self) -> None:
        await self._store.aclose()

    async def topics(self) -> list[str]:
        """Topics that have a partition count under this prefix."""
        head, tail = f"{self.prefix}:", ":partitions"
        keys = await self._store.keys(f"{head}*{tail}")
        return [k[len(head) : -len(tail)] for k in keys]

    async def info(self, topic: str) -> TopicInfo:
        """Partitions, stream lengths, groups with pending/lag/owners, live members."""
        keys = TopicKeys(self.prefix, validate_name("topic", topic))
        count = max(1, await self._store.partition_count(keys.partitions))
        parts: list[PartitionInfo] = []
        per_group: dict[str, list[GroupPartitionInfo]] = {}
        for p in range(count):
            stream = keys.stream(p)
            parts.append(PartitionInfo(p, await self._store.length(stream)))
            for state in await self._store.groups(stream):
                per_group.setdefault(state.name, []).append(
                    GroupPartitionInfo(p, state.pending, state.lag, None, state.last_delivered)
                )
        groups = [
            await self._group(keys.topic, name, rows) for name, rows in sorted(per_group.items())
        ]
        return TopicInfo(topic, parts, groups)

    async def _group(self, topic: str, name: str, rows: list[GroupPartitionInfo]) -> GroupInfo:
        gk = GroupKeys(self.prefix, topic, name)
        # (one atomic read: a heartbeat landing between separate reads would make expiries
        # and heartbeat ages disagree)
        snap = await self._store.group_snapshot(gk.leases, gk.heartbeats, gk.members)
        now, beats = snap.now_ms, snap.heartbeats
        leases: dict[int, str] = {}
        for field, value in snap.leases.items():
            expiry, _, rest = value.partition(":")
            # (consumers treat a lease that does not parse as expired; so does info)
            if field.isdigit() and expiry.isdigit() and int(expiry) > now:
                leases[int(field)] = rest.partition(":")[2]
        members = [
            MemberInfo(
                cid,
                (exp - now) / 1000,
                (now - int(beats[cid])) / 1000 if beats.get(cid, "").isdigit() else None,
                sorted(p for p, o in leases.items() if o == cid),
            )
            for cid, exp in sorted(snap.members.items())
            if exp > now
        ]
        rows = [
            GroupPartitionInfo(
                r.partition, r.pending, r.lag, leases.get(r.partition), r.last_delivered
            )
            for r in rows
        ]
        return GroupInfo(name, members, rows)

    async def replay(self, topic: str, group: str, *, to: str | datetime) -> int:
        """Move ``group`` back (or forward) so it re-reads every partition from ``to``.

        ``to`` is a stream id (entries from that id on) or an aware datetime (entries
        enqueued from that instant on). Returns the number of partitions moved.

        Raises:
            RedisaqError: the group has live consumers (stop them first).
            ValueError: ``to`` is not a stream id or an aware datetime.
        """
        position = replay_position(to)
        keys = TopicKeys(self.prefix, validate_name("topic", topic))
        gk = GroupKeys(self.prefix, topic, validate_name("group", group, allow_colon=False))
        now = await self._store.server_time_ms()
        live = sorted(m for m, exp in (await self._store.scores(gk.members)).items() if exp > now)
        if live:
            raise RedisaqError(
                f"group {group!r} of topic {topic!r} has live consumers {live}; stop them "
                "before replaying (their heartbeats expire heartbeat_ttl after they stop)"
            )
        count = max(1, await self._store.partition_count(keys.partitions))
        for p in range(count):
            try:
                await self._store.set_group_position(keys.stream(p), group, position)
            except ResponseError as exc:
                # No group on that partition yet, or no stream (nothing was ever written
                # to it): create both at the position.
                if "NOGROUP" not in str(exc) and "requires the key to exist" not in str(exc):
                    raise
                await self._store.ensure_group(keys.stream(p), group, position)
        return count
