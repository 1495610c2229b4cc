"""Settings from command-line flags, else environment variables, else defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_DATABASE_URL = "sqlite:///replug.db"


def _env_list(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = DEFAULT_DATABASE_URL
    log_level: str = "info"
    # Set: multi-node mode, sharing live state with every node on the same Redis.
    redis_url: str | None = None
    workers: int = 1
    # Extra WebSocket origins to accept besides https://plug.dj and the server's own.
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    allow_missing_origin: bool = False
    # Argon2id cost; tests lower it because hashing is slow on purpose.
    password_time_cost: int = 2
    password_memory_kib: int = 19_456

    @classmethod
    def from_env(cls, **overrides: object) -> Config:
        values: dict[str, object] = {
            "host": os.environ.get("REPLUG_HOST", cls.host),
            "port": int(os.environ.get("REPLUG_PORT", cls.port)),
            "database_url": os.environ.get("REPLUG_DATABASE_URL", cls.database_url),
            "log_level": os.environ.get("REPLUG_LOG_LEVEL", cls.log_level),
            "redis_url": os.environ.get("REPLUG_REDIS_URL") or None,
            "workers": int(os.environ.get("REPLUG_WORKERS", 1)),
            "allowed_origins": _env_list("REPLUG_ALLOWED_ORIGINS"),
            "allow_missing_origin": _env_bool("REPLUG_ALLOW_MISSING_ORIGIN", False),
            "password_time_cost": int(os.environ.get("REPLUG_PASSWORD_TIME_COST", 2)),
            "password_memory_kib": int(os.environ.get("REPLUG_PASSWORD_MEMORY_KIB", 19_456)),
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]
