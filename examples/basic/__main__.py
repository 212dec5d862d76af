"""The main demo: partitions, a sync and async consumer group, rebalances, reconsumption.

    python -m examples.basic        (Redis at redis://localhost:6379/0, or REDIS_URL)

It ends by itself and prints what each consumer handled. Keys live under a fresh
prefix and are deleted at the end.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable

import redis.asyncio

from redisaq import Consumer, Job, Producer, SyncConsumer

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
PREFIX = f"redisaq-demo-{uuid.uuid4().hex[:6]}"
TOPIC = "orders"
HEARTBEAT = 0.5  # seconds; short so the demo's hand-overs are quick (default 5 s)

handled: dict[str, Counter[int]] = defaultdict(Counter)  # consumer -> partition -> jobs
lock = threading.Lock()


def record(name: str, job: Job) -> None:
    with lock:
        handled[name][job.partition] += 1


def total(names: tuple[str, ...] = ("alpha", "bravo", "charlie")) -> int:
    with lock:
        return sum(sum(handled[n].values()) for n in names)


def async_handler(name: str) -> Callable[[Job], Awaitable[None]]:
    async def handle(job: Job) -> None:
        await asyncio.sleep(0.01)  # pretend to work
        record(name, job)

    return handle


def sync_handle(job: Job) -> None:
    time.sleep(0.01)
    record("bravo", job)


def show(step: str, consumers: dict[str, Consumer | SyncConsumer]) -> None:
    owners = ", ".join(f"{n}={c.partitions}" for n, c in consumers.items())
    print(f"[{total():4d} handled] {step:<42} partitions: {owners}")


def async_consumer(group: str, name: str, handler: Callable[[Job], Awaitable[None]]) -> Consumer:
    return Consumer(
        TOPIC,
        group=group,
        consumer_id=name,
        process_job=handler,
        redis_url=REDIS_URL,
        prefix=PREFIX,
        heartbeat_interval=HEARTBEAT,
        heartbeat_ttl=4 * HEARTBEAT,
    )


async def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: timed out waiting ({condition})")
        await asyncio.sleep(0.05)


async def main() -> None:
    producer = Producer(TOPIC, partitions=4, redis_url=REDIS_URL, prefix=PREFIX)
    await producer.batch_enqueue([{"order": n, "amount": n * 3} for n in range(300)])
    print(f"enqueued 300 jobs over {await producer.num_partitions()} partitions of {TOPIC!r}")

    alpha = async_consumer("shipping", "alpha", async_handler("alpha"))
    bravo = SyncConsumer(
        TOPIC,
        group="shipping",
        consumer_id="bravo",
        process_job=sync_handle,
        redis_url=REDIS_URL,
        prefix=PREFIX,
        heartbeat_interval=HEARTBEAT,
        heartbeat_ttl=4 * HEARTBEAT,
    )
    charlie = async_consumer("shipping", "charlie", async_handler("charlie"))
    group: dict[str, Consumer | SyncConsumer] = {"alpha": alpha}
    alpha_task = asyncio.create_task(alpha.consume())
    await wait_for(lambda: alpha.partitions == [0, 1, 2, 3])
    show("alpha (async) started", group)

    await wait_for(lambda: total() >= 60)
    bravo_thread = threading.Thread(target=bravo.consume, name="bravo")
    bravo_thread.start()
    group["bravo"] = bravo
    await wait_for(lambda: bravo.partitions == [1, 3] and alpha.partitions == [0, 2])
    show("bravo (sync, a thread) joined", group)

    await wait_for(lambda: total() >= 150)
    charlie_task = asyncio.create_task(charlie.consume())
    group["charlie"] = charlie
    await wait_for(lambda: charlie.partitions == [2] and alpha.partitions == [0, 3])
    show("charlie (async) joined", group)

    await producer.batch_enqueue([{"order": n, "amount": n * 3} for n in range(300, 400)])
    show("100 more jobs enqueued", group)
    await wait_for(lambda: total() >= 330)
    await charlie.stop()
    await charlie_task
    del group["charlie"]
    await wait_for(lambda: alpha.partitions == [0, 2] and bravo.partitions == [1, 3])
    show("charlie stopped: partitions handed back", group)

    await wait_for(lambda: total() >= 400)
    show("all 400 jobs handled", group)
    print()
    await alpha.stop()
    bravo.stop()
    await alpha_task
    await asyncio.to_thread(bravo_thread.join)

    audited: list[int] = []

    async def audit(job: Job) -> None:
        audited.append(job.payload["order"])

    auditor = async_consumer("audit", "auditor", audit)
    audit_task = asyncio.create_task(auditor.consume())
    await wait_for(lambda: len(audited) >= 400)
    await auditor.stop()
    await audit_task
    print(f"new group 'audit' re-read every job from the start: {len(set(audited))} jobs")

    print("who handled what (group 'shipping'):")
    for name in ("alpha", "bravo", "charlie"):
        per_partition = dict(sorted(handled[name].items()))
        print(f"  {name:<8} {sum(per_partition.values()):4d} jobs  by partition {per_partition}")
    print(f"  total    {total():4d} jobs (at least once: a job may repeat after a hand-over)")
    await producer.close()
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    keys = [k async for k in client.scan_iter(match=f"{PREFIX}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
