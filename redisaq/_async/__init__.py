"""The asyncio implementation: the source the sync flavor is generated from."""

from .admin import AsyncAdmin
from .consumer import AsyncConsumer
from .dead_letters import AsyncDeadLetters
from .producer import AsyncProducer

__all__ = ["AsyncAdmin", "AsyncConsumer", "AsyncDeadLetters", "AsyncProducer"]
