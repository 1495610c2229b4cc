"""Reading request bodies: each helper returns a clean value or raises the protocol's error."""

from __future__ import annotations

from typing import Any

from replug.protocol.errors import invalid, required

MAX_ID = 2**53


def field(body: dict[str, Any], name: str) -> Any:
    value = body.get(name)
    if value is None:
        raise required(name)
    return value


def integer_id(value: Any, name: str) -> int:
    """A numeric id given as a JSON number or a string of digits (conventions §1)."""
    if isinstance(value, bool):
        raise invalid(name)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        raise invalid(name)
    if not 0 < number < MAX_ID:
        raise invalid(name)
    return number


def id_field(body: dict[str, Any], name: str) -> int:
    return integer_id(field(body, name), name)


def path_id(value: str, name: str = "id") -> int:
    return integer_id(value, name)


def text(body: dict[str, Any], name: str, *, min_length: int = 0, max_length: int = 10_000) -> str:
    value = field(body, name)
    if not isinstance(value, str):
        raise invalid(name)
    value = value.strip()
    if not min_length <= len(value) <= max_length:
        raise invalid(name)
    return value


def boolean(body: dict[str, Any], name: str, default: bool | None = None) -> bool:
    value = body.get(name)
    if value is None:
        if default is None:
            raise required(name)
        return default
    if not isinstance(value, bool):
        raise invalid(name)
    return value


def integer(body: dict[str, Any], name: str) -> int:
    value = field(body, name)
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        raise invalid(name)
    return value


def id_list(body: dict[str, Any], name: str, max_items: int = 500) -> list[int]:
    value = body.get(name)
    if not isinstance(value, list):
        raise required(name)
    if len(value) > max_items:
        raise invalid(name)
    return [integer_id(item, name) for item in value]
