"""redisaq: distributed job queuing on Redis Streams, in asyncio and blocking flavors.

from redisaq import Producer, Consumer, Job                # asyncio
from redisaq import SyncProducer, SyncConsumer             # blocking
"""

from ._async.admin import AsyncAdmin as Admin
from ._async.consumer import AsyncConsumer as Consumer
from ._async.dead_letters import AsyncDeadLetters as DeadLetters
from ._async.producer import AsyncProducer as Producer
from ._errors import (
    ConnectionFailedError,
    ConsumerFencedError,
    PartitionKeyError,
    RedisaqError,
    Reject,
    Retry,
    SerializationError,
)
from ._info import GroupInfo, GroupPartitionInfo, MemberInfo, PartitionInfo, TopicInfo
from ._metrics import ConsumerHooks, Metrics, MetricsSnapshot
from ._models import DeadLetter, Job
from ._sync.admin import SyncAdmin
from ._sync.consumer import SyncConsumer
from ._sync.dead_letters import SyncDeadLetters
from ._sync.producer import SyncProducer
from ._version import __version__

__all__ = [
    "Admin",
    "ConnectionFailedError",
    "Consumer",
    "ConsumerFencedError",
    "ConsumerHooks",
    "DeadLetter",
    "DeadLetters",
    "GroupInfo",
    "GroupPartitionInfo",
    "Job",
    "MemberInfo",
    "Metrics",
    "MetricsSnapshot",
    "PartitionInfo",
    "PartitionKeyError",
    "Producer",
    "RedisaqError",
    "Reject",
    "Retry",
    "SerializationError",
    "SyncAdmin",
    "SyncConsumer",
    "SyncDeadLetters",
    "SyncProducer",
    "TopicInfo",
    "__version__",
]
