"""Declaring endpoints: each states its access level where it is defined."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy.engine import RowMapping

from replug.protocol.errors import NotAuthorized, not_in_room

if TYPE_CHECKING:
    from replug.live.hub import LiveRoom
    from replug.services import Services


class Access(enum.Enum):
    ANYONE = "anyone"  # no session needed (mobile/init, signup, login)
    SESSION = "session"  # a guest or an account
    ACCOUNT = "account"  # a logged-in account


@dataclass
class Call:
    """Everything a handler needs about one request."""

    request: web.Request
    services: Services
    session: RowMapping | None
    user: RowMapping | None
    body: dict[str, Any]
    now: float
    new_cookie: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> dict[str, str]:
        return dict(self.request.match_info)

    @property
    def query(self) -> Any:
        return self.request.query

    @property
    def user_id(self) -> int:
        assert self.user is not None
        return int(self.user["id"])

    @property
    def session_id(self) -> str:
        assert self.session is not None
        return str(self.session["id"])

    async def room(self) -> LiveRoom:
        """The caller's current room, or `not in a room.` (rest.md §0)."""
        hub = self.services.hub
        if self.user is not None:
            room = hub.room_of_user(self.user_id)
        elif self.session is not None:
            room = await hub.room_of_guest(self.session)
        else:
            raise NotAuthorized()
        if room is None:
            raise not_in_room()
        return room


Handler = Callable[[Call], Awaitable[list[Any]]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    access: Access


class ApiRouter:
    """Collects endpoints; the application mounts them under /_/."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def route(self, method: str, path: str, access: Access) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(method, path, handler, access))
            return handler

        return register

    def get(self, path: str, access: Access = Access.SESSION) -> Callable[[Handler], Handler]:
        return self.route("GET", path, access)

    def post(self, path: str, access: Access = Access.ACCOUNT) -> Callable[[Handler], Handler]:
        return self.route("POST", path, access)

    def put(self, path: str, access: Access = Access.ACCOUNT) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, access)

    def delete(self, path: str, access: Access = Access.ACCOUNT) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, access)
