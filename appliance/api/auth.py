"""Immich tags `Authentication`, `API keys` and `Sessions`."""

from __future__ import annotations

from aiohttp import web

from appliance.api import dto
from appliance.api.common import Dto, as_json, auth, body, no_content, services, uuid_param
from appliance.api.routing import Router
from appliance.library.auth import LoginResult

router = Router()

COOKIE_MAX_AGE = 400 * 24 * 3600


class LoginDto(Dto):
    email: str
    password: str


class SignUpDto(Dto):
    email: str
    name: str
    password: str


class ChangePasswordDto(Dto):
    password: str
    newPassword: str
    invalidateSessions: bool = False


class ApiKeyCreateDto(Dto):
    name: str | None = None
    permissions: list[str]


class ApiKeyUpdateDto(Dto):
    name: str | None = None
    permissions: list[str] | None = None


def _set_auth_cookies(request: web.Request, response: web.Response, token: str) -> None:
    secure = request.secure
    for name, value, http_only in (
        ("immich_access_token", token, True),
        ("immich_auth_type", "password", True),
        ("immich_is_authenticated", "true", False),
    ):
        response.set_cookie(name, value, max_age=COOKIE_MAX_AGE, path="/", samesite="Lax",
                            httponly=http_only, secure=secure)


def _login_response(result: LoginResult) -> dict[str, object]:
    return {
        "accessToken": result.token,
        "userId": result.user.id,
        "userEmail": result.user.email,
        "name": result.user.name,
        "isAdmin": bool(result.user.is_admin),
        "profileImagePath": result.user.profile_image_path or "",
        "shouldChangePassword": bool(result.user.should_change_password),
        "isOnboarded": True,
    }


@router.post("/auth/admin-sign-up", public=True)
async def admin_sign_up(request: web.Request) -> web.Response:
    dto_in = await body(request, SignUpDto)
    user = await services(request).auth.sign_up_admin(email=dto_in.email, name=dto_in.name, password=dto_in.password)
    return as_json(dto.user_admin(user), status=201)


@router.post("/auth/login", public=True)
async def login(request: web.Request) -> web.Response:
    dto_in = await body(request, LoginDto)
    result = await services(request).auth.login(dto_in.email, dto_in.password, request.headers.get("User-Agent", ""))
    response = as_json(_login_response(result), status=201)
    _set_auth_cookies(request, response, result.token)
    return response


@router.post("/auth/logout")
async def logout(request: web.Request) -> web.Response:
    await services(request).auth.logout(auth(request))
    response = as_json({"successful": True, "redirectUri": "/auth/login?autoLaunch=0"})
    for name in ("immich_access_token", "immich_auth_type", "immich_is_authenticated"):
        response.del_cookie(name, path="/")
    return response


@router.post("/auth/validateToken")
async def validate_token(request: web.Request) -> web.Response:
    return as_json({"authStatus": True})


@router.get("/auth/status")
async def auth_status(request: web.Request) -> web.Response:
    context = auth(request)
    return as_json({"pinCode": bool(context.user.pin_code_hash), "password": bool(context.user.password_hash),
                    "isElevated": False})


@router.post("/auth/change-password", permission="auth.changePassword")
async def change_password(request: web.Request) -> web.Response:
    dto_in = await body(request, ChangePasswordDto)
    user = await services(request).auth.change_password(
        auth(request), dto_in.password, dto_in.newPassword, dto_in.invalidateSessions
    )
    return as_json(dto.user_admin(user))


# --- API keys ----------------------------------------------------------------------------------
@router.post("/api-keys", permission="apiKey.create")
async def create_api_key(request: web.Request) -> web.Response:
    dto_in = await body(request, ApiKeyCreateDto)
    record, secret = await services(request).auth.create_api_key(auth(request), dto_in.name, dto_in.permissions)
    shaped = dto.api_key(record)
    return as_json({"apiKey": shaped, "secret": secret, **shaped}, status=201)


@router.get("/api-keys", permission="apiKey.read")
async def list_api_keys(request: web.Request) -> web.Response:
    keys = await services(request).auth.api_keys.list_for_user(auth(request).user_id)
    return as_json([dto.api_key(key) for key in keys])


@router.get("/api-keys/me")
async def my_api_key(request: web.Request) -> web.Response:
    return as_json(dto.api_key(await services(request).auth.current_api_key(auth(request))))


@router.get("/api-keys/{id}", permission="apiKey.read")
async def get_api_key(request: web.Request) -> web.Response:
    key = await services(request).auth.get_api_key(auth(request), uuid_param(request))
    return as_json(dto.api_key(key))


@router.put("/api-keys/{id}", permission="apiKey.update")
async def update_api_key(request: web.Request) -> web.Response:
    dto_in = await body(request, ApiKeyUpdateDto)
    key = await services(request).auth.update_api_key(auth(request), uuid_param(request), dto_in.name,
                                                       dto_in.permissions)
    return as_json(dto.api_key(key))


@router.post("/api-keys/{id}/rotate", permission="apiKey.update")
async def rotate_api_key(request: web.Request) -> web.Response:
    record, secret = await services(request).auth.rotate_api_key(auth(request), uuid_param(request))
    shaped = dto.api_key(record)
    return as_json({"apiKey": shaped, "secret": secret, **shaped})


@router.delete("/api-keys/{id}", permission="apiKey.delete")
async def delete_api_key(request: web.Request) -> web.Response:
    await services(request).auth.delete_api_key(auth(request), uuid_param(request))
    return no_content()


# --- sessions ----------------------------------------------------------------------------------
@router.get("/sessions", permission="session.read")
async def list_sessions(request: web.Request) -> web.Response:
    context = auth(request)
    current = context.session.id if context.session else None
    return as_json([dto.session(s, current) for s in await services(request).auth.list_sessions(context)])


class SessionCreateDto(Dto):
    deviceOS: str = ""
    deviceType: str = ""
    duration: float | None = None


class SessionUpdateDto(Dto):
    isPendingSyncReset: bool | None = None


@router.post("/sessions", permission="session.create")
async def create_session(request: web.Request) -> web.Response:
    dto_in = await body(request, SessionCreateDto)
    session, token = await services(request).auth.create_child_session(
        auth(request), dto_in.deviceType, dto_in.deviceOS, dto_in.duration
    )
    return as_json({**dto.session(session, None), "token": token}, status=201)


@router.put("/sessions/{id}", permission="session.update")
async def update_session(request: web.Request) -> web.Response:
    dto_in = await body(request, SessionUpdateDto)
    context = auth(request)
    session = await services(request).auth.update_session(context, uuid_param(request), dto_in.isPendingSyncReset)
    return as_json(dto.session(session, context.session.id if context.session else None))


@router.post("/sessions/{id}/lock", permission="session.lock")
async def lock_session(request: web.Request) -> web.Response:
    await services(request).auth.lock_session(auth(request), uuid_param(request))
    return no_content()


@router.delete("/sessions", permission="session.delete")
async def delete_other_sessions(request: web.Request) -> web.Response:
    await services(request).auth.delete_other_sessions(auth(request))
    return no_content()


@router.delete("/sessions/{id}", permission="session.delete")
async def delete_session(request: web.Request) -> web.Response:
    await services(request).auth.delete_session(auth(request), uuid_param(request))
    return no_content()
