"""Every Redis key and channel redisaq uses, in one place.

Group keys share one Cluster hash tag (``{topic:group}``) so the coordination
scripts touch a single slot; partition streams carry no tag so a Redis Cluster can
spread them over its nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

_FORBIDDEN = set("{}\r\n\t ")


def validate_name(kind: str, value: object, *, allow_colon: bool = True) -> str:
    """Return ``value`` if it is usable in a key, else raise ValueError saying why."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{kind} must be a non-empty string, got {value!r}")
    bad = _FORBIDDEN & set(value)
    if not allow_colon and ":" in value:
        bad.add(":")
    if bad:
        raise ValueError(f"{kind} {value!r} must not contain {''.join(sorted(bad))!r}")
    return value


@dataclass(frozen=True)
class TopicKeys:
    prefix: str
    topic: str

    def stream(self, partition: int) -> str:
        """STREAM, one per partition; written by producers, read by consumer groups."""
        return f"{self.prefix}:{self.topic}:{partition}"

    @property
    def partitions(self) -> str:
        """STRING, the partition count; only ever grows (producers write it), no TTL."""
        return f"{self.prefix}:{self.topic}:partitions"

    @property
    def events(self) -> str:
        """Pub/sub channel: join/leave/release/grow notices that wake consumers early."""
        return f"{self.prefix}:{self.topic}:events"


@dataclass(frozen=True)
class GroupKeys:
    prefix: str
    topic: str
    group: str

    @property
    def _tag(self) -> str:
        return f"{self.prefix}:{{{self.topic}:{self.group}}}"

    @property
    def members(self) -> str:
        """ZSET consumer_id -> heartbeat expiry (server ms); written by the heartbeat script."""
        return f"{self._tag}:members"

    @property
    def instances(self) -> str:
        """HASH consumer_id -> instance token of the newest instance (fencing), no TTL."""
        return f"{self._tag}:instances"

    @property
    def heartbeats(self) -> str:
        """HASH consumer_id -> time of its last heartbeat (server ms), for `info`; no TTL."""
        return f"{self._tag}:heartbeats"

    @property
    def leases(self) -> str:
        """HASH partition -> "expiry_ms:token:consumer_id"; written by the lease scripts."""
        return f"{self._tag}:leases"

    @property
    def meta(self) -> str:
        """HASH with ``start_id``: where the group starts on partitions it has not seen."""
        return f"{self._tag}:meta"
