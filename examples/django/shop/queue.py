"""The project's one SyncProducer (per process) and the order status kept in Redis."""

from __future__ import annotations

import threading
from typing import Any

import redis
from django.conf import settings

from redisaq import SyncProducer

_lock = threading.Lock()
_producers: dict[tuple[str, str], SyncProducer] = {}
_clients: dict[str, redis.Redis] = {}


def conf() -> dict[str, Any]:
    return dict(settings.REDISAQ)


def producer() -> SyncProducer:
    """The process-wide producer (thread-safe; its connection opens on first use)."""
    c = conf()
    key = (c["REDIS_URL"], c["PREFIX"])
    with _lock:
        if key not in _producers:
            _producers[key] = SyncProducer(
                c["TOPIC"], redis_url=c["REDIS_URL"], prefix=c["PREFIX"], partitions=c["PARTITIONS"]
            )
        return _producers[key]


def _client() -> redis.Redis:
    url = conf()["REDIS_URL"]
    with _lock:
        if url not in _clients:
            _clients[url] = redis.Redis.from_url(url, decode_responses=True)
        return _clients[url]


def _status_key() -> str:
    c = conf()
    return f"{c['PREFIX']}:example:{c['TOPIC']}:status"


def mark(job_id: str, status: str, *, only_new: bool = False) -> None:
    if only_new:
        _client().hsetnx(_status_key(), job_id, status)
    else:
        _client().hset(_status_key(), job_id, status)


def status(job_id: str) -> str | None:
    value = _client().hget(_status_key(), job_id)
    return None if value is None else str(value)


def close() -> None:
    """Close the producers and clients (tests; a web process keeps them until it exits)."""
    with _lock:
        for p in _producers.values():
            p.close()
        for c in _clients.values():
            c.close()
        _producers.clear()
        _clients.clear()
