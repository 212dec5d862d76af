"""redisaq: distributed job queuing on Redis Streams, in asyncio and blocking flavors.

from redisaq import Producer, Consumer, Job                # asyncio
from redisaq import SyncProducer, SyncConsumer             # blocking
"""

from ._async.consumer import AsyncConsumer as Consumer
from ._async.producer import AsyncProducer as Producer
from ._errors import (
    ConnectionFailedError,
    ConsumerFencedError,
    PartitionKeyError,
    RedisaqError,
    SerializationError,
)
from ._models import Job
from ._sync.consumer import SyncConsumer
from ._sync.producer import SyncProducer
from ._version import __version__

__all__ = [
    "ConnectionFailedError",
    "Consumer",
    "ConsumerFencedError",
    "Job",
    "PartitionKeyError",
    "Producer",
    "RedisaqError",
    "SerializationError",
    "SyncConsumer",
    "SyncProducer",
    "__version__",
]
