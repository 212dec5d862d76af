"""AsyncDeadLetters: list, count, requeue and purge entries of a dead-letter stream.

Owns nothing but the dead-letter stream it is given. Requeue writes a job back to the
partition it failed on (same job id and payload, a fresh delivery count) marked for its
group only, then deletes the dead letter: repeating a requeue never requeues a job twice
(a crash between the two steps can, at worst, requeue one job again next time).
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Iterable
from datetime import datetime, timezone

from .._keys import TopicKeys
from .._models import F_ENQUEUED_AT, F_ID, F_ONLY_GROUP, F_PAYLOAD, DeadLetter
from .._redis import AsyncClient, AsyncConnector
from .closing import AsyncClosing
from .store import AsyncStore

log = logging.getLogger("redisaq.dead_letters")

PAGE = 500


class AsyncDeadLetters(AsyncClosing):
    """Tools over a dead-letter stream (default ``redisaq:dead_letter``).

    Args:
        stream: the dead-letter stream key, as given to consumers as ``dead_letter``.
        prefix: the key prefix for requeued jobs whose dead letter does not name one.
        redis_url / redis: where Redis is, or a ready client (not closed by ``close``).
    """

    def __init__(
        self,
        *,
        stream: str = "redisaq:dead_letter",
        prefix: str = "redisaq",
        redis_url: str = "redis://localhost:6379/0",
        redis: AsyncClient | None = None,
    ) -> None:
        self.stream = stream
        self.prefix = prefix
        self._store = AsyncStore(redis or AsyncConnector.from_url(redis_url), owned=redis is None)

    async def close(self) -> None:
        await self._store.aclose()

    async def list(
        self, *, topic: str | None = None, group: str | None = None, limit: int | None = None
    ) -> builtins.list[DeadLetter]:
        """Dead letters, oldest first, optionally only those of ``topic`` / ``group``."""
        found: builtins.list[DeadLetter] = []
        after = "-"
        while limit is None or len(found) < limit:
            page = await self._store.range(self.stream, after, PAGE)
            for entry in page:
                letter = DeadLetter.from_entry(entry)
                if letter.matches(topic, group):
                    found.append(letter)
            if len(page) < PAGE:
                break
            after = f"({page[-1].stream_id}"
        return found if limit is None else found[:limit]

    async def count(self, *, topic: str | None = None, group: str | None = None) -> int:
        if topic is None and group is None:
            return await self._store.length(self.stream)
        return len(await self.list(topic=topic, group=group))

    async def requeue(
        self,
        ids: Iterable[str] | None = None,
        *,
        topic: str | None = None,
        group: str | None = None,
    ) -> builtins.list[str]:
        """Put dead letters back on their topic for their group; returns the job ids.

        ``ids`` selects dead-letter ids (default: all that match ``topic`` / ``group``).
        Entries that were never jobs (junk written by something else) stay where they are.
        """
        letters = await self._select(ids, topic, group)
        requeued: builtins.list[str] = []
        for letter in letters:
            if not letter.requeueable():
                log.warning(
                    "dead letter %s is not a job (%s); left in place", letter.id, letter.error_type
                )
                continue
            # The record names the prefix it came from; older records use this tool's.
            stream = TopicKeys(letter.prefix or self.prefix, letter.topic).stream(letter.partition)
            fields: dict[str, str | bytes] = {
                F_ID: letter.job_id,
                F_PAYLOAD: letter.payload,
                F_ENQUEUED_AT: letter.enqueued_at or datetime.now(timezone.utc).isoformat(),
                F_ONLY_GROUP: letter.group,
            }
            await self._store.add(stream, fields, None, True)
            await self._store.delete_entries(self.stream, [letter.id])
            requeued.append(letter.job_id)
        return requeued

    async def purge(
        self,
        ids: Iterable[str] | None = None,
        *,
        topic: str | None = None,
        group: str | None = None,
    ) -> int:
        """Delete dead letters (selected by id, or all matching); returns how many."""
        letters = await self._select(ids, topic, group)
        return await self._store.delete_entries(self.stream, [x.id for x in letters])

    async def _select(
        self, ids: Iterable[str] | None, topic: str | None, group: str | None
    ) -> builtins.list[DeadLetter]:
        letters = await self.list(topic=topic, group=group)
        if ids is None:
            return letters
        wanted = set(ids)
        return [letter for letter in letters if letter.id in wanted]
