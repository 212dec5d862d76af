"""AsyncCoordinator: membership, assignment and partition leases of one consumer.

Owns the group keys (members, instances, leases; see redisaq._keys). Each tick sends one
heartbeat script call that renews this member and every lease it holds; the live members,
sorted, give the assignment (partition p -> members[p % n]). Partitions no longer
assigned are released by their worker after its in-flight job; assigned ones are taken
only once Redis grants the lease, so one partition never has two owners at a time.
Invariant: a worker runs only while its lease is held; a lease not renewed is lost.
Ticks come every heartbeat interval, sooner when a notice arrives on the topic's
channel, when a lease we wait for expires, or when another member's heartbeat does.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from redis.exceptions import RedisError

from .._assignment import assign
from .._backoff import reconnect_delay
from .._concurrency import AsyncClock, AsyncEvent, AsyncTask
from .._config import ConsumerConfig
from .._lease import Lease
from .._metrics import ConsumerHooks
from .._redis import AsyncConnector, AsyncPubSub
from .partition import AsyncPartitionWorker
from .store import AsyncStore, pubsub_message

log = logging.getLogger("redisaq.consumer")

SETTLE_POLL = 0.5  # while a hand-over is under way, re-check at least this often
DRAIN_POLL = 0.02  # while stopping, how often to look for workers that finished


class AsyncCoordinator:
    def __init__(
        self,
        config: ConsumerConfig,
        consumer_id: str,
        token: str,
        store: AsyncStore,
        stop: AsyncEvent,
        make_worker: Callable[[Lease, str], AsyncPartitionWorker],
        hooks: ConsumerHooks,
    ) -> None:
        self._hooks = hooks
        self._reported: list[int] = []  # the partitions last reported to on_rebalance
        self._config = config
        self._consumer_id = consumer_id
        self._token = token
        self._store = store
        self._stop = stop
        self._make_worker = make_worker
        keys = config.group_keys
        self._keys = keys
        self._script_keys = [keys.members, keys.instances, keys.leases, keys.heartbeats]
        self._channel = config.topic_keys.events
        self._pubsub: AsyncPubSub | None = None
        self._start_id: str | None = None
        self._partitions = 0  # highest partition count seen
        self.workers: dict[int, tuple[AsyncPartitionWorker, AsyncTask]] = {}
        self.members: list[str] = []
        self.fenced = False
        self.joined = False
        self._quiet_until = 0.0  # (monotonic) take no partition before, see _lost

    def owned(self) -> list[int]:
        return sorted(p for p, (w, _) in self.workers.items() if not w.halted() and w.lease.valid())

    async def run(self) -> None:
        failures = 0
        try:
            while not ((self._stop.is_set() or self.fenced) and not self.workers):
                try:
                    wait = await self._tick()
                    failures = 0
                    self._report()
                except RedisError as exc:
                    self._prune()  # workers end during an outage too (a stop must not wait)
                    failures += 1
                    wait = reconnect_delay(failures)
                    log.warning(
                        "%s: Redis error in heartbeat (%s); retrying in %.1fs",
                        self._consumer_id,
                        exc,
                        wait,
                    )
                    await self._close_pubsub()
                await self._wait(wait, listen=failures == 0)
        finally:
            await self._close_pubsub()
            if self.joined:  # (when fenced, it deregisters nothing but its own leases)
                await self._leave()

    async def _tick(self) -> float:
        stopping = self._stop.is_set()
        sent = time.monotonic()
        beat = await self._store.heartbeat(
            self._script_keys,
            self._consumer_id,
            self._token,
            self._config.ttl_ms,
            join=not self.joined,
        )
        if beat.fenced or self.fenced:
            # (Once fenced, always: should the newer instance leave or expire while this
            # one drains, the script no longer reports it fenced.)
            self._fence()
            self._renew(beat.held, sent)  # held until the in-flight jobs are done
            self._prune()
            return DRAIN_POLL
        if not self.joined:
            self.joined = True
            log.info(
                "%s joined group %s of topic %s",
                self._consumer_id,
                self._config.group,
                self._config.topic,
            )
            await self._notify(f"join {self._config.group} {self._consumer_id}")
        if beat.lost:
            self._lost()
        self._renew(beat.held, sent)
        self._prune()
        self.members = sorted(beat.members)
        if stopping:
            for worker, _ in self.workers.values():
                worker.release.set()  # cuts retry waits short
            return DRAIN_POLL
        if self._start_id is None:
            self._start_id = await self._store.group_start(self._keys.meta, self._config.start_from)
        count = await self._partition_count()
        wanted = assign(beat.members, count, self._consumer_id)
        for partition, (worker, _) in self.workers.items():
            if partition not in wanted and not worker.release.is_set():
                log.info("%s hands partition %d over", self._consumer_id, partition)
                worker.release.set()
        wait = self._config.heartbeat_interval
        others = [exp for m, exp in beat.members.items() if m != self._consumer_id]
        if others:  # tick right after the next member would expire: prompt crash detection
            wait = min(wait, (min(others) - beat.now_ms) / 1000 + 0.005)
        need = sorted(p for p in wanted if p not in self.workers)
        quiet = self._quiet_until - time.monotonic()
        if need and quiet > 0:
            wait = min(wait, quiet)
        elif need:
            wait = min(wait, await self._acquire(need))
        if set(self.workers) != wanted:
            wait = min(wait, SETTLE_POLL)
        return max(wait, 0.001)

    def _lost(self) -> None:
        """Our registration was gone: the group's keys were lost (FLUSHALL, DEL, a restart
        without persistence) or our heartbeat had expired. Other members may still be
        running jobs under leases Redis forgot; take no partition until those have surely
        lapsed on their holders' clocks (heartbeat_ttl)."""
        log.warning(
            "%s: group %s lost track of this member (flushed, restarted or expired "
            "heartbeat); taking no partitions for %.1fs",
            self._consumer_id,
            self._config.group,
            self._config.heartbeat_ttl,
        )
        self._quiet_until = time.monotonic() + self._config.heartbeat_ttl

    def _report(self) -> None:
        owned = self.owned()
        if owned != self._reported:
            self._reported = owned
            if owned or not (self._stop.is_set() or self.fenced):
                log.info("%s now owns partitions %s", self._consumer_id, owned)
            else:  # (its workers still finish their in-flight jobs, then hand over)
                log.info("%s takes no more jobs; finishing the ones in flight", self._consumer_id)
            self._hooks.on_rebalance(owned)

    async def _partition_count(self) -> int:
        """The topic's partition count; it only grows, so a smaller stored value means the
        key was lost (FLUSHALL, a restart without persistence): put back what we knew."""
        key = self._config.topic_keys.partitions
        stored = await self._store.partition_count(key)
        if stored < self._partitions:
            log.warning(
                "partition count of %s went from %d to %d; restoring it",
                self._config.topic,
                self._partitions,
                stored,
            )
            stored = await self._store.grow_partitions(key, self._partitions)
        self._partitions = stored
        return max(1, stored)  # a topic no producer has written to yet has one partition

    async def _acquire(self, need: list[int]) -> float:
        """Take the free leases among ``need``; returns how long until one we wait for expires."""
        sent = time.monotonic()
        reply = await self._store.acquire(
            self._script_keys[1:3], self._consumer_id, self._token, self._config.ttl_ms, need
        )
        assert self._start_id is not None
        for partition in sorted(reply.acquired):
            lease = Lease(partition, self._config.heartbeat_ttl)
            lease.renewed(sent)
            worker = self._make_worker(lease, self._start_id)
            task = AsyncTask(f"redisaq:{self._config.topic}:{partition}", worker.run)
            self.workers[partition] = (worker, task)
            task.start()
            log.info("%s owns partition %d", self._consumer_id, partition)
        if reply.blocked_until_ms:
            return (reply.blocked_until_ms - reply.now_ms) / 1000 + 0.005
        return self._config.heartbeat_interval

    def _renew(self, held: set[int], sent: float) -> None:
        for partition, (worker, task) in self.workers.items():
            if partition in held:
                worker.lease.renewed(sent)
            elif not (worker.lease.lost or worker.release.is_set() or task.done()):
                # (a worker asked to hand over releases the lease itself)
                log.warning(
                    "%s lost partition %d (its lease expired: heartbeats were late)",
                    self._consumer_id,
                    partition,
                )
                worker.lease.lost = True

    def _prune(self) -> None:
        for partition, (_, task) in list(self.workers.items()):
            if task.done():
                del self.workers[partition]
                if task.error is not None:
                    log.error("worker of partition %d failed", partition, exc_info=task.error)

    def _fence(self) -> None:
        if not self.fenced:
            log.error(
                "%s was fenced: a newer instance with the same consumer_id joined",
                self._consumer_id,
            )
        self.fenced = True
        # Like a stop: finish the in-flight job, acknowledge it, release the lease. The
        # newer instance cannot take a lease this one still holds, so it waits for that.
        for worker, _ in self.workers.values():
            worker.release.set()

    async def _leave(self) -> None:
        try:
            await self._store.leave(self._script_keys, self._consumer_id, self._token)
            await self._notify(f"leave {self._config.group} {self._consumer_id}")
            log.info("%s left group %s", self._consumer_id, self._config.group)
        except RedisError as exc:  # its heartbeat and leases then expire by themselves
            log.warning("%s could not leave cleanly: %s", self._consumer_id, exc)

    async def _notify(self, message: str) -> None:
        await self._store.publish(self._channel, message)

    async def _wait(self, timeout: float, *, listen: bool) -> None:
        """Sleep up to ``timeout``, waking early on a notice for this group or on stop.

        Subscribes only when ``listen`` (the last heartbeat worked): a cluster client
        that lost its slot map maps it again on a command, not on a subscription.
        """
        deadline = time.monotonic() + timeout
        stopping = self._stop.is_set()
        while (remaining := deadline - time.monotonic()) > 0:
            step = min(remaining, self._config.poll_timeout)
            if self._stop.is_set() != stopping:
                return
            try:
                if self._pubsub is None and listen:
                    self._pubsub = self._store.pubsub()
                    if self._pubsub is not None:
                        await self._pubsub.subscribe(self._channel)
                if self._pubsub is None:
                    await self._pause(step, stopping)
                    continue
                message = pubsub_message(await self._pubsub.get_message(timeout=step))
            except RedisError:
                await self._close_pubsub()
                await self._pause(step, stopping)
                continue
            if message is not None and self._relevant(message):
                return

    async def _pause(self, seconds: float, stopping: bool) -> None:
        if stopping:  # (the stop event is set already: waiting on it would not wait)
            await AsyncClock.sleep(seconds)
        else:
            await self._stop.wait(seconds)

    def _relevant(self, message: str) -> bool:
        kind, _, rest = message.partition(" ")
        return kind == "grow" or rest.split(" ", 1)[0] == self._config.group

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(RedisError):
                await AsyncConnector.close_pubsub(pubsub)
