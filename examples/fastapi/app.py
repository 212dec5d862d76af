"""The web app: ``POST /emails`` enqueues a job, ``GET /emails/{job_id}`` tells its status.

One async Producer serves every request: it is opened in the app's lifespan and closed
when the app shuts down.

    uvicorn examples.fastapi.app:app
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, cast

import redis.asyncio
from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel

from redisaq import Producer

from .settings import Settings


class Email(BaseModel):
    to: str
    subject: str
    body: str = ""


class Queued(BaseModel):
    job_id: str


class Status(BaseModel):
    job_id: str
    status: str  # "queued" until the worker has sent it, then "sent"


def get_producer(request: Request) -> Producer:
    return cast(Producer, request.app.state.producer)


def get_redis(request: Request) -> redis.asyncio.Redis:
    return cast(redis.asyncio.Redis, request.app.state.redis)


def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


ProducerDep = Annotated[Producer, Depends(get_producer)]
RedisDep = Annotated[redis.asyncio.Redis, Depends(get_redis)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        producer = Producer(
            settings.topic,
            redis_url=settings.redis_url,
            prefix=settings.prefix,
            partitions=settings.partitions,
        )
        client = redis.asyncio.Redis.from_url(settings.redis_url, decode_responses=True)
        app.state.settings, app.state.producer, app.state.redis = settings, producer, client
        try:
            yield
        finally:
            await producer.close()
            await client.aclose()

    app = FastAPI(title="redisaq FastAPI example", lifespan=lifespan)

    @app.post("/emails", status_code=202)
    async def send_email(
        email: Email, producer: ProducerDep, client: RedisDep, conf: SettingsDep
    ) -> Queued:
        # Same recipient, same partition: one recipient's emails go out in order.
        job_id = await producer.enqueue(email.model_dump(), partition_key="to")
        await client.hsetnx(conf.status_key, job_id, "queued")
        return Queued(job_id=job_id)

    @app.get("/emails/{job_id}")
    async def email_status(job_id: str, client: RedisDep, conf: SettingsDep) -> Status:
        status = await client.hget(conf.status_key, job_id)
        if status is None:
            raise HTTPException(status_code=404, detail=f"no email job {job_id!r}")
        return Status(job_id=job_id, status=str(status))

    return app


app = create_app()
