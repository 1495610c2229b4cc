"""Rules for names that become slugs: usernames and room names."""

from __future__ import annotations

from replug.protocol.errors import RequestError
from replug.protocol.text import has_control_characters, slugify

USERNAME_INVALID = "Username is invalid"
RESERVED_SLUGS = frozenset(
    {
        "_",
        "socket",
        "static",
        "assets",
        "favicon.ico",
        "robots.txt",
        "plug-socket-test",
        "plugcubed",
        "dashboard",
        "app",
        "login",
        "logout",
        "signup",
        "settings",
        "api",
    }
)


def check_username(name: str) -> str:
    """2–25 characters after trimming, no control characters, a non-empty slug."""
    name = name.strip()
    if not 2 <= len(name) <= 25 or has_control_characters(name) or not slugify(name):
        raise RequestError(USERNAME_INVALID)
    return name
