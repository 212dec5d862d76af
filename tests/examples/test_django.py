"""examples/django: the view enqueues with a SyncProducer, the management command consumes.

The view runs through Django's test client and the command through call_command (in a
thread, so that its run is bounded), both against the test's Redis and prefix.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from io import StringIO

import django
import pytest
from django.core.management import call_command
from django.test import Client, override_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django.settings")
django.setup()

from examples.django.shop import queue  # noqa: E402  (needs the settings above)

FAST = {"heartbeat_interval": 0.2, "heartbeat_ttl": 2.0, "block_timeout": 0.1}


@pytest.fixture
def project(redis_url: str, prefix: str) -> Iterator[None]:
    conf = {
        "REDIS_URL": redis_url,
        "PREFIX": prefix,
        "TOPIC": "orders",
        "PARTITIONS": 4,
        "CONSUMER": {**FAST, "dead_letter": f"{prefix}:dead_letter"},
    }
    with override_settings(REDISAQ=conf):
        yield
    queue.close()


@pytest.mark.usefixtures("project")
def test_django_view_enqueues_and_the_command_processes() -> None:
    client = Client()
    ids = []
    for n in range(4):
        order = {"customer": f"c{n % 2}", "item": f"book {n}", "quantity": n + 1}
        response = client.post("/orders/", json.dumps(order), content_type="application/json")
        assert response.status_code == 202, response.content
        ids.append(response.json()["job_id"])
    assert {client.get(f"/orders/{job_id}/").json()["status"] for job_id in ids} == {"queued"}
    bad = client.post("/orders/", json.dumps({"item": 1}), content_type="application/json")
    assert bad.status_code == 400
    assert client.get("/orders/nope/").status_code == 404

    out = StringIO()
    command = threading.Thread(
        target=call_command, args=("process_orders",), kwargs={"max_jobs": 4, "stdout": out}
    )
    command.start()
    command.join(20)
    assert not command.is_alive(), f"process_orders did not stop; output: {out.getvalue()}"
    assert "stopped cleanly: 4 order(s) processed, 0 dead-lettered" in out.getvalue()
    assert {client.get(f"/orders/{job_id}/").json()["status"] for job_id in ids} == {"processed"}
