"""AsyncPartitionWorker: consumes one partition while this consumer holds its lease.

On start it claims every entry pending in the group for the partition (the previous
owner's unacknowledged work, or this consumer's own from an earlier run) and handles it
first; then it reads new entries with a blocking XREADGROUP. Every heartbeat interval it
also claims entries that landed in another consumer's pending list after the hand-over
(a paused reader can still be served by Redis), so nothing stays pending under a name
that no longer reads the partition. Acknowledgements are one XACK per batch, sent only
while the lease is known to be held.
"""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError, ResponseError

from .._backoff import reconnect_delay
from .._concurrency import AsyncEvent
from .._config import ConsumerConfig
from .._lease import Lease
from .._models import PendingEntry, StreamEntry
from .._redis import socket_timeout
from .dispatch import AsyncDispatcher
from .store import AsyncStore

log = logging.getLogger("redisaq.consumer")

CLAIM_PAGE = 100


class AsyncPartitionWorker:
    def __init__(
        self,
        config: ConsumerConfig,
        consumer_id: str,
        token: str,
        store: AsyncStore,
        dispatcher: AsyncDispatcher,
        lease: Lease,
        start_id: str,
        stop: AsyncEvent,
    ) -> None:
        self._config = config
        self._consumer_id = consumer_id
        self._token = token
        self._store = store
        self._dispatcher = dispatcher
        self._hooks = dispatcher.hooks
        self.lease = lease
        self.partition = lease.partition
        self._start_id = start_id
        self._consumer_stop = stop
        self.release = AsyncEvent()  # asked to hand the partition over
        self._unsure = False  # the lease was not surely held at some point (see halted)
        self._stream = config.topic_keys.stream(self.partition)
        block = config.poll_timeout
        timeout = socket_timeout(store.client)
        if timeout is not None:
            block = min(block, timeout / 2)  # a BLOCK above the socket timeout would time out
        self._block_ms = max(1, int(block * 1000))

    def halted(self) -> bool:
        """True once the partition must be let go: no new job may start.

        Stays true once the lease was not surely held, even if a late renewal makes it
        valid again: the rest of a batch the dispatcher stopped on is pending under our
        name, and reading on (">") would handle later entries first. The worker ends;
        the next one, started once the lease is held, claims those entries first.
        """
        if not self._unsure and not self.lease.valid():
            self._unsure = True
        return self._unsure or self.release.is_set() or self._consumer_stop.is_set()

    async def run(self) -> None:
        failures = 0
        next_sweep = 0.0
        recovered = False
        # Runs until asked to let go or until the lease is not surely held (say, Redis
        # was unreachable): the coordinator then starts a new worker once it holds the
        # lease again, which first claims what this one left pending.
        while not self.halted():
            try:
                if not recovered:
                    await self._store.ensure_group(self._stream, self._config.group, self._start_id)
                    await self._recover(others_only=False)
                    recovered = True
                    next_sweep = time.monotonic() + self._config.heartbeat_interval
                elif time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self._config.heartbeat_interval
                    await self._sweep()
                else:
                    await self._read()
                failures = 0
            except ResponseError as exc:
                # NOGROUP: the group or stream was deleted (DEL, FLUSHDB, a restart without
                # persistence); UNBLOCKED: it was deleted while a read was blocked on it.
                if "NOGROUP" not in str(exc) and "UNBLOCKED" not in str(exc):
                    raise
                log.warning(
                    "group %s on %s is gone (deleted or flushed); recreating it",
                    self._config.group,
                    self._stream,
                )
                recovered = False
            except RedisError as exc:
                failures += 1
                log.warning("partition %s: %s; retrying", self._stream, exc)
                await self._consumer_stop.wait(reconnect_delay(failures))
                # A read whose reply was lost may still have delivered entries into this
                # consumer's pending list, where only a claim of our own entries finds them.
                recovered = False
        if (self.release.is_set() or self._consumer_stop.is_set()) and not self.lease.lost:
            await self._hand_over()

    async def _read(self) -> None:
        block_ms = min(self._block_ms, int(self.lease.read_budget() * 1000))
        entries = await self._store.read(
            self._stream,
            self._config.group,
            self._consumer_id,
            self._config.batch_size,
            max(1, block_ms),
        )
        if entries:
            await self._handle(entries, {})

    async def _sweep(self) -> None:
        for state in await self._store.groups(self._stream):
            if state.name == self._config.group and state.lag is not None:
                self._hooks.on_lag(self.partition, state.lag)
        counts = await self._store.pending_by_consumer(self._stream, self._config.group)
        if any(count for name, count in counts.items() if name != self._consumer_id):
            await self._recover(others_only=True)

    async def _recover(self, *, others_only: bool) -> None:
        """Claim and handle the pending entries of the partition, oldest first."""
        after = "0-0"
        while not self.halted():
            page = await self._store.pending(self._stream, self._config.group, after, CLAIM_PAGE)
            if not page:
                return
            after = page[-1].stream_id
            wanted = [p for p in page if not (others_only and p.consumer == self._consumer_id)]
            await self._claim_and_handle(wanted)

    async def _claim_and_handle(self, pending: list[PendingEntry]) -> None:
        # One entry at a time: XCLAIM counts a delivery, and an entry queued behind one
        # that kills the process must not be charged deliveries it never got to run.
        for item in pending:
            if self.halted():
                return
            group, consumer = self._config.group, self._consumer_id
            entries = await self._store.claim(self._stream, group, consumer, [item.stream_id])
            if not entries:
                log.warning(
                    "%s: pending entry %s was trimmed before it was handled; acknowledging it",
                    self._stream,
                    item.stream_id,
                )
                await self._store.ack(self._stream, group, [item.stream_id])
                continue
            # XCLAIM counted one more delivery; the handler sees that count as the attempt.
            await self._handle(entries, {item.stream_id: item.delivery_count + 1})

    async def _handle(self, entries: list[StreamEntry], attempts: dict[str, int]) -> None:
        done, unstarted = await self._dispatcher.handle(
            self.partition, entries, attempts, self.release, self.halted
        )
        if done:
            await self._ack(done)
        if unstarted:
            await self._uncount(unstarted, attempts)

    async def _uncount(self, ids: list[str], attempts: dict[str, int]) -> None:
        """Take back the delivery counted for entries fetched but never started.

        Whoever handles them next claims them, which counts a delivery again; without this
        a job that never ran would see attempt 2 (and, with max_retries=0, be dead-lettered
        unrun). Only while the lease is held: otherwise the new owner may already have
        claimed them, and touching them would steal them back.
        """
        if not self.lease.valid() and not await self._confirm():
            return
        by_count: dict[int, list[str]] = {}
        for stream_id in ids:
            by_count.setdefault(attempts.get(stream_id, 1) - 1, []).append(stream_id)
        for count, same in by_count.items():
            await self._store.set_delivery_counts(
                self._stream, self._config.group, self._consumer_id, same, count
            )

    async def _ack(self, ids: list[str]) -> None:
        if not self.lease.valid() and not await self._confirm():
            # Acknowledging now could hide the jobs from the partition's new owner, which
            # has claimed (or will claim) them: leave them to it.
            log.warning(
                "%s: lease lost before acknowledging %d job(s); the new owner "
                "will handle them again",
                self._stream,
                len(ids),
            )
            return
        await self._store.ack(self._stream, self._config.group, ids)

    async def _confirm(self) -> bool:
        if self.lease.lost:
            return False
        sent = time.monotonic()
        held = await self._store.confirm(
            self._config.group_keys.leases,
            self._token,
            self._config.ttl_ms,
            self._consumer_id,
            self.partition,
        )
        if held:
            self.lease.renewed(sent)
        else:
            self.lease.lost = True
        return held

    async def _hand_over(self) -> None:
        self.release.set()  # (also on a consumer stop): the coordinator expects the lease gone
        keys = self._config.group_keys
        try:
            # Keep the group's consumer list from growing with every restart.
            await self._store.forget_consumer(self._stream, self._config.group, self._consumer_id)
            await self._store.release(keys.leases, self._token, [self.partition])
            await self._store.publish(
                self._config.topic_keys.events, f"release {self._config.group} {self.partition}"
            )
        except RedisError as exc:  # the lease then expires by itself
            log.warning("could not release %s: %s", self._stream, exc)
