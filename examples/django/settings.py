"""Django settings of the example project (no database: the queue is the only backend)."""

from __future__ import annotations

import os
from typing import Any

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
INSTALLED_APPS = ["examples.django.shop"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "examples.django.urls"
DATABASES: dict[str, Any] = {}
USE_TZ = True

# Read by examples/django/shop/queue.py and the process_orders command.
REDISAQ: dict[str, Any] = {
    # the variables the redisaq command reads, in its order
    "REDIS_URL": os.environ.get("REDISAQ_URL")
    or os.environ.get("REDIS_URL", "redis://localhost:6379/0"),
    "PREFIX": os.environ.get("REDISAQ_PREFIX", "redisaq"),
    "TOPIC": "orders",
    "PARTITIONS": 4,
    "CONSUMER": {},  # more SyncConsumer keyword arguments (max_retries, heartbeat_ttl, ...)
}
