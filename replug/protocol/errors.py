"""One exception per protocol status string, mapped to the envelope in one place (§3)."""

from __future__ import annotations

from typing import Any

NOT_AUTHORIZED_TEXT = "You are not authorized to access this resource."
FORBIDDEN_TEXT = "This request was understood but is forbidden."
NOT_IN_ROOM_TEXT = "not in a room."


class ApiError(Exception):
    """A refusal the client should see as `{status, data}` with an HTTP code."""

    status = "serverError"
    http_status = 500
    default_data: list[Any] = []

    def __init__(self, *data: Any, http_status: int | None = None) -> None:
        self.data: list[Any] = list(data) if data else list(self.default_data)
        if http_status is not None:
            self.http_status = http_status
        super().__init__(f"{self.status}: {self.data}")


class RequestError(ApiError):
    status = "requestError"
    http_status = 400


class RoomRuleError(RequestError):
    """A refusal by a room rule (rank rules, host limit): requestError with HTTP 403."""

    http_status = 403


class NotAuthorized(ApiError):
    status = "notAuthorized"
    http_status = 401
    default_data = [NOT_AUTHORIZED_TEXT]


class Forbidden(NotAuthorized):
    """Logged in, but the role is too low or the action is not allowed."""

    http_status = 403


class NotFound(ApiError):
    status = "notFound"
    http_status = 404
    default_data = ["The requested resource was not found."]


class BadLogin(ApiError):
    status = "badLogin"
    http_status = 401


class CsrfInvalid(ApiError):
    status = "csrfTokenInvalid"
    http_status = 403
    default_data = ["This CSRF token is invalid."]


class CsrfExpired(ApiError):
    status = "csrfTokenExpired"
    http_status = 403
    default_data = ["This CSRF token has expired."]


class RoomMismatch(ApiError):
    status = "roomMismatch"
    http_status = 400


class UserNotInBooth(ApiError):
    status = "userNotInBooth"
    http_status = 400


class BoothFull(ApiError):
    status = "boothFull"
    http_status = 403


class NoValidPlaylist(ApiError):
    status = "noValidPlaylist"
    http_status = 403
    default_data = [FORBIDDEN_TEXT]


class Banned(ApiError):
    status = "ban"
    http_status = 403


class RoomCapacity(ApiError):
    status = "roomCapacity"
    http_status = 403


class MaintenanceMode(ApiError):
    status = "maintenanceMode"
    http_status = 503
    default_data = ["The site is in maintenance mode."]


class FloodApi(ApiError):
    status = "floodAPI"
    http_status = 429
    default_data = ["Too many requests; slow down."]


class ServerError(ApiError):
    status = "serverError"
    http_status = 500
    default_data = ["Something went wrong on the server."]


def required(field: str) -> RequestError:
    return RequestError(f"{field} is required")


def invalid(field: str) -> RequestError:
    return RequestError(f"{field} is invalid")


def not_in_room() -> RequestError:
    return RequestError(NOT_IN_ROOM_TEXT)
