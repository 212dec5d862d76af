"""redis-py client types per flavor and the one place that opens a client from a URL."""

from __future__ import annotations

from typing import Any, TypeAlias

from redis import Redis as SyncRedis
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.client import PubSub as AsyncPubSub
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.client import PubSub as SyncPubSub
from redis.cluster import RedisCluster as SyncRedisCluster

__all__ = [
    "AsyncClient",
    "AsyncConnector",
    "AsyncPubSub",
    "AsyncRedis",
    "SyncClient",
    "SyncConnector",
    "SyncPubSub",
    "SyncRedis",
]

# What ``redis=`` accepts: a plain client or a cluster client of the flavor.
AsyncClient: TypeAlias = "AsyncRedis | AsyncRedisCluster"
SyncClient: TypeAlias = "SyncRedis | SyncRedisCluster"

# A socket timeout bounds every read (a half-open TCP connection cannot hang a worker);
# blocking reads use BLOCK well below it. Keepalive and health checks find dead sockets.
CLIENT_OPTIONS: dict[str, Any] = {
    "socket_timeout": 10.0,
    "socket_connect_timeout": 5.0,
    "socket_keepalive": True,
    "health_check_interval": 15,
    "decode_responses": False,
}


class AsyncConnector:
    @staticmethod
    def from_url(url: str) -> AsyncRedis:
        return AsyncRedis.from_url(url, **CLIENT_OPTIONS)

    @staticmethod
    def pubsub(client: AsyncClient) -> AsyncPubSub:
        return client.pubsub(ignore_subscribe_messages=True)

    @staticmethod
    async def close_pubsub(pubsub: AsyncPubSub) -> None:
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped


class SyncConnector:
    @staticmethod
    def from_url(url: str) -> SyncRedis:
        return SyncRedis.from_url(url, **CLIENT_OPTIONS)

    @staticmethod
    def pubsub(client: SyncClient) -> SyncPubSub:
        return client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call,no-any-return]

    @staticmethod
    def close_pubsub(pubsub: SyncPubSub) -> None:
        pubsub.close()


def socket_timeout(client: Any) -> float | None:
    """The socket timeout of a client's connections, if it has one."""
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None) or {}
    value = kwargs.get("socket_timeout")
    return float(value) if value else None


def describe(client: Any) -> str:
    """host:port/db of a client, for error messages."""
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None) or {}
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
