"""The `{data, meta, status, time}` body every /_/ answer carries (conventions §2)."""

from __future__ import annotations

from typing import Any

import orjson


def envelope(data: list[Any], status: str = "ok", elapsed_ms: float = 0.0) -> bytes:
    body = {"data": data, "meta": {}, "status": status, "time": round(elapsed_ms, 3)}
    return orjson.dumps(body)
