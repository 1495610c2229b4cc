"""HTML pages: any single path segment answers a page that starts a guest session (§5)."""

from __future__ import annotations

import html

from aiohttp import web

from replug.features.naming import RESERVED_SLUGS
from replug.protocol.timefmt import wire_time
from replug.services import Services

# `_st` must be the first occurrence of those three characters in the page: plugAPI cuts the
# page there and reads the next double-quoted text as the server clock.
_PAGE = """<!doctype html>
<html lang="en">
<head>
<script>window._st = "{now}";</script>
<meta charset="utf-8">
<title>{title}</title>
</head>
<body>
<h1>{heading}</h1>
<p>{text}</p>
</body>
</html>
"""

_PAGE_RESERVED = RESERVED_SLUGS - {"plug-socket-test", "plugcubed", "dashboard"}


def add_routes(app: web.Application, services: Services) -> None:
    async def home(request: web.Request) -> web.Response:
        return await _page(request, services, None)

    async def room_page(request: web.Request) -> web.Response:
        slug = request.match_info["slug"]
        if slug in _PAGE_RESERVED:
            raise web.HTTPNotFound()
        return await _page(request, services, slug)

    app.router.add_get("/", home)
    app.router.add_get("/{slug}", room_page)


async def _page(request: web.Request, services: Services, slug: str | None) -> web.Response:
    session = await services.sessions.load(request.headers.get("Cookie"))
    if session is None:
        session = await services.sessions.create()

    room = await services.store.rooms.by_slug(slug) if slug else None
    if room is not None and session["user_id"] is None:
        await services.hub.choose_guest_room(str(session["id"]), room)

    if room is not None:
        title = heading = html.escape(room["name"])
        text = "A Replug room. Connect with a plug.dj client to listen along."
    else:
        title = heading = "Replug"
        text = "A self-hosted server for social DJ rooms."
    body = _PAGE.format(
        now=wire_time(services.clock.now()), title=title, heading=heading, text=text
    )
    response = web.Response(text=body, content_type="text/html")
    cookie = services.sessions.cookie_value(session)
    response.headers.add("Set-Cookie", services.sessions.set_cookie_header(cookie, request.secure))
    return response
