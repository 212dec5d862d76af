"""Validated settings of producers and consumers (flavor-free).

Every check runs in the constructor, so a bad setting fails before anything is written.
"""

from __future__ import annotations

import math
import os
import socket
import uuid
from dataclasses import dataclass

from ._backoff import DEFAULT_BASE, MAX_DELAY, RetryBackoff
from ._keys import GroupKeys, TopicKeys, validate_name
from ._serialization import Deserializer, Serializer


def default_consumer_id() -> str:
    """host-pid-random: unique per instance, readable in `redisaq info` and logs."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _number(value: object, integer: bool) -> float | None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value):
        return None
    return float(value)


# Upper bounds: each owned partition is a blocking read (and, in the sync flavor, a
# thread) of its own; Redis takes counts and lengths up to 2**63 - 1.
MAX_PARTITIONS = 4096
MAX_BATCH_SIZE = 100_000
MAX_MAXLEN = 2**63 - 1


def require_positive(
    name: str, value: object, *, integer: bool = False, most: float = MAX_DELAY
) -> None:
    number = _number(value, integer)
    if number is None or number <= 0 or number > most:
        what = "integer" if integer else "number of seconds"
        raise ValueError(f"{name} must be a positive {what} up to {most:,}, got {value!r}")


def _non_negative(name: str, value: object, *, integer: bool = False) -> None:
    number = _number(value, integer)
    if number is None or number < 0 or number > MAX_DELAY:
        what = "integer" if integer else "number of seconds (or a function attempt -> seconds)"
        raise ValueError(f"{name} must be a {what} >= 0, got {value!r}")


def require_partitions(value: object) -> None:
    require_positive("partitions", value, integer=True, most=MAX_PARTITIONS)


@dataclass(frozen=True)
class ProducerConfig:
    """Producer settings.

    Attributes:
        topic: topic name; partition streams are ``{prefix}:{topic}:{p}``.
        prefix: key prefix (default ``redisaq``).
        partitions: grow the topic to at least this many partitions (default 1).
        maxlen: trim each partition stream to about this many entries on write (None: never).
        approximate: trim with ``MAXLEN ~`` (cheaper; default True).
        serializer: payload -> str/bytes (default compact JSON).
    """

    topic: str
    prefix: str = "redisaq"
    partitions: int = 1
    maxlen: int | None = None
    approximate: bool = True
    serializer: Serializer | None = None

    def __post_init__(self) -> None:
        validate_name("topic", self.topic)
        validate_name("prefix", self.prefix)
        require_partitions(self.partitions)
        if self.maxlen is not None:
            require_positive("maxlen", self.maxlen, integer=True, most=MAX_MAXLEN)
        if self.serializer is not None and not callable(self.serializer):
            raise TypeError("serializer must be callable: payload -> str | bytes")

    @property
    def keys(self) -> TopicKeys:
        return TopicKeys(self.prefix, self.topic)


def dead_letter_stream(prefix: str) -> str:
    """The default dead-letter stream of a prefix."""
    return f"{prefix}:dead_letter"


@dataclass(frozen=True)
class ConsumerConfig:
    """Consumer settings (times in seconds).

    Attributes:
        topic, group, consumer_id, prefix: who reads what; see the README key layout.
        batch_size: entries read per partition per round trip (default 10).
        heartbeat_interval: how often membership and leases are renewed (default 5.0).
        heartbeat_ttl: a member (and its leases) expires this long after its last
            heartbeat (default 10.0); must exceed heartbeat_interval.
        max_retries: retries after the first failed attempt before dead-lettering (default 3).
        retry_backoff: base delay of the exponential backoff, or attempt -> delay.
        dead_letter: the dead-letter stream key (default ``{prefix}:dead_letter``).
        start_from: where a new group starts: "earliest" retained entry or "latest".
        deserializer: bytes -> payload mapping (default JSON).
        block_timeout: longest blocking read (default 1.0); bounds how long stop waits.
    """

    topic: str
    group: str = "default"
    consumer_id: str = ""
    prefix: str = "redisaq"
    batch_size: int = 10
    heartbeat_interval: float = 5.0
    heartbeat_ttl: float = 10.0
    max_retries: int = 3
    retry_backoff: RetryBackoff = DEFAULT_BASE
    dead_letter: str = ""  # "" -> f"{prefix}:dead_letter"
    start_from: str = "earliest"
    deserializer: Deserializer | None = None
    block_timeout: float = 1.0

    def __post_init__(self) -> None:
        validate_name("topic", self.topic)
        validate_name("group", self.group, allow_colon=False)
        validate_name("prefix", self.prefix)
        validate_name("consumer_id", self.consumer_id or "x")
        if not self.dead_letter:
            object.__setattr__(self, "dead_letter", dead_letter_stream(self.prefix))
        validate_name("dead_letter", self.dead_letter)
        require_positive("batch_size", self.batch_size, integer=True, most=MAX_BATCH_SIZE)
        require_positive("heartbeat_interval", self.heartbeat_interval)
        require_positive("heartbeat_ttl", self.heartbeat_ttl)
        require_positive("block_timeout", self.block_timeout)
        if self.heartbeat_ttl <= self.heartbeat_interval:
            raise ValueError(
                f"heartbeat_ttl ({self.heartbeat_ttl}) must be greater than heartbeat_interval "
                f"({self.heartbeat_interval}); twice the interval or more is advised"
            )
        _non_negative("max_retries", self.max_retries, integer=True)
        if not callable(self.retry_backoff):
            _non_negative("retry_backoff", self.retry_backoff)
        if self.start_from not in ("earliest", "latest"):
            raise ValueError(f"start_from must be 'earliest' or 'latest', got {self.start_from!r}")
        if self.deserializer is not None and not callable(self.deserializer):
            raise TypeError("deserializer must be callable: bytes -> mapping")

    @property
    def topic_keys(self) -> TopicKeys:
        return TopicKeys(self.prefix, self.topic)

    @property
    def group_keys(self) -> GroupKeys:
        return GroupKeys(self.prefix, self.topic, self.group)

    @property
    def ttl_ms(self) -> int:
        return int(self.heartbeat_ttl * 1000)

    @property
    def delivery_limit(self) -> int:
        """Deliveries after which a job is dead-lettered without running it again.

        ``max_retries + 1``, but never below 2: a job's first delivery may be a read of
        several jobs that a crash cut short before it started, so one crash alone never
        dead-letters the jobs fetched with the one that was running.
        """
        return max(self.max_retries + 1, 2)

    @property
    def poll_timeout(self) -> float:
        """Longest wait of any loop before it re-checks for stop or rebalance."""
        return min(self.block_timeout, self.heartbeat_interval)
