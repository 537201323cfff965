"""Request middleware: correlation ids, Immich-shaped errors, and the per-route auth check."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from aiohttp import web

from appliance.api.common import AUTH, CORRELATION_ID, RequestValidationError, as_json, services
from appliance.api.routing import Handler, RouteSpec
from appliance.errors import Forbidden, ShoeboxError
from appliance.library.auth import Credentials

log = logging.getLogger(__name__)


def error_body(status: int, message: str | list[str], correlation_id: str) -> dict[str, object]:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return {"message": message, "error": reason, "statusCode": status, "correlationId": correlation_id}


def error_response(status: int, message: str | list[str], correlation_id: str) -> web.Response:
    response = as_json(error_body(status, message, correlation_id), status)
    response.headers["X-Correlation-ID"] = correlation_id
    response.headers["Cache-Control"] = "none"
    return response


@web.middleware
async def foreground_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """The outermost middleware: while a request is in flight, the job runner's database work waits (for a
    bounded moment) instead of competing with it (appliance/foreground.py)."""
    with services(request).foreground.request():
        return await handler(request)


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    correlation_id = secrets.token_hex(8)
    request[CORRELATION_ID] = correlation_id
    try:
        response = await handler(request)
    except RequestValidationError as err:
        return error_response(400, err.messages, correlation_id)
    except ShoeboxError as err:
        return error_response(err.status, err.message, correlation_id)
    except web.HTTPException as err:
        if err.status < 400:
            raise
        message = "Not Found" if err.status == 404 else (err.text or err.reason)
        if err.status == 404 and request.path.startswith("/api/"):
            message = f"Cannot {request.method} {request.path}"
        if err.status == 413:
            message = "Request body too large"
        return error_response(err.status, message, correlation_id)
    except (ConnectionResetError, OSError) as err:
        if isinstance(err, ConnectionResetError) or request.transport is None or request.transport.is_closing():
            log.info("client went away during %s %s", request.method, request.path)
            raise
        log.exception("error on %s %s [%s]", request.method, request.path, correlation_id)
        return error_response(500, "Internal server error", correlation_id)
    except Exception:
        log.exception("error on %s %s [%s]", request.method, request.path, correlation_id)
        return error_response(500, "Internal server error", correlation_id)
    response.headers.setdefault("X-Correlation-ID", correlation_id)
    return response


def credentials_from(request: web.Request) -> Credentials:
    """Pull credentials out of headers, query and cookies, in Immich's precedence order."""
    headers, params, cookies = request.headers, request.query, request.cookies
    session_token = (
        headers.get("x-immich-user-token")
        or headers.get("x-immich-session-token")
        or params.get("sessionKey")
    )
    authorization = headers.get("Authorization", "")
    if not session_token and authorization[:7].lower() == "bearer ":
        session_token = authorization[7:].strip()
    if not session_token:
        session_token = cookies.get("immich_access_token")
    return Credentials(
        session_token=session_token or None,
        api_key=headers.get("x-api-key") or params.get("apiKey") or None,
        shared_link_key=headers.get("x-immich-share-key") or params.get("key") or None,
        shared_link_slug=headers.get("x-immich-share-slug") or params.get("slug") or None,
        shared_link_token=cookies.get("immich_shared_link_token") or params.get("token") or None,
        user_agent=headers.get("User-Agent", ""),
    )


def guarded(spec: RouteSpec) -> Handler:
    """Wrap a handler so it only runs for callers the route admits."""
    if spec.public:
        async def public(request: web.Request) -> web.StreamResponse:
            return await spec.handler(request)

        return public

    async def handler(request: web.Request) -> web.StreamResponse:
        svc = services(request)
        credentials = credentials_from(request)
        if not spec.shared_link and (credentials.shared_link_key or credentials.shared_link_slug):
            if not (credentials.session_token or credentials.api_key):
                raise Forbidden("Forbidden")
            credentials.shared_link_key = credentials.shared_link_slug = None
        context = await svc.auth.authenticate(credentials)
        if context.shared_link is not None and not spec.shared_link:
            raise Forbidden("Forbidden")
        svc.auth.require(context, spec.permission, admin=spec.admin)
        request[AUTH] = context
        return await spec.handler(request)

    return handler
