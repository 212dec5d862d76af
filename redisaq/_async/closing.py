"""AsyncClosing: the ``async with`` protocol for objects that own a connection."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

T = TypeVar("T", bound="AsyncClosing")


class AsyncClosing:
    """``async with X(...) as x:`` closes ``x`` on the way out; subclasses define close()."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
