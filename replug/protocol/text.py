"""Text rules shared by every field: HTML escaping, chat limits and slugs (conventions §7)."""

from __future__ import annotations

import re

CHAT_MAX_BYTES = 250

# One table for every escaped field (D24); `&` goes first so nothing is escaped twice.
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;"))
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def escape(text: str) -> str:
    for raw, entity in _ESCAPES:
        text = text.replace(raw, entity)
    return text


def slugify(name: str) -> str:
    """Derive a slug by the rule of D25; an empty string means "no slug"."""
    name = name.replace("<", " lt ").replace(">", " gt ").lower()
    return _NOT_SLUG.sub("-", name).strip("-")


def clean_chat(text: str, max_bytes: int = CHAT_MAX_BYTES) -> str | None:
    """Apply the chat text rules of D20; None means the message is dropped."""
    if "\n" in text or "\r" in text:
        return None

    text = text.strip()
    if not text:
        return None

    return cut_utf8(escape(text), max_bytes)


def cut_utf8(escaped: str, max_bytes: int) -> str:
    """Cut escaped text to max_bytes without splitting a UTF-8 sequence or an entity."""
    encoded = escaped.encode("utf-8")
    if len(encoded) <= max_bytes:
        return escaped

    cut = encoded[:max_bytes].decode("utf-8", errors="ignore")
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut


# Bidirectional overrides and isolates can make a name read as another one.
_BIDI_CONTROLS = frozenset(chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def has_control_characters(text: str) -> bool:
    return any(ord(ch) < 32 or 127 <= ord(ch) < 160 or ch in _BIDI_CONTROLS for ch in text)
