"""Chat history and deleting messages; sending chat is a socket message (gateway)."""

from __future__ import annotations

from typing import Any

from replug.api.routing import Access, Call
from replug.features import api
from replug.protocol.errors import Forbidden
from replug.protocol.timefmt import wire_time

BOUNCER = 2000
SITE_MODERATOR = 2500
ADMIN = 5000


@api.get("/chat/history", access=Access.SESSION)
async def chat_history(call: Call) -> list[Any]:
    runtime = await call.room()
    engine = runtime.engine
    lines = engine.recent_chat()
    authors: dict[int, dict[str, Any]] = {}
    for line in lines:
        author_id = line.payload["uid"]
        authors[author_id] = engine.members.get(author_id, line.author)
    history = [{**line.payload, "timestamp": wire_time(line.sent_at)} for line in lines]
    return [{"history": history, "users": list(authors.values())}]


@api.delete("/chat/{cid}", access=Access.ACCOUNT)
async def delete_message(call: Call) -> list[Any]:
    runtime = await call.room()
    engine = runtime.engine
    if engine.power_of(call.user_id) < BOUNCER:
        raise Forbidden()

    cid = call.path["cid"]
    author = engine.chat_author(cid)
    caller_g_role = int(call.user["g_role"]) if call.user is not None else 0
    if author is not None and author["gRole"] >= SITE_MODERATOR and caller_g_role < ADMIN:
        raise Forbidden()
    await runtime.command("delete_chat", moderator_id=call.user_id, cid=cid)
    return []
