"""The exceptions redisaq raises; every one derives from RedisaqError."""

from __future__ import annotations

import math

from ._backoff import MAX_DELAY


class RedisaqError(Exception):
    """Base class of every error redisaq raises on purpose."""


class PartitionKeyError(RedisaqError, ValueError):
    """The payload lacks the field named by ``partition_key``, or its value has no stable
    hash (it is not plain JSON data)."""


class SerializationError(RedisaqError, ValueError):
    """A payload could not be turned into (or read back from) its stream form."""


class ConsumerFencedError(RedisaqError):
    """A newer instance with the same ``consumer_id`` joined the group and took over."""


class ConnectionFailedError(RedisaqError):
    """Redis could not be reached after the allowed retries; ``__cause__`` holds the reason."""


class Reject(RedisaqError):
    """Raise from a handler to dead-letter the job at once, without further retries."""


class Retry(RedisaqError):
    """Raise from a handler to retry the job after ``after`` seconds instead of the backoff.

    The attempt still counts against ``max_retries``.
    """

    def __init__(self, message: str = "retry requested", *, after: float = 0.0) -> None:
        super().__init__(message)
        number: object = after  # checked at run time too: handlers are often untyped
        if (
            not isinstance(number, int | float)
            or isinstance(number, bool)
            or not math.isfinite(number)
            or not 0 <= number <= MAX_DELAY
        ):
            raise ValueError(
                f"Retry(after=...) must be a number of seconds from 0 to {MAX_DELAY:,}, "
                f"got {after!r}"
            )
        self.after = float(number)
