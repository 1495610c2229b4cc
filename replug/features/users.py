"""Looking up accounts: oneself, others, many at once, and whether a name is free."""

from __future__ import annotations

from typing import Any

from replug.api import validate
from replug.api.routing import Access, Call
from replug.features import api
from replug.features.naming import check_username
from replug.protocol.errors import NotFound, RequestError
from replug.protocol.shapes import guest_self, public_user, self_user
from replug.protocol.text import slugify

BULK_LIMIT = 500


@api.get("/users/me", access=Access.SESSION)
async def me(call: Call) -> list[Any]:
    if call.user is None:
        return [guest_self()]
    return [self_user(call.user)]


@api.get("/users/validate/{name}", access=Access.SESSION)
async def validate_username(call: Call) -> list[Any]:
    name = check_username(call.path["name"])
    if await call.services.store.users.username_taken(name):
        raise RequestError("Username unavailable")
    return [{"slug": slugify(name)}]


@api.get("/users/{id}", access=Access.SESSION)
async def user_by_id(call: Call) -> list[Any]:
    user_id = validate.path_id(call.path["id"])
    user = await call.services.store.users.by_id(user_id)
    if user is None:
        raise NotFound()
    return [public_user(user)]


@api.post("/users/bulk", access=Access.SESSION)
async def users_bulk(call: Call) -> list[Any]:
    ids = validate.id_list(call.body, "ids", max_items=BULK_LIMIT)
    found = await call.services.store.users.by_ids(ids)
    return [public_user(found[user_id]) for user_id in ids if user_id in found]
