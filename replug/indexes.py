"""Small helpers for the `key → set of members` indexes the gateway and the hub keep."""

from __future__ import annotations

from typing import Any, TypeVar

Member = TypeVar("Member")


def discard_from(index: dict[Any, set[Member]], key: Any, member: Member) -> None:
    """Remove one member, and the key with it once its set is empty, so indexes stay small."""
    members = index.get(key)
    if members is None:
        return
    members.discard(member)
    if not members:
        del index[key]
