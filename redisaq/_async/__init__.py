"""The asyncio implementation: the source the sync flavor is generated from."""

from .consumer import AsyncConsumer
from .producer import AsyncProducer

__all__ = ["AsyncConsumer", "AsyncProducer"]
