"""``POST /orders/`` enqueues an order with the SyncProducer; ``GET /orders/<id>/`` its status."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import queue


@csrf_exempt  # a JSON API for the example; use your own authentication in a real project
@require_POST
def create_order(request: HttpRequest) -> JsonResponse:
    try:
        order = json.loads(request.body)
    except json.JSONDecodeError:
        return JsonResponse({"error": "the body must be JSON"}, status=400)
    if not (
        isinstance(order, dict)
        and isinstance(order.get("customer"), str)
        and isinstance(order.get("item"), str)
        and isinstance(order.get("quantity", 1), int)
    ):
        return JsonResponse(
            {"error": "expected {'customer': str, 'item': str, 'quantity': int}"}, status=400
        )
    # Same customer, same partition: one customer's orders are processed in order.
    job_id = queue.producer().enqueue(order, partition_key="customer")
    queue.mark(job_id, "queued", only_new=True)  # unless the worker was quicker
    return JsonResponse({"job_id": job_id}, status=202)


@require_GET
def order_status(request: HttpRequest, job_id: str) -> JsonResponse:
    status = queue.status(job_id)
    if status is None:
        return JsonResponse({"error": f"no order job {job_id!r}"}, status=404)
    return JsonResponse({"job_id": job_id, "status": status})
