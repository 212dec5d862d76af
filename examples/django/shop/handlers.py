"""The job handler: a plain function, so it runs in a SyncConsumer."""

from __future__ import annotations

import logging

from redisaq import Job, Reject

from . import queue

log = logging.getLogger("examples.django.shop")


def process_order(job: Job) -> None:
    order = job.payload
    if order.get("quantity", 1) <= 0:
        raise Reject(f"bad quantity {order.get('quantity')!r}")  # dead-lettered, not retried
    log.info("processing %s x%s for %s", order["item"], order.get("quantity", 1), order["customer"])
    queue.mark(job.id, "processed")
