"""Local view of one partition lease, shared by the coordinator and the partition worker.

Redis holds the truth (the ``leases`` hash, expiring on Redis's clock). Locally a lease
counts as valid until ``ttl`` after the *sending* of the request that last renewed it,
minus a margin: Redis cannot have expired it before then, so a job started while the
lease is locally valid cannot overlap with another owner (short of a paused process).
"""

from __future__ import annotations

import time


class Lease:
    def __init__(self, partition: int, ttl: float) -> None:
        self.partition = partition
        self._ttl = ttl
        self._margin = min(1.0, ttl * 0.2)
        self._deadline = 0.0
        self.lost = False

    def renewed(self, sent_at: float) -> None:
        """Record a renewal whose request was sent at ``sent_at`` (time.monotonic())."""
        self._deadline = max(self._deadline, sent_at + self._ttl)

    def valid(self) -> bool:
        return not self.lost and time.monotonic() < self._deadline - self._margin

    def remaining(self) -> float:
        return self._deadline - time.monotonic()

    def read_budget(self) -> float:
        """How long a blocking read sent now may wait: it must end in Redis before the
        lease can expire there, or entries it delivers late would reach this consumer
        after the next owner claimed the partition's pending entries (and be handled
        out of order). Half the margin is left for the request's way to Redis."""
        return self.remaining() - self._margin / 2
