"""Wire timestamps: UTC, always six fractional digits (conventions §6, D22)."""

from __future__ import annotations

from datetime import UTC, datetime


def wire_time(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
