"""Round-robin assignment: partition p belongs to sorted(members)[p % len(members)]."""

from __future__ import annotations

from collections.abc import Iterable


def assign(members: Iterable[str], partitions: int, me: str) -> set[int]:
    """The partitions ``me`` should own given the live ``members`` (plain string order)."""
    ordered = sorted(set(members))
    if me not in ordered or partitions <= 0:
        return set()
    return {p for p in range(partitions) if ordered[p % len(ordered)] == me}
