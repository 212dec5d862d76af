"""``manage.py process_orders``: a SyncConsumer of the orders topic, until Ctrl-C.

The first SIGINT/SIGTERM stops it gracefully (in-flight orders finish and are
acknowledged, partitions are handed over); a second one exits at once.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from redisaq import Job, SyncConsumer

from ... import queue
from ...handlers import process_order


class Command(BaseCommand):
    help = "Process orders from the redisaq queue until Ctrl-C (or --max-jobs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--group", default="shop", help="consumer group (default: shop)")
        parser.add_argument("--consumer-id", default=None, help="default: host-pid-random")
        parser.add_argument(
            "--max-jobs", type=int, default=None, help="stop after handling this many jobs"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        conf = queue.conf()
        max_jobs: int | None = options["max_jobs"]
        handled = 0
        lock = threading.Lock()

        def handle_job(job: Job) -> None:
            nonlocal handled
            process_order(job)
            with lock:
                handled += 1
                if max_jobs is not None and handled >= max_jobs:
                    consumer.request_stop()

        consumer = SyncConsumer(
            conf["TOPIC"],
            group=options["group"],
            consumer_id=options["consumer_id"],
            process_job=handle_job,
            redis_url=conf["REDIS_URL"],
            prefix=conf["PREFIX"],
            **conf.get("CONSUMER", {}),
        )
        self.stdout.write(f"consumer {consumer.consumer_id} processing {conf['TOPIC']!r}")
        with _StopOnSignals(consumer):
            consumer.consume()
        rejected = consumer.metrics.snapshot().dead_lettered
        self.stdout.write(
            f"stopped cleanly: {handled} order(s) processed, {rejected} dead-lettered"
        )


class _StopOnSignals:
    """First SIGINT/SIGTERM: request_stop(); second: exit at once. Main thread only."""

    def __init__(self, consumer: SyncConsumer) -> None:
        self.consumer = consumer
        self.count = 0
        self.previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count > 1:
            os._exit(130)
        self.consumer.request_stop()

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._handle)

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
