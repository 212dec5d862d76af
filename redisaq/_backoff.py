"""Delays between attempts: exponential with full jitter, capped."""

from __future__ import annotations

import random
from collections.abc import Callable

RetryBackoff = float | Callable[[int], float]
"""Either a base delay in seconds (exponential from it) or attempt -> delay in seconds."""

DEFAULT_BASE = 0.5
CAP = 30.0
MAX_DELAY = 10**8  # seconds (about three years): the longest any setting or timer may ask


def retry_delay(backoff: RetryBackoff, failed_attempt: int) -> float:
    """Seconds to wait after attempt number ``failed_attempt`` (1-based) failed."""
    if callable(backoff):
        delay = float(backoff(failed_attempt))
        return min(MAX_DELAY, delay) if delay > 0 else 0.0  # (NaN -> 0)
    ceiling = min(CAP, backoff * (2 ** (failed_attempt - 1)))
    return float(ceiling / 2 + random.uniform(0, ceiling / 2))


def reconnect_delay(failures: int) -> float:
    """Back-off between reconnection attempts: 0.1 s doubling to 5 s, with jitter."""
    ceiling = min(5.0, 0.1 * (2 ** min(failures, 10)))
    return float(ceiling / 2 + random.uniform(0, ceiling / 2))
