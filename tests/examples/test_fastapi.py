"""examples/fastapi: the app enqueues from its endpoint, the example's consumer sends them.

The app runs in-process (httpx's ASGI transport, inside the app's own lifespan), the
consumer is the example's handler in a Consumer, both against the test's Redis.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from examples.fastapi.app import create_app
from examples.fastapi.settings import Settings
from examples.fastapi.worker import EmailSender
from redisaq import Consumer


async def test_fastapi_example_enqueues_and_the_consumer_handles(
    redis_url: str, prefix: str
) -> None:
    settings = Settings(redis_url=redis_url, prefix=prefix)
    app = create_app(settings)
    sender = EmailSender(settings)
    consumer = Consumer(
        settings.topic,
        group="mailer",
        process_job=sender,
        redis_url=redis_url,
        prefix=prefix,
        dead_letter=f"{prefix}:dead_letter",
        heartbeat_interval=0.2,
        heartbeat_ttl=2.0,
        block_timeout=0.1,
    )
    consuming = asyncio.create_task(consumer.consume())
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                ids = []
                for n in range(5):
                    email = {"to": f"user{n % 2}@example.com", "subject": f"hello {n}"}
                    response = await http.post("/emails", json=email)
                    assert response.status_code == 202, response.text
                    ids.append(response.json()["job_id"])
                assert len(set(ids)) == 5
                assert (await http.post("/emails", json={"to": "x"})).status_code == 422
                assert (await http.get("/emails/nope")).status_code == 404

                async def statuses() -> set[str]:
                    replies = [await http.get(f"/emails/{job_id}") for job_id in ids]
                    return {reply.json()["status"] for reply in replies}

                deadline = time.monotonic() + 15
                while (seen := await statuses()) != {"sent"}:
                    assert time.monotonic() < deadline, f"emails not all sent: {seen}"
                    await asyncio.sleep(0.05)
    finally:
        await consumer.stop()
        await asyncio.wait_for(consuming, 15)
        await sender.aclose()
