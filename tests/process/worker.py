"""A consumer process for the multi-process group tests.

    python -m tests.process.worker --flavor async|sync --prefix P --topic T --group G --id ID
        [--sleep S] [--interval 0.2] [--ttl 1.0] [--redis-url URL] [--records-url URL]

Every handled job is recorded with RPUSH to ``{P}:records`` as one line
``partition,consumer,pid,start,end,i,stream_id,attempt`` (``time.time()`` wall-clock
seconds, shared by every process on the machine), pushed after the handler's work and
before it returns, so a record exists for every job whose handler returned. Records and
ready keys go to ``--records-url`` (default: the consumer's Redis), so they survive
restarts of the consumer's Redis. A job whose
payload has ``"announce": true`` is also pushed to ``{P}:started`` when it starts.

Payload fields (besides ``i``, the job number): ``sleep`` overrides ``--sleep``;
``sleep_first`` is used instead on the first delivery (attempt 1) only; ``block_loop``
(async flavor): after recording the job, block the event loop (heartbeats included) that
many seconds with time.sleep, then return.

Once the consumer sees itself among the group's members it sets ``{P}:ready:{ID}:{pid}``
and prints ``ready``. SIGTERM asks the consumer to stop (``request_stop()``): the process
exits 0 after a clean shutdown, 3 if it was fenced (ConsumerFencedError), 1 on any other
error. SIGUSR1 writes the stack of every thread to its output. ``--sigterm-elsewhere``
makes the kernel deliver SIGTERM to a thread other than the main one.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio

from redisaq import Consumer, ConsumerFencedError, Job, SyncConsumer

EXIT_FENCED = 3


@dataclass(frozen=True)
class Options:
    flavor: str
    prefix: str
    topic: str
    group: str
    consumer_id: str
    sleep: float
    interval: float
    ttl: float
    redis_url: str
    records_url: str
    sigterm_elsewhere: bool = False

    @property
    def records(self) -> str:
        return f"{self.prefix}:records"

    @property
    def started(self) -> str:
        return f"{self.prefix}:started"

    @property
    def ready(self) -> str:
        return f"{self.prefix}:ready:{self.consumer_id}:{os.getpid()}"

    def consumer_kwargs(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "consumer_id": self.consumer_id,
            "redis_url": self.redis_url,
            "prefix": self.prefix,
            "heartbeat_interval": self.interval,
            "heartbeat_ttl": self.ttl,
            "dead_letter": f"{self.prefix}:dead_letter",
            "retry_backoff": 0.01,
        }

    def delay(self, job: Job) -> float:
        payload = job.payload
        if job.attempt == 1 and "sleep_first" in payload:
            return float(payload["sleep_first"])
        return float(payload.get("sleep", self.sleep))

    def line(self, job: Job, start: float, end: float | None) -> str:
        fields = [
            str(job.partition),
            self.consumer_id,
            str(os.getpid()),
            f"{start:.6f}",
            "" if end is None else f"{end:.6f}",
            str(job.payload.get("i", -1)),
            job.stream_id,
            str(job.attempt),
        ]
        return ",".join(fields)


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flavor", choices=("async", "sync"), required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--id", required=True, dest="consumer_id")
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--ttl", type=float, default=1.0)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--records-url", default=None)
    parser.add_argument(
        "--sigterm-elsewhere",
        action="store_true",
        help="block SIGTERM in the main thread (and the threads it starts), so that the "
        "kernel delivers it to a helper thread",
    )
    ns = parser.parse_args(argv)
    return Options(
        flavor=ns.flavor,
        prefix=ns.prefix,
        topic=ns.topic,
        group=ns.group,
        consumer_id=ns.consumer_id,
        sleep=ns.sleep,
        interval=ns.interval,
        ttl=ns.ttl,
        redis_url=ns.redis_url,
        records_url=ns.records_url or ns.redis_url,
        sigterm_elsewhere=ns.sigterm_elsewhere,
    )


def announce_ready(client: redis.Redis, opts: Options) -> None:
    client.set(opts.ready, str(time.time()), ex=600)
    print("ready", flush=True)


# -- async flavor ----------------------------------------------------------------------


async def run_async(opts: Options) -> int:
    recorder = redis.asyncio.Redis.from_url(opts.records_url)

    async def handle(job: Job) -> None:
        start = time.time()
        if job.payload.get("announce"):
            await recorder.rpush(opts.started, opts.line(job, start, None))
        await asyncio.sleep(opts.delay(job))
        await recorder.rpush(opts.records, opts.line(job, start, time.time()))
        if "block_loop" in job.payload:  # then return at once: nothing else runs meanwhile
            time.sleep(float(job.payload["block_loop"]))

    consumer = Consumer(opts.topic, process_job=handle, **opts.consumer_kwargs())
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, consumer.request_stop)

    async def watch() -> None:
        while opts.consumer_id not in consumer.members:
            await asyncio.sleep(0.01)
        client = redis.Redis.from_url(opts.records_url)
        try:
            announce_ready(client, opts)
        finally:
            client.close()

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        await consumer.consume()
    except ConsumerFencedError as exc:
        print(f"fenced: {exc}", flush=True)
        return EXIT_FENCED
    finally:
        watcher.cancel()
        await recorder.aclose()
    return 0


# -- sync flavor -----------------------------------------------------------------------


def run_sync(opts: Options) -> int:
    recorder = redis.Redis.from_url(opts.records_url)

    def handle(job: Job) -> None:
        start = time.time()
        if job.payload.get("announce"):
            recorder.rpush(opts.started, opts.line(job, start, None))
        time.sleep(opts.delay(job))
        recorder.rpush(opts.records, opts.line(job, start, time.time()))

    consumer = SyncConsumer(opts.topic, process_job=handle, **opts.consumer_kwargs())
    signal.signal(signal.SIGTERM, lambda signum, frame: consumer.request_stop())
    done = threading.Event()

    def watch() -> None:
        while opts.consumer_id not in consumer.members:
            if done.wait(0.01):
                return
        announce_ready(recorder, opts)

    threading.Thread(target=watch, name="ready-watch", daemon=True).start()
    try:
        consumer.consume()
    except ConsumerFencedError as exc:
        print(f"fenced: {exc}", flush=True)
        return EXIT_FENCED
    finally:
        done.set()
        recorder.close()
    return 0


def main(argv: list[str]) -> int:
    opts = parse(argv)
    faulthandler.register(signal.SIGUSR1)  # the tests dump every thread of a hung worker
    if opts.sigterm_elsewhere:
        # The one thread that accepts SIGTERM; Python still runs the handler in the main
        # thread, whenever that thread next runs Python code.
        threading.Thread(target=threading.Event().wait, name="sigterm-taker", daemon=True).start()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s {opts.consumer_id}[{os.getpid()}] %(name)s %(levelname)s %(message)s",
    )
    if opts.flavor == "async":
        return asyncio.run(run_async(opts))
    return run_sync(opts)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
