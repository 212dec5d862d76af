"""Settings shared by the web app and the worker, from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

TOPIC = "emails"


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://localhost:6379/0"
    prefix: str = "redisaq"
    topic: str = TOPIC
    partitions: int = 4

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            # the variables the redisaq command reads, in its order
            redis_url=os.environ.get("REDISAQ_URL") or os.environ.get("REDIS_URL", cls.redis_url),
            prefix=os.environ.get("REDISAQ_PREFIX", cls.prefix),
        )

    @property
    def status_key(self) -> str:
        """A Redis hash job id -> "queued" | "sent", so the app can report progress."""
        return f"{self.prefix}:example:{self.topic}:status"
