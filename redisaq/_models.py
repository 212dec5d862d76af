"""Job, the stream-entry wire format, and dead-letter records (flavor-free)."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ._serialization import Deserializer, json_loads

Field = bytes | str

# Stream entry fields written by the producer.
F_ID = "id"
F_PAYLOAD = "payload"
F_ENQUEUED_AT = "enqueued_at"


@dataclass(frozen=True)
class Job:
    """One delivery of an enqueued job, as a handler sees it.

    Attributes:
        id: the job id given by the producer (stable across retries and requeues).
        topic: the topic the job was enqueued to.
        partition: the partition (stream) it was read from.
        payload: the payload as enqueued.
        enqueued_at: when the producer wrote it (UTC, timezone-aware).
        attempt: 1 on the first delivery; counts deliveries by earlier owners too.
        stream_id: the Redis stream entry id.
    """

    id: str
    topic: str
    partition: int
    payload: dict[str, Any]
    enqueued_at: datetime
    attempt: int
    stream_id: str


@dataclass(frozen=True)
class StreamEntry:
    """A raw entry as read from a stream; ``fields`` is None when the entry was deleted."""

    stream_id: str
    fields: dict[str, bytes] | None


@dataclass(frozen=True)
class PendingEntry:
    stream_id: str
    consumer: str
    delivery_count: int


class DecodeError(Exception):
    """An entry that is not a redisaq job; the message says why."""


def text(value: Field) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def raw(value: Field) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def encode_entry(job_id: str, body: str | bytes, enqueued_at: datetime) -> dict[str, str | bytes]:
    return {F_ID: job_id, F_PAYLOAD: body, F_ENQUEUED_AT: enqueued_at.isoformat()}


def decode_job(
    entry: StreamEntry,
    *,
    topic: str,
    partition: int,
    attempt: int,
    deserializer: Deserializer | None,
) -> Job:
    """Build the Job from ``entry`` or raise DecodeError naming what is wrong."""
    fields = entry.fields
    if fields is None:
        raise DecodeError("entry was deleted from the stream")
    try:
        raw_id, raw_at, body = fields[F_ID], fields[F_ENQUEUED_AT], fields[F_PAYLOAD]
    except KeyError:
        missing = [f for f in (F_ID, F_PAYLOAD, F_ENQUEUED_AT) if f not in fields]
        raise DecodeError(f"missing field(s) {missing}; fields present: {sorted(fields)}") from None
    try:
        job_id = raw_id.decode("utf-8")
        enqueued_at = datetime.fromisoformat(raw_at.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DecodeError(f"bad id or enqueued_at: {exc}") from exc
    if enqueued_at.tzinfo is None:
        enqueued_at = enqueued_at.replace(tzinfo=timezone.utc)
    try:
        payload = (deserializer or json_loads)(body)
    except Exception as exc:  # any deserializer failure makes the entry junk
        raise DecodeError(f"payload cannot be decoded: {type(exc).__name__}: {exc}") from exc
    if type(payload) is not dict:  # the default JSON decoder always makes a fresh dict
        if not isinstance(payload, Mapping):
            raise DecodeError(f"payload decoded to {type(payload).__name__}, not a mapping")
        payload = dict(payload)
    return Job(
        id=job_id,
        topic=topic,
        partition=partition,
        payload=payload,
        enqueued_at=enqueued_at,
        attempt=attempt,
        stream_id=entry.stream_id,
    )


def dead_letter_fields(
    *,
    prefix: str,
    topic: str,
    group: str,
    partition: int,
    consumer_id: str,
    entry: StreamEntry,
    attempts: int,
    error_type: str,
    error: str,
    tb: str = "",
) -> dict[str, str | bytes]:
    """The dead-letter stream entry for ``entry``: where it came from and why it failed."""
    fields = entry.fields or {}
    record: dict[str, str | bytes] = {
        "prefix": prefix,
        "topic": topic,
        "group": group,
        "partition": str(partition),
        "job_id": fields.get(F_ID, b""),
        "stream_id": entry.stream_id,
        "payload": fields.get(F_PAYLOAD, b""),
        "enqueued_at": fields.get(F_ENQUEUED_AT, b""),
        "error_type": error_type,
        "error": error[:2000],
        "traceback": tb[-4000:],
        "attempts": str(attempts),
        "failed_at": datetime.now(timezone.utc).isoformat(),
        "consumer_id": consumer_id,
    }
    if F_PAYLOAD not in fields and fields:
        # A foreign entry: keep its raw fields so nothing is lost.
        record["raw_fields"] = repr({k: v for k, v in fields.items()})
    return record


def short_traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=8))


# Set on jobs put back by the dead-letter tools: only this group handles them again;
# other groups of the topic acknowledge and skip them.
F_ONLY_GROUP = "only_group"


@dataclass(frozen=True)
class DeadLetter:
    """One entry of the dead-letter stream.

    Attributes:
        id: its id in the dead-letter stream.
        topic, group, partition: where the job failed.
        job_id, stream_id: the job and its entry in the partition stream.
        payload: the payload exactly as enqueued (raw; not decoded: it may be junk).
        error_type, error, traceback: why it failed.
        attempts: how many deliveries it had.
        failed_at: when it was dead-lettered (ISO 8601, UTC).
        consumer_id: the consumer that dead-lettered it.
        enqueued_at: the original enqueue time (ISO 8601), empty for foreign entries.
        prefix: the key prefix of the topic (where requeue sends the job back).
    """

    id: str
    topic: str
    group: str
    partition: int
    job_id: str
    stream_id: str
    payload: bytes
    error_type: str
    error: str
    traceback: str
    attempts: int
    failed_at: str
    consumer_id: str
    enqueued_at: str
    prefix: str

    @classmethod
    def from_entry(cls, entry: StreamEntry) -> DeadLetter:
        f = entry.fields or {}

        def get(name: str) -> str:
            return f.get(name, b"").decode("utf-8", "replace")

        def number(name: str) -> int:
            value = get(name)
            return int(value) if value.lstrip("-").isdigit() else -1

        return cls(
            id=entry.stream_id,
            topic=get("topic"),
            group=get("group"),
            partition=number("partition"),
            job_id=get("job_id"),
            stream_id=get("stream_id"),
            payload=f.get("payload", b""),
            error_type=get("error_type"),
            error=get("error"),
            traceback=get("traceback"),
            attempts=number("attempts"),
            failed_at=get("failed_at"),
            consumer_id=get("consumer_id"),
            enqueued_at=get("enqueued_at"),
            prefix=get("prefix"),
        )

    def requeueable(self) -> bool:
        """Only entries that were real jobs can go back to their topic."""
        return bool(self.job_id and self.payload and self.topic and self.partition >= 0)

    def matches(self, prefix: str, topic: str | None, group: str | None) -> bool:
        return (
            self.prefix in ("", prefix)
            and (topic is None or self.topic == topic)
            and (group is None or self.group == group)
        )
