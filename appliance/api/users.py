"""Immich tags `Users` and `Users (admin)`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from appliance.api import dto
from appliance.api.common import Dto, as_json, auth, body, query, services, uuid_param
from appliance.api.routing import Router
from appliance.library.permissions import AVATAR_COLORS

router = Router()


class UserUpdateMeDto(Dto):
    email: str | None = None
    name: str | None = None
    password: str | None = None
    avatarColor: str | None = None


class UserAdminCreateDto(Dto):
    email: str
    name: str
    password: str
    isAdmin: bool = False
    storageLabel: str | None = None
    quotaSizeInBytes: int | None = None
    shouldChangePassword: bool = False
    avatarColor: str | None = None
    notify: bool = False


class UserAdminUpdateDto(Dto):
    email: str | None = None
    name: str | None = None
    password: str | None = None
    isAdmin: bool | None = None
    storageLabel: str | None = None
    quotaSizeInBytes: int | None = None
    shouldChangePassword: bool | None = None
    avatarColor: str | None = None


class UserAdminDeleteDto(Dto):
    force: bool = False


class UserAdminSearchDto(Dto):
    withDeleted: bool = False
    id: str | None = None


def _check_color(color: str | None) -> None:
    from appliance.api.common import RequestValidationError

    if color is not None and color not in AVATAR_COLORS:
        raise RequestValidationError([f"avatarColor must be one of: {', '.join(AVATAR_COLORS)}"])


def _changes(model: Dto) -> dict[str, Any]:
    return model.model_dump(exclude_unset=True)


@router.get("/users/me", permission="user.read")
async def get_me(request: web.Request) -> web.Response:
    return as_json(dto.user_admin(auth(request).user))


@router.put("/users/me", permission="user.update")
async def update_me(request: web.Request) -> web.Response:
    dto_in = await body(request, UserUpdateMeDto)
    _check_color(dto_in.avatarColor)
    user = await services(request).users.update_me(auth(request), _changes(dto_in))
    return as_json(dto.user_admin(user))


@router.get("/users/me/preferences", permission="userPreference.read")
async def get_my_preferences(request: web.Request) -> web.Response:
    return as_json(await services(request).users.preferences(auth(request).user))


@router.put("/users/me/preferences", permission="userPreference.update")
async def update_my_preferences(request: web.Request) -> web.Response:
    raw = await request.json() if request.can_read_body else {}
    if not isinstance(raw, dict):
        raw = {}
    return as_json(await services(request).users.update_preferences(auth(request), raw))


@router.get("/users/me/license", permission="userLicense.read")
async def get_my_license(request: web.Request) -> web.Response:
    from appliance.errors import NotFoundHttp

    raise NotFoundHttp("License not found")


@router.get("/users/me/onboarding", permission="userOnboarding.read")
async def get_my_onboarding(request: web.Request) -> web.Response:
    return as_json({"isOnboarded": True})


@router.put("/users/me/onboarding", permission="userOnboarding.update")
async def set_my_onboarding(request: web.Request) -> web.Response:
    return as_json({"isOnboarded": True})


@router.get("/users", permission="user.read")
async def list_users(request: web.Request) -> web.Response:
    return as_json([dto.user(u) for u in await services(request).users.list_users()])


@router.get("/users/{id}", permission="user.read")
async def get_user(request: web.Request) -> web.Response:
    return as_json(dto.user(await services(request).users.get(uuid_param(request))))


# --- admin ------------------------------------------------------------------------------------
@router.get("/admin/users", permission="adminUser.read", admin=True)
async def admin_list(request: web.Request) -> web.Response:
    params = query(request, UserAdminSearchDto)
    users = await services(request).users.admin_list(params.withDeleted)
    if params.id:
        users = [u for u in users if u.id == params.id]
    return as_json([dto.user_admin(u) for u in users])


@router.post("/admin/users", permission="adminUser.create", admin=True)
async def admin_create(request: web.Request) -> web.Response:
    dto_in = await body(request, UserAdminCreateDto)
    _check_color(dto_in.avatarColor)
    user = await services(request).users.admin_create(dto_in.model_dump())
    return as_json(dto.user_admin(user), status=201)


@router.get("/admin/users/{id}", permission="adminUser.read", admin=True)
async def admin_get(request: web.Request) -> web.Response:
    return as_json(dto.user_admin(await services(request).users.admin_get(uuid_param(request))))


@router.put("/admin/users/{id}", permission="adminUser.update", admin=True)
async def admin_update(request: web.Request) -> web.Response:
    dto_in = await body(request, UserAdminUpdateDto)
    _check_color(dto_in.avatarColor)
    user = await services(request).users.admin_update(auth(request), uuid_param(request), _changes(dto_in))
    return as_json(dto.user_admin(user))


@router.delete("/admin/users/{id}", permission="adminUser.delete", admin=True)
async def admin_delete(request: web.Request) -> web.Response:
    dto_in = await body(request, UserAdminDeleteDto)
    user = await services(request).users.admin_delete(auth(request), uuid_param(request), dto_in.force)
    return as_json(dto.user_admin(user))


@router.post("/admin/users/{id}/restore", permission="adminUser.delete", admin=True)
async def admin_restore(request: web.Request) -> web.Response:
    return as_json(dto.user_admin(await services(request).users.admin_restore(uuid_param(request))))


@router.get("/admin/users/{id}/preferences", permission="adminUser.read", admin=True)
async def admin_preferences(request: web.Request) -> web.Response:
    user = await services(request).users.admin_get(uuid_param(request))
    return as_json(await services(request).users.preferences(user))


@router.get("/admin/users/{id}/sessions", permission="adminSession.read", admin=True)
async def admin_sessions(request: web.Request) -> web.Response:
    user_id = uuid_param(request)
    sessions = await services(request).auth.sessions.list_for_user(user_id)
    return as_json([dto.session(s, None) for s in sessions])
