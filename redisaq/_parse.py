"""Turns redis-py replies into typed values (RESP2 or RESP3, bytes or str).

The single parsing boundary: the rest of redisaq never sees an untyped reply.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ._config import MAX_PARTITIONS
from ._models import PendingEntry, StreamEntry, raw, text

log = logging.getLogger("redisaq.store")


def _fields(value: Any) -> dict[str, bytes] | None:
    if value is None:
        return None
    if type(value) is dict:  # the usual reply: bytes keys and values
        return {
            (k.decode("utf-8", "replace") if type(k) is bytes else text(k)): (
                v if type(v) is bytes else raw(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, Mapping):
        return {text(k): raw(v) for k, v in value.items()}
    items = list(value)
    return {text(items[i]): raw(items[i + 1]) for i in range(0, len(items) - 1, 2)}


def entries(reply: Any) -> list[StreamEntry]:
    """Entries from an XCLAIM/XRANGE-style reply: a list of (id, fields)."""
    out: list[StreamEntry] = []
    for item in reply or ():
        if item is None or item[0] is None:
            continue
        out.append(StreamEntry(text(item[0]), _fields(item[1])))
    return out


def read_entries(reply: Any) -> list[StreamEntry]:
    """Entries of the one stream an XREADGROUP asked for (RESP2 list or RESP3 dict)."""
    if not reply:
        return []
    values = list(reply.values()) if isinstance(reply, Mapping) else [pair[1] for pair in reply]
    out: list[StreamEntry] = []
    for value in values:
        # Some redis-py response modes wrap the entry list once more.
        if value and isinstance(value[0], list) and value[0] and isinstance(value[0][0], tuple):
            value = value[0]
        out.extend(entries(value))
    return out


def pending_range(reply: Any) -> list[PendingEntry]:
    out: list[PendingEntry] = []
    for item in reply or ():
        if isinstance(item, Mapping):
            out.append(
                PendingEntry(
                    text(item["message_id"]), text(item["consumer"]), int(item["times_delivered"])
                )
            )
        else:
            out.append(PendingEntry(text(item[0]), text(item[1]), int(item[3])))
    return out


def pending_consumers(reply: Any) -> dict[str, int]:
    """Pending counts per consumer from the summary form of XPENDING."""
    if isinstance(reply, Mapping):
        return {text(c["name"]): int(c["pending"]) for c in reply.get("consumers") or ()}
    return {text(name): int(count) for name, count in (reply[3] or ())}


def count(value: Any, key: str) -> int:
    """A stored partition count: 0 when absent or not a valid count (logged), like the
    GROW script, which then overwrites it."""
    if value is None:
        return 0
    digits = raw(value)
    if digits.isdigit() and len(digits) <= 9 and int(digits) <= MAX_PARTITIONS:
        return int(digits)
    log.warning("%s holds %r, not a partition count; treating it as missing", key, value)
    return 0


def ints(reply: Any) -> list[int]:
    return [int(x) for x in reply or ()]


def strings(reply: Sequence[Any]) -> list[str]:
    return [text(x) for x in reply]


class HeartbeatReply:
    """What the heartbeat script saw: fencing, server time, leases held, live members, and
    whether this member's registration was gone (``lost``)."""

    __slots__ = ("fenced", "now_ms", "held", "members", "lost")

    def __init__(self, reply: Any) -> None:
        self.fenced = int(reply[0]) == 0
        self.now_ms = int(reply[1])
        self.held: set[int] = set(ints(reply[2])) if len(reply) > 2 else set()
        flat = strings(reply[3]) if not self.fenced else []
        self.members: dict[str, float] = {
            flat[i]: float(flat[i + 1]) for i in range(0, len(flat) - 1, 2)
        }
        self.lost = len(reply) > 4 and int(reply[4]) == 1


class AcquireReply:
    """Leases taken, and when the earliest lease still held by another member expires."""

    __slots__ = ("now_ms", "acquired", "blocked_until_ms")

    def __init__(self, reply: Any) -> None:
        self.now_ms = int(reply[0])
        self.acquired: set[int] = set(ints(reply[1]))
        self.blocked_until_ms = int(reply[2])


class GroupSnapshot:
    """A group's leases, heartbeats and member expiries, with the server time they hold at."""

    __slots__ = ("now_ms", "leases", "heartbeats", "members")

    def __init__(self, reply: Any) -> None:
        self.now_ms = int(reply[0])
        self.leases = _pairs(reply[1])
        self.heartbeats = _pairs(reply[2])
        self.members = {k: float(v) for k, v in _pairs(reply[3]).items()}


def _pairs(flat: Sequence[Any]) -> dict[str, str]:
    items = strings(flat)
    return {items[i]: items[i + 1] for i in range(0, len(items) - 1, 2)}


class GroupState:
    """One consumer group of a stream, from XINFO GROUPS."""

    __slots__ = ("name", "pending", "last_delivered", "lag")

    def __init__(self, name: str, pending: int, last_delivered: str, lag: int | None) -> None:
        self.name, self.pending, self.last_delivered, self.lag = name, pending, last_delivered, lag


def groups(reply: Any) -> list[GroupState]:
    out: list[GroupState] = []
    for item in reply or ():
        info = (
            {text(k): v for k, v in item.items()}
            if isinstance(item, Mapping)
            else {text(item[i]): item[i + 1] for i in range(0, len(item) - 1, 2)}
        )
        lag = info.get("lag")
        out.append(
            GroupState(
                text(info["name"]),
                int(info.get("pending") or 0),
                text(info.get("last-delivered-id") or "0-0"),
                int(lag) if lag is not None else None,
            )
        )
    return out


def scored(reply: Any) -> dict[str, float]:
    """member -> score from ZRANGE ... WITHSCORES."""
    return {text(member): float(score) for member, score in reply or ()}
