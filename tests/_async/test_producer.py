"""Producer behaviour: stream layout, partitioning, refusal of bad input, trimming."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from redisaq import PartitionKeyError, RedisaqError, SerializationError
from redisaq._async.producer import AsyncProducer
from redisaq._partitioning import partition_for_value
from redisaq._redis import AsyncRedis
from tests._async.conftest import ProducerFactory
from tests._async.helpers import read_stream


async def stream_lengths(client: AsyncRedis, prefix: str, topic: str, n: int) -> list[int]:
    return [await client.xlen(f"{prefix}:{topic}:{p}") for p in range(n)]


async def test_enqueue_writes_one_entry_to_the_partition_stream(
    make_producer: ProducerFactory, redis_client: AsyncRedis, prefix: str
) -> None:
    producer = make_producer("send_email")
    job_id = await producer.enqueue({"to": "a@example.com"})
    entries = await read_stream(redis_client, f"{prefix}:send_email:0")
    assert len(entries) == 1
    fields = entries[0].fields
    assert fields is not None
    assert fields["id"].decode() == job_id
    assert json.loads(fields["payload"]) == {"to": "a@example.com"}
    assert "enqueued_at" in fields


async def test_batch_enqueue_spreads_jobs_round_robin(
    make_producer: ProducerFactory, redis_client: AsyncRedis, prefix: str
) -> None:
    producer = make_producer(partitions=3)
    ids = await producer.batch_enqueue([{"i": i} for i in range(9)])
    assert len(ids) == len(set(ids)) == 9
    assert await stream_lengths(redis_client, prefix, "jobs", 3) == [3, 3, 3]
    assert await producer.num_partitions() == 3


async def test_partition_key_is_a_stable_hash_of_the_field(
    make_producer: ProducerFactory, redis_client: AsyncRedis, prefix: str
) -> None:
    producer = make_producer(partitions=4)
    users = [f"user-{n}" for n in range(8)]
    await producer.batch_enqueue([{"user": u, "n": 1} for u in users], partition_key="user")
    await producer.batch_enqueue([{"user": u, "n": 2} for u in users], partition_key="user")
    for p in range(4):
        for entry in await read_stream(redis_client, f"{prefix}:jobs:{p}"):
            assert entry.fields is not None
            user = json.loads(entry.fields["payload"])["user"]
            assert partition_for_value(user, 4) == p


async def test_missing_partition_key_refuses_the_whole_batch(
    make_producer: ProducerFactory, redis_client: AsyncRedis, prefix: str
) -> None:
    producer = make_producer(partitions=2)
    with pytest.raises(PartitionKeyError, match="user") as info:
        await producer.batch_enqueue([{"user": "a"}, {"name": "b"}], partition_key="user")
    assert isinstance(info.value, ValueError)
    assert await redis_client.keys(f"{prefix}:jobs:*") == []


async def test_unserialisable_payload_refuses_the_whole_batch(
    make_producer: ProducerFactory, redis_client: AsyncRedis, prefix: str
) -> None:
    producer = make_producer()
    with pytest.raises(SerializationError, match="serial"):
        await producer.batch_enqueue([{"ok": 1}, {"bad": object()}])
    with pytest.raises(SerializationError, match="mapping"):
        await producer.enqueue(["not", "a", "mapping"])  # type: ignore[arg-type]
    with pytest.raises(SerializationError):
        await producer.enqueue({"nan": float("nan")})
    deep: dict[str, object] = {}
    for _ in range(100_000):
        deep = {"d": deep}
    with pytest.raises(SerializationError, match="nested too deeply"):
        await producer.enqueue(deep)
    with pytest.raises(PartitionKeyError, match="canonical"):
        await producer.enqueue({"user": {1: "a", "b": 2}}, partition_key="user")
    lone = "bad\udcff.txt"  # a lone surrogate: valid in a Python str, not in UTF-8
    with pytest.raises(SerializationError, match="surrogate"):
        await producer.batch_enqueue([{"i": i} for i in range(6000)] + [{"name": lone}])
    escaping = make_producer(serializer=json.dumps)  # (\udcff in the JSON text: fine)
    with pytest.raises(PartitionKeyError, match="canonical"):
        await escaping.enqueue({"name": lone}, partition_key="name")
    assert await redis_client.keys(f"{prefix}:*") == []


async def test_a_custom_serializer_that_fails_writes_nothing(
    make_producer: ProducerFactory, redis_client: AsyncRedis, prefix: str
) -> None:
    def raises(payload: Mapping[str, Any]) -> str:
        raise KeyError("no such field")

    def returns_none(payload: Mapping[str, Any]) -> str:
        return None  # type: ignore[return-value]

    with pytest.raises(SerializationError, match="KeyError"):
        await make_producer(serializer=raises).enqueue({"x": 1})
    with pytest.raises(SerializationError, match="str or bytes.*NoneType"):
        await make_producer(serializer=returns_none).batch_enqueue([{"x": 1}])
    assert await redis_client.keys(f"{prefix}:*") == []


async def test_a_junk_partition_count_is_rewritten_by_the_next_write(
    make_producer: ProducerFactory, redis_client: AsyncRedis, prefix: str
) -> None:
    # (Lua's tonumber reads "1e1", "5.0" and "0x10"; Python's int does not: both must agree)
    for n, junk in enumerate(["abc", "1e1", "5.0", "0x10", "-3", "9" * 30, "99999"]):
        topic = f"junk{n}"
        await redis_client.set(f"{prefix}:{topic}:partitions", junk)
        producer = make_producer(topic, partitions=2)
        assert await producer.num_partitions() == 2, junk
        await producer.batch_enqueue([{"i": i} for i in range(10)])
        assert await redis_client.get(f"{prefix}:{topic}:partitions") == b"2", junk
        assert await stream_lengths(redis_client, prefix, topic, 2) == [5, 5], junk


async def test_a_key_of_the_wrong_type_is_a_clear_error(
    make_producer: ProducerFactory, redis_client: AsyncRedis, prefix: str
) -> None:
    await redis_client.set(f"{prefix}:jobs:0", "not a stream")
    with pytest.raises(RedisaqError, match="refused a write to topic 'jobs'.*WRONGTYPE"):
        await make_producer().enqueue({"x": 1})


async def test_maxlen_trims_each_partition(
    make_producer: ProducerFactory, redis_client: AsyncRedis, prefix: str
) -> None:
    exact = make_producer("exact", partitions=2, maxlen=10, approximate=False)
    await exact.batch_enqueue([{"i": i} for i in range(60)])
    assert await stream_lengths(redis_client, prefix, "exact", 2) == [10, 10]
    rough = make_producer("rough", maxlen=100)
    for start in range(0, 1000, 100):
        await rough.batch_enqueue([{"i": i} for i in range(start, start + 100)])
    assert 100 <= await redis_client.xlen(f"{prefix}:rough:0") < 300


async def test_partition_count_only_grows(make_producer: ProducerFactory) -> None:
    producer = make_producer(partitions=2)
    assert await producer.num_partitions() == 2
    assert await producer.request_partition_increase(4) == 4
    assert await producer.request_partition_increase(3) == 4
    other = make_producer(partitions=1)
    assert await other.num_partitions() == 4
    with pytest.raises(ValueError, match="partitions"):
        await producer.request_partition_increase(0)


async def test_connection_is_lazy_and_errors_name_the_address(prefix: str) -> None:
    producer = AsyncProducer("jobs", prefix=prefix, redis_url="redis://127.0.0.1:1/0")
    with pytest.raises(RedisaqError, match="127.0.0.1:1"):
        await producer.enqueue({"x": 1})
    await producer.close()


async def test_context_manager_and_bad_settings(redis_url: str, prefix: str) -> None:
    async with AsyncProducer("jobs", prefix=prefix, redis_url=redis_url) as producer:
        assert await producer.enqueue({"x": 1})
    with pytest.raises(ValueError, match="partitions"):
        AsyncProducer("jobs", partitions=0)
    with pytest.raises(ValueError, match="topic"):
        AsyncProducer("bad{topic}")
    with pytest.raises(ValueError, match="maxlen"):
        AsyncProducer("jobs", maxlen=-1)
    with pytest.raises(ValueError, match="partitions"):
        AsyncProducer("jobs", partitions=float("inf"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="partitions must be a positive integer up to 4,096"):
        AsyncProducer("jobs", partitions=4097)
    with pytest.raises(ValueError, match="maxlen"):
        AsyncProducer("jobs", maxlen=2**64)
    with pytest.raises(ValueError, match="partitions"):
        await producer.request_partition_increase(10**12)
