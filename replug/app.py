"""The HTTP application: /_/ endpoints in the protocol's envelope, the socket, and pages."""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from aiohttp import web

from replug import pages  # noqa: E402
from replug.api.routing import Access, Call, Endpoint

# Importing the feature modules registers their endpoints on `api`.
from replug.features import accounts, api, booth, chat, playlists, rooms, users  # noqa: F401, E402
from replug.protocol.envelope import envelope
from replug.protocol.errors import ApiError, NotAuthorized, NotFound, RequestError, ServerError
from replug.services import Services

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
BODY_METHODS = {"POST", "PUT", "PATCH"}


def build_app(services: Services) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_api_errors])
    for endpoint in api.endpoints:
        handler = _wrap(endpoint, services)
        app.router.add_route(endpoint.method, "/_" + endpoint.path, handler)
        app.router.add_route(endpoint.method, "/_" + endpoint.path + "/", handler)
    app.router.add_route("*", "/_/{tail:.*}", _unknown_endpoint)
    app.router.add_get("/socket", services.gateway.handle)
    pages.add_routes(app, services)
    return app


def _respond(data: list[Any], status: str, http_status: int, started: float) -> web.Response:
    elapsed = (time.perf_counter() - started) * 1000
    return web.Response(
        body=envelope(data, status, elapsed),
        status=http_status,
        content_type="application/json",
    )


def _wrap(endpoint: Endpoint, services: Services) -> Any:
    async def handle(request: web.Request) -> web.Response:
        started = time.perf_counter()
        call: Call | None = None
        try:
            call = await _prepare(endpoint, services, request)
            data = await endpoint.handler(call)
            response = _respond(data, "ok", 200, started)
        except ApiError as error:
            response = _respond(error.data, error.status, error.http_status, started)
        except web.HTTPRequestEntityTooLarge:
            text = f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB."
            response = _respond([text], "requestError", 413, started)
        except ConnectionResetError:
            log.info("Client went away during %s %s", request.method, request.path)
            response = _respond([], "requestError", 400, started)
        except Exception:
            log.exception("Unexpected failure in %s %s", request.method, request.path)
            failure = ServerError()
            response = _respond(failure.data, failure.status, failure.http_status, started)

        if call is not None:
            _cookies(call, request, response, services)
        return response

    return handle


async def _prepare(endpoint: Endpoint, services: Services, request: web.Request) -> Call:
    session = await services.sessions.load(request.headers.get("Cookie"))
    user = None
    if session is not None and session["user_id"] is not None:
        user = await services.store.users.by_id(int(session["user_id"]))

    if endpoint.access is not Access.ANYONE and session is None:
        raise NotAuthorized()
    if endpoint.access is Access.ACCOUNT and user is None:
        raise NotAuthorized()

    if any("\x00" in part for part in (request.path, *request.query.values())):
        raise RequestError("The request holds a NUL character.")
    body = await _read_body(request) if request.method in BODY_METHODS else {}
    return Call(request, services, session, user, body, services.clock.now())


async def _read_body(request: web.Request) -> dict[str, Any]:
    """JSON whatever the Content-Type says; nothing counts as `{}` (conventions §1)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestError("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise RequestError("The request body must be a JSON object.")
    if b"\\u0000" in raw and _holds_nul(body):
        # PostgreSQL text cannot hold it, and no field of the protocol needs it.
        raise RequestError("The request body holds a NUL character.")
    return body


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _cookies(call: Call, request: web.Request, response: web.Response, services: Services):
    secure = request.secure
    if call.extra.get("clear_cookie"):
        response.headers.add("Set-Cookie", "session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
    elif call.new_cookie is not None:
        header = services.sessions.set_cookie_header(call.new_cookie, secure)
        response.headers.add("Set-Cookie", header)


async def _unknown_endpoint(request: web.Request) -> web.Response:
    error = NotFound(f"No endpoint {request.method} {request.path}")
    return _respond(error.data, error.status, error.http_status, time.perf_counter())


@web.middleware
async def _api_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """aiohttp's own refusals (too large, bad method) in the envelope under /_/."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if not request.path.startswith("/_/") or error.status < 400:
            raise
        status = "notFound" if error.status in (404, 405) else "requestError"
        return _respond([error.reason], status, error.status, time.perf_counter())
