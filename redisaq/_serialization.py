"""Payload <-> bytes. JSON by default: data only, never code (no pickle)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import SerializationError

Serializer = Callable[[Mapping[str, Any]], str | bytes]
Deserializer = Callable[[bytes], Mapping[str, Any]]


def json_dumps(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def json_loads(data: bytes) -> Mapping[str, Any]:
    # Decoding first skips json's encoding detection; redisaq always writes UTF-8.
    value = json.loads(data.decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError(f"payload is a JSON {type(value).__name__}, not an object")
    return value


def serialize(payload: object, serializer: Serializer | None) -> bytes:
    """The stored form of ``payload``; SerializationError says what is wrong with it."""
    if not isinstance(payload, Mapping):
        raise SerializationError(
            f"payload must be a mapping (a dict of JSON values), got {type(payload).__name__}"
        )
    try:
        body = (serializer or json_dumps)(payload)
    except RecursionError as exc:
        raise SerializationError("payload cannot be serialized: it is nested too deeply") from exc
    except Exception as exc:  # a custom serializer may raise anything
        raise SerializationError(
            f"payload cannot be serialized: {type(exc).__name__}: {exc}"
        ) from exc
    if isinstance(body, bytes):
        return body
    if not isinstance(body, str):
        raise SerializationError(
            f"the serializer must return str or bytes, it returned {type(body).__name__}"
        )
    try:  # here, not in redis-py half-way through a batch
        return body.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SerializationError(
            f"payload cannot be serialized: {exc} (a lone surrogate in a string?)"
        ) from exc
