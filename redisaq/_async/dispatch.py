"""AsyncDispatcher: runs handlers on decoded jobs, with retries and dead letters.

Invariants: jobs of one partition run one at a time, in stream order, retries in place;
a job is reported done (to be acknowledged) only after its handler returned or after it
was written to the dead-letter stream. Redis's delivery count is the attempt counter, so
it survives a worker that dies mid-job (poison jobs end in the dead-letter stream).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from .._backoff import retry_delay
from .._concurrency import AsyncEvent
from .._config import ConsumerConfig
from .._errors import Reject, Retry
from .._metrics import ConsumerHooks
from .._models import (
    F_ID,
    F_ONLY_GROUP,
    DecodeError,
    Job,
    StreamEntry,
    dead_letter_fields,
    decode_job,
    short_traceback,
)
from .._types import AsyncBatchHandler, AsyncHandler
from .store import AsyncStore

log = logging.getLogger("redisaq.consumer")

Halted = Callable[[], bool]


class AsyncDispatcher:
    def __init__(
        self,
        config: ConsumerConfig,
        consumer_id: str,
        store: AsyncStore,
        stop: AsyncEvent,
        process_job: AsyncHandler | None,
        process_batch: AsyncBatchHandler | None,
        hooks: ConsumerHooks,
    ) -> None:
        self.hooks = hooks
        self._config = config
        self._consumer_id = consumer_id
        self._store = store
        self._stop = stop
        self._process_job = process_job
        self._batched = process_batch is not None
        self._call: AsyncBatchHandler = process_batch or self._one
        self._entries: dict[str, StreamEntry] = {}  # the batch in hand, for dead letters

    async def handle(
        self,
        partition: int,
        entries: list[StreamEntry],
        attempts: Mapping[str, int],
        wake: AsyncEvent,
        halted: Halted,
    ) -> tuple[list[str], list[str]]:
        """Handle ``entries`` in order; return the ids that are done (to acknowledge) and
        the ids of entries that were never started.

        Stops early, leaving the rest pending, once ``halted()`` (which covers the lease).
        ``wake`` is set when the partition must be let go; it cuts retry waits short.
        """
        done: list[str] = []
        jobs: list[Job] = []
        self._entries = {entry.stream_id: entry for entry in entries}
        started = 0
        for entry in entries:
            if halted():
                break
            started += 1
            job = await self._admit(partition, entry, attempts.get(entry.stream_id, 1))
            if job is None:
                done.append(entry.stream_id)
            elif self._batched:
                jobs.append(job)
            elif await self._run([job], self._call, wake, halted):
                done.append(entry.stream_id)
        unstarted = [entry.stream_id for entry in entries[started:]]
        if jobs and halted():
            unstarted.extend(job.stream_id for job in jobs)
        elif jobs and await self._run(jobs, self._call, wake, halted):
            done.extend(job.stream_id for job in jobs)
        return done, unstarted

    async def _admit(self, partition: int, entry: StreamEntry, attempt: int) -> Job | None:
        """The job to run, or None if the entry was deleted or dead-lettered instead."""
        stream = f"{self._config.prefix}:{self._config.topic}:{partition}"  # for the logs
        if entry.fields is None:
            log.warning(
                "%s entry %s was trimmed before it was handled; acknowledging it",
                stream,
                entry.stream_id,
            )
            return None
        only = entry.fields.get(F_ONLY_GROUP)
        if only is not None and only != self._config.group.encode():
            return None  # requeued from another group's dead letters: not ours to run
        try:
            job = decode_job(
                entry,
                topic=self._config.topic,
                partition=partition,
                attempt=attempt,
                deserializer=self._config.deserializer,
            )
        except DecodeError as exc:
            log.error(
                "%s entry %s is not a redisaq job (%s); dead-lettering it",
                stream,
                entry.stream_id,
                exc,
            )
            await self._dead_letter(partition, entry, attempt, "DecodeError", str(exc))
            return None
        if attempt > self._config.delivery_limit:
            reason = (
                f"delivered {attempt} times, more than {self._config.delivery_limit} "
                f"(max_retries={self._config.max_retries}): its worker died handling it"
            )
            log.error(
                "job %s (%s %s) %s; dead-lettering it", job.id, stream, entry.stream_id, reason
            )
            await self._dead_letter(partition, entry, attempt, "DeliveryLimitExceeded", reason)
            return None
        return job

    async def _one(self, jobs: list[Job]) -> None:
        handler = self._process_job
        assert handler is not None
        await handler(jobs[0])

    async def _run(
        self, jobs: list[Job], call: AsyncBatchHandler, wake: AsyncEvent, halted: Halted
    ) -> bool:
        """Call the handler, retrying in place; True when the jobs are done (handled or dead)."""
        while True:
            started = time.perf_counter()
            try:
                await call(jobs)
            except Exception as exc:
                last = max(job.attempt for job in jobs) > self._config.max_retries
                give_up = last or isinstance(exc, Reject)
                for job in jobs:
                    self.hooks.on_failed(job, exc, not give_up)
                if give_up:
                    for job in jobs:
                        await self._fail(job, exc)
                    return True
                if not await self._before_retry(jobs, exc, wake, halted):
                    return False
                jobs = [replace(job, attempt=job.attempt + 1) for job in jobs]
            else:
                seconds = (time.perf_counter() - started) / len(jobs)
                for job in jobs:
                    self.hooks.on_handled(job, seconds)
                return True

    async def _before_retry(
        self, jobs: list[Job], exc: Exception, wake: AsyncEvent, halted: Halted
    ) -> bool:
        """Wait the backoff and record the coming attempt in Redis; False to give up now.

        A job given up on stays pending with its delivery count, for the next owner.
        """
        attempt = max(job.attempt for job in jobs)
        if isinstance(exc, Retry):
            delay = exc.after
        else:
            delay = retry_delay(self._config.retry_backoff, attempt)
        log.warning(
            "job %s failed on attempt %d (%s: %s); retrying in %.2fs",
            ",".join(j.id for j in jobs),
            attempt,
            type(exc).__name__,
            exc,
            delay,
        )
        if delay > 0:
            await wake.wait(delay)
        if halted():
            return False
        for job in jobs:
            stream = self._config.topic_keys.stream(job.partition)
            await self._store.set_delivery_counts(
                stream, self._config.group, self._consumer_id, [job.stream_id], job.attempt + 1
            )
        return True

    async def _fail(self, job: Job, exc: Exception) -> None:
        log.error(
            "job %s failed %d time(s), the last with %s: %s; dead-lettering it",
            job.id,
            job.attempt,
            type(exc).__name__,
            exc,
        )
        entry = self._entries[job.stream_id]
        await self._dead_letter(
            job.partition, entry, job.attempt, type(exc).__name__, str(exc), short_traceback(exc)
        )

    async def _dead_letter(
        self,
        partition: int,
        entry: StreamEntry,
        attempts: int,
        error_type: str,
        error: str,
        tb: str = "",
    ) -> None:
        fields = dead_letter_fields(
            prefix=self._config.prefix,
            topic=self._config.topic,
            group=self._config.group,
            partition=partition,
            consumer_id=self._consumer_id,
            entry=entry,
            attempts=attempts,
            error_type=error_type,
            error=error,
            tb=tb,
        )
        await self._store.add_dead_letter(self._config.dead_letter, fields)
        job_id = (entry.fields or {}).get(F_ID, b"").decode("utf-8", "replace")
        self.hooks.on_dead_letter(partition, job_id, error_type)
