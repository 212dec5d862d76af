"""The consumer side: an ``async def``-style handler, so ``redisaq worker`` runs a Consumer.

redisaq worker examples.fastapi.worker:send_email --topic emails --group mailer
"""

from __future__ import annotations

import logging

import redis.asyncio

from redisaq import Job, Reject

from .settings import Settings

log = logging.getLogger("examples.fastapi.worker")


class EmailSender:
    """Sends one email per job (here: logs it) and records it as sent."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._redis: redis.asyncio.Redis | None = None

    async def __call__(self, job: Job) -> None:
        to, subject = job.payload.get("to"), job.payload.get("subject")
        if not to or not subject:
            raise Reject(f"an email needs a non-empty 'to' and 'subject', got {job.payload!r}")
        log.info("sending %r to %s (job %s, attempt %d)", subject, to, job.id, job.attempt)
        if self._redis is None:  # opened in the worker's own event loop, on first use
            self._redis = redis.asyncio.Redis.from_url(self.settings.redis_url)
        await self._redis.hset(self.settings.status_key, job.id, "sent")

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


send_email = EmailSender(Settings.from_env())
