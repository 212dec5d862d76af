"""AsyncDeadLetters: list, count, requeue and purge entries of a dead-letter stream.

Owns the dead-letter stream it is given, and short-lived requeue marks
(``{stream}:requeuing:{id}``). Requeue first marks each selected dead letter (SET NX), so
that of requeues running at once only one takes a letter, and checks that the letter is
still there (a requeue held up for longer than a mark lives must not take letters that
another requeued meanwhile). Then it writes the job back to the partition it failed on
(same job id and payload, a fresh delivery count) marked for its group only, and deletes
the dead letter: repeating a requeue never requeues a job twice (a crash between the
write and the delete can, at worst, requeue one job again once its mark has expired).
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Iterable
from datetime import datetime, timezone

from .._config import dead_letter_stream
from .._keys import TopicKeys, validate_name
from .._models import F_ENQUEUED_AT, F_ID, F_ONLY_GROUP, F_PAYLOAD, DeadLetter
from .._redis import AsyncClient, AsyncConnector
from .closing import AsyncClosing
from .store import AsyncStore

log = logging.getLogger("redisaq.dead_letters")

PAGE = 500
MARK_TTL_MS = 60_000  # how long a requeue's mark keeps other requeues off a dead letter


class AsyncDeadLetters(AsyncClosing):
    """Tools over a dead-letter stream (default ``{prefix}:dead_letter``).

    Only dead letters of ``prefix`` are seen: a stream shared by several prefixes keeps
    the others' letters out of reach of this object.

    Args:
        stream: the dead-letter stream key, as given to consumers as ``dead_letter``.
        prefix: the key prefix of the topics whose dead letters these are.
        redis_url / redis: where Redis is, or a ready client (not closed by ``close``).
    """

    def __init__(
        self,
        *,
        stream: str | None = None,
        prefix: str = "redisaq",
        redis_url: str = "redis://localhost:6379/0",
        redis: AsyncClient | None = None,
    ) -> None:
        self.prefix = validate_name("prefix", prefix)
        self.stream = validate_name("stream", stream or dead_letter_stream(prefix))
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
                if letter.matches(self.prefix, topic, group):
                    found.append(letter)
            if len(page) < PAGE:
                break
            after = f"({page[-1].stream_id}"
        return found if limit is None else found[:limit]

    async def count(self, *, topic: str | None = None, group: str | None = None) -> int:
        return len(await self.list(topic=topic, group=group))

    async def requeue(
        self,
        ids: Iterable[str] | None = None,
        *,
        topic: str | None = None,
        group: str | None = None,
        all: bool = False,
    ) -> builtins.list[str]:
        """Put dead letters back on their topic for their group; returns the job ids.

        Select by ``ids`` (dead-letter ids) and/or ``topic`` / ``group``; ``all=True``
        selects every dead letter of this prefix. Entries that were never jobs (junk
        written by something else) stay where they are.

        Raises:
            ValueError: nothing selects the letters (no ids, topic, group or all=True).
        """
        letters = [x for x in await self._select(ids, topic, group, all) if self._is_job(x)]
        done: builtins.list[str] = []
        for start in range(0, len(letters), PAGE):
            chunk = letters[start : start + PAGE]
            marks = [f"{self.stream}:requeuing:{x.id}" for x in chunk]
            won = await self._store.mark_once(marks, MARK_TTL_MS)
            mine = [x for x, ok in zip(chunk, won, strict=True) if ok]  # others: a requeue
            # running at the same time has them; and one that ran since we listed (its
            # marks expired while this call was held up) may have requeued them already.
            still = await self._store.present(self.stream, [x.id for x in mine])
            mine = [x for x, ok in zip(mine, still, strict=True) if ok]
            # Written back first, deleted second: a crash in between can requeue a job
            # again later, never lose it.
            await self._store.add_many([self._job_entry(x) for x in mine], None, True)
            await self._store.delete_entries(self.stream, [x.id for x in mine])
            done.extend(x.job_id for x in mine)
        return done

    async def purge(
        self,
        ids: Iterable[str] | None = None,
        *,
        topic: str | None = None,
        group: str | None = None,
        all: bool = False,
    ) -> int:
        """Delete dead letters (selected as for ``requeue``); returns how many.

        Raises:
            ValueError: nothing selects the letters (no ids, topic, group or all=True).
        """
        letters = await self._select(ids, topic, group, all)
        return await self._store.delete_entries(self.stream, [x.id for x in letters])

    async def _select(
        self, ids: Iterable[str] | None, topic: str | None, group: str | None, everything: bool
    ) -> builtins.list[DeadLetter]:
        if ids is None and topic is None and group is None and not everything:
            raise ValueError("select dead letters by ids, topic= or group=, or pass all=True")
        letters = await self.list(topic=topic, group=group)
        if ids is None:
            return letters
        wanted = set(ids)
        return [letter for letter in letters if letter.id in wanted]

    @staticmethod
    def _is_job(letter: DeadLetter) -> bool:
        if not letter.requeueable():
            log.warning(
                "dead letter %s is not a job (%s); left in place", letter.id, letter.error_type
            )
        return letter.requeueable()

    def _job_entry(self, letter: DeadLetter) -> tuple[str, dict[str, str | bytes]]:
        # The record names the prefix it came from; records without one use this tool's.
        stream = TopicKeys(letter.prefix or self.prefix, letter.topic).stream(letter.partition)
        return stream, {
            F_ID: letter.job_id,
            F_PAYLOAD: letter.payload,
            F_ENQUEUED_AT: letter.enqueued_at or datetime.now(timezone.utc).isoformat(),
            F_ONLY_GROUP: letter.group,
        }
