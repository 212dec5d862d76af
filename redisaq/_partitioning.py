"""Which partition a job goes to: a stable hash of the key value, or round-robin."""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Mapping
from typing import Any

from ._errors import PartitionKeyError


def key_bytes(value: Any) -> bytes:
    """Canonical bytes of a partition-key value: the string itself, else compact JSON."""
    try:
        if isinstance(value, str):
            return value.encode("utf-8")
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:  # (UnicodeError is a ValueError)
        raise PartitionKeyError(
            f"partition key value {value!r:.80} has no canonical JSON form ({exc}); "
            "use a string, a number or plain JSON data with string keys"
        ) from exc


def partition_for_value(value: Any, partitions: int) -> int:
    """CRC-32 of the canonical bytes modulo the count: the same in every process and run."""
    return partition_for_key(key_bytes(value), partitions)


def partition_for_key(key: bytes, partitions: int) -> int:
    return zlib.crc32(key) % partitions


def payload_key(payload: Mapping[str, Any], field: str) -> bytes:
    """The canonical bytes of ``payload[field]``; PartitionKeyError if the field is absent
    or its value has no canonical form."""
    if field not in payload:
        raise PartitionKeyError(
            f"payload has no field {field!r} (partition_key={field!r}); "
            f"add the field or enqueue without partition_key"
        )
    return key_bytes(payload[field])


class RoundRobin:
    """Hands out partitions in turn; thread-safety is not needed (one producer, one caller).

    Starts at a random partition (unless ``start`` is given), so that many short-lived
    producers (a script, a CLI call, a request each) do not all fill partition 0.
    """

    def __init__(self, start: int | None = None) -> None:
        self._next = random.randrange(1 << 30) if start is None else start

    def take(self, partitions: int, count: int = 1) -> list[int]:
        start = self._next
        self._next = (start + count) % max(partitions, 1)
        return [(start + i) % partitions for i in range(count)]
