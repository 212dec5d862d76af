"""What `Admin.info()` reports about a topic (flavor-free dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PartitionInfo:
    partition: int
    length: int  # entries in the stream now (after trimming)


@dataclass(frozen=True)
class GroupPartitionInfo:
    partition: int
    pending: int  # delivered, not yet acknowledged
    lag: int | None  # entries not yet delivered to the group (None: Redis cannot tell)
    owner: str | None  # consumer_id holding the lease, if any
    last_delivered: str  # last stream id delivered to the group


@dataclass(frozen=True)
class MemberInfo:
    consumer_id: str
    expires_in: float  # seconds until its heartbeat expires
    since_heartbeat: float | None  # seconds since its last heartbeat (None: not recorded)
    partitions: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class GroupInfo:
    name: str
    members: list[MemberInfo]
    partitions: list[GroupPartitionInfo]


@dataclass(frozen=True)
class TopicInfo:
    topic: str
    partitions: list[PartitionInfo]
    groups: list[GroupInfo]
