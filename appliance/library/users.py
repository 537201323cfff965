"""Users: the caller's own account, preferences, and admin user management."""

from __future__ import annotations

import copy
import json
from typing import Any

from appliance.clock import Clock, iso
from appliance.errors import BadRequest, Forbidden
from appliance.ids import uuid7
from appliance.library.auth import AuthService, hash_password
from appliance.library.context import AuthContext
from appliance.storage.records import UserRecord
from appliance.storage.users import SessionRepository, UserRepository

DEFAULT_PREFERENCES: dict[str, Any] = {
    "albums": {"defaultAssetOrder": "desc"},
    "cast": {"gCastEnabled": False},
    "download": {"archiveSize": 4 * 1024**3, "includeEmbeddedVideos": False},
    "emailNotifications": {"enabled": True, "albumInvite": True, "albumUpdate": True},
    "folders": {"enabled": False, "sidebarWeb": False},
    "memories": {"enabled": True, "duration": 5, "sidebarWeb": False},
    "people": {"enabled": True, "sidebarWeb": False},
    "purchase": {"showSupportBadge": True, "hideBuyButtonUntil": "2022-01-12T00:00:00.000Z"},
    "ratings": {"enabled": False},
    "recentlyAdded": {"sidebarWeb": False},
    "sharedLinks": {"enabled": True, "sidebarWeb": False},
    "tags": {"enabled": False, "sidebarWeb": False},
}


def merge_preferences(stored: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(DEFAULT_PREFERENCES)
    for section, values in stored.items():
        if section in merged and isinstance(values, dict):
            merged[section].update(values)
    return merged


class UserService:
    def __init__(self, users: UserRepository, sessions: SessionRepository, auth: AuthService, clock: Clock) -> None:
        self.users = users
        self.sessions = sessions
        self.auth = auth
        self.clock = clock

    async def get(self, user_id: str) -> UserRecord:
        user = await self.users.get(user_id)
        if user is None:
            raise BadRequest("User not found")
        return user

    async def list_users(self) -> list[UserRecord]:
        return await self.users.list_all()

    async def update_me(self, context: AuthContext, changes: dict[str, Any]) -> UserRecord:
        values: dict[str, Any] = {}
        if changes.get("email"):
            email = str(changes["email"]).strip().lower()
            if await self.users.email_taken(email, except_id=context.user.id):
                raise BadRequest("Email already in use by another account")
            values["email"] = email
        if changes.get("name"):
            values["name"] = changes["name"]
        if changes.get("password"):
            values["password_hash"] = await hash_password(changes["password"])
            values["should_change_password"] = 0
        if "avatarColor" in changes and changes["avatarColor"]:
            values["avatar_color"] = changes["avatarColor"]
        return await self._apply(context.user.id, values)

    async def _apply(self, user_id: str, values: dict[str, Any]) -> UserRecord:
        if values:
            values.update(updated_at=iso(self.clock()), update_id=uuid7())
            await self.users.update(user_id, values)
        user = await self.users.get(user_id, with_deleted=True)
        if user is None:
            raise BadRequest("User not found")
        return user

    async def preferences(self, user: UserRecord) -> dict[str, Any]:
        return merge_preferences(user.preferences_dict)

    async def update_preferences(self, context: AuthContext, changes: dict[str, Any]) -> dict[str, Any]:
        stored = context.user.preferences_dict
        for section, values in changes.items():
            if section == "avatar" and isinstance(values, dict) and values.get("color"):
                await self._apply(context.user.id, {"avatar_color": values["color"]})
                continue
            if section in DEFAULT_PREFERENCES and isinstance(values, dict):
                stored.setdefault(section, {}).update(values)
        await self._apply(context.user.id, {"preferences": json.dumps(stored)})
        return merge_preferences(stored)

    # --- admin -------------------------------------------------------------------------------
    async def admin_create(self, dto: dict[str, Any]) -> UserRecord:
        email = str(dto["email"]).strip().lower()
        if await self.users.email_taken(email):
            raise BadRequest("User exists")
        user = await self.auth.new_user_record(
            email=email,
            name=dto["name"],
            password=dto["password"],
            is_admin=bool(dto.get("isAdmin", False)),
            storage_label=dto.get("storageLabel"),
            quota_size_bytes=dto.get("quotaSizeInBytes"),
            should_change_password=bool(dto.get("shouldChangePassword", False)),
            avatar_color=dto.get("avatarColor"),
        )
        async with self.users.db.transaction() as conn:
            await self.users.insert(conn, user)
        return user

    async def admin_update(self, context: AuthContext, user_id: str, dto: dict[str, Any]) -> UserRecord:
        await self.get(user_id)
        values: dict[str, Any] = {}
        if "email" in dto and dto["email"]:
            email = str(dto["email"]).strip().lower()
            if await self.users.email_taken(email, except_id=user_id):
                raise BadRequest("Email already in use by another account")
            values["email"] = email
        if dto.get("name"):
            values["name"] = dto["name"]
        if dto.get("password"):
            values["password_hash"] = await hash_password(dto["password"])
        if "isAdmin" in dto and dto["isAdmin"] is not None:
            if user_id == context.user.id and not dto["isAdmin"]:
                raise BadRequest("Admin status can only be changed by another admin")
            values["is_admin"] = int(bool(dto["isAdmin"]))
        for key, column in (("storageLabel", "storage_label"), ("quotaSizeInBytes", "quota_size_bytes"),
                            ("avatarColor", "avatar_color")):
            if key in dto:
                values[column] = dto[key]
        if "shouldChangePassword" in dto and dto["shouldChangePassword"] is not None:
            values["should_change_password"] = int(bool(dto["shouldChangePassword"]))
        return await self._apply(user_id, values)

    async def admin_delete(self, context: AuthContext, user_id: str, force: bool) -> UserRecord:
        user = await self.get(user_id)
        if user.id == context.user.id:
            raise Forbidden("Cannot delete your own account")
        if user.is_admin and not force:
            # Immich refuses to delete the admin through this route as well
            raise Forbidden("Cannot delete admin user")
        now = iso(self.clock())
        await self.sessions.delete_for_user(user_id)
        if force:
            await self.users.delete(user_id)
            user.status, user.deleted_at = "deleted", now
            return user
        return await self._apply(user_id, {"deleted_at": now, "status": "deleted"})

    async def admin_restore(self, user_id: str) -> UserRecord:
        user = await self.users.get(user_id, with_deleted=True)
        if user is None:
            raise BadRequest("User not found")
        return await self._apply(user_id, {"deleted_at": None, "status": "active"})

    async def admin_get(self, user_id: str) -> UserRecord:
        user = await self.users.get(user_id, with_deleted=True)
        if user is None:
            raise BadRequest("User not found")
        return user

    async def admin_list(self, with_deleted: bool) -> list[UserRecord]:
        return await self.users.list_all(with_deleted=with_deleted)
