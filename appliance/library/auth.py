"""Who is calling: sign-up, login, sessions, API keys and permission checks.

Passwords are bcrypt hashes; session tokens and API keys are random secrets of which only the SHA-256 is
stored, as Immich does, so a copied database does not hand out access.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import bcrypt

from appliance.clock import Clock, iso
from appliance.errors import BadRequest, Forbidden, Unauthorized
from appliance.ids import new_id, uuid7
from appliance.library.context import AuthContext
from appliance.library.permissions import ALL, AVATAR_COLORS, PERMISSIONS
from appliance.storage.records import ApiKeyRecord, SessionRecord, UserRecord
from appliance.storage.users import ApiKeyRepository, SessionRepository, UserRepository

BCRYPT_ROUNDS = 10


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(
        lambda: bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_ROUNDS)).decode()
    )


async def check_password(password: str, hashed: str) -> bool:
    if not hashed:
        return False
    return await asyncio.to_thread(lambda: bcrypt.checkpw(password.encode(), hashed.encode()))


@dataclass
class Credentials:
    """What a request presented, already pulled out of headers, query and cookies by the API layer."""

    session_token: str | None = None
    api_key: str | None = None
    shared_link_key: str | None = None
    shared_link_slug: str | None = None
    shared_link_token: str | None = None  # proof of a shared link's password (cookie from /shared-links/login)
    user_agent: str = ""


@dataclass
class LoginResult:
    token: str
    user: UserRecord
    session: SessionRecord


class AuthService:
    def __init__(
        self,
        users: UserRepository,
        sessions: SessionRepository,
        api_keys: ApiKeyRepository,
        clock: Clock,
        shared_links: Any = None,
    ) -> None:
        self.users = users
        self.sessions = sessions
        self.api_keys = api_keys
        self.clock = clock
        self.shared_links = shared_links

    # --- users and passwords -------------------------------------------------------------------
    async def new_user_record(
        self,
        *,
        email: str,
        name: str,
        password: str,
        is_admin: bool,
        storage_label: str | None = None,
        quota_size_bytes: int | None = None,
        should_change_password: bool = False,
        avatar_color: str | None = None,
    ) -> UserRecord:
        now = iso(self.clock())
        user_id = new_id()
        return UserRecord(
            id=user_id,
            email=email.strip().lower(),
            name=name,
            password_hash=await hash_password(password) if password else "",
            is_admin=int(is_admin),
            avatar_color=avatar_color or AVATAR_COLORS[int(hashlib.sha1(user_id.encode()).hexdigest(), 16) % 10],
            storage_label=storage_label,
            quota_size_bytes=quota_size_bytes,
            quota_usage_bytes=0,
            should_change_password=int(should_change_password),
            profile_image_path="",
            profile_changed_at=now,
            pin_code_hash=None,
            preferences="{}",
            status="active",
            created_at=now,
            updated_at=now,
            deleted_at=None,
            update_id=uuid7(),
        )

    async def sign_up_admin(self, *, email: str, name: str, password: str) -> UserRecord:
        if await self.users.admin_exists():
            raise BadRequest("The server already has an admin")
        if await self.users.email_taken(email.strip().lower()):
            raise BadRequest("User exists")
        user = await self.new_user_record(
            email=email, name=name, password=password, is_admin=True, storage_label="admin"
        )
        async with self.users.db.transaction() as conn:
            # re-check inside the writer lock: two racing sign-ups must not both succeed
            if await self.users.admin_exists_in(conn):
                raise BadRequest("The server already has an admin")
            await self.users.insert(conn, user)
        return user

    async def login(self, email: str, password: str, user_agent: str = "") -> LoginResult:
        user = await self.users.get_by_email(email.strip().lower())
        if user is None or not await check_password(password, user.password_hash):
            raise Unauthorized("Incorrect email or password")
        return await self.create_session(user, user_agent)

    async def create_session(self, user: UserRecord, user_agent: str = "") -> LoginResult:
        token = secrets.token_urlsafe(32)
        now = iso(self.clock())
        device_type, device_os = describe_user_agent(user_agent)
        session = SessionRecord(
            id=new_id(),
            user_id=user.id,
            token_hash=hash_secret(token),
            device_type=device_type,
            device_os=device_os,
            app_version=None,
            created_at=now,
            updated_at=now,
            expires_at=None,
            is_pending_sync_reset=0,
            pin_expires_at=None,
        )
        await self.sessions.insert(session)
        return LoginResult(token=token, user=user, session=session)

    async def logout(self, context: AuthContext) -> None:
        if context.session is not None:
            await self.sessions.delete(context.session.id)

    async def change_password(
        self, context: AuthContext, password: str, new_password: str, invalidate_sessions: bool
    ) -> UserRecord:
        if not await check_password(password, context.user.password_hash):
            raise BadRequest("Wrong password")
        now = iso(self.clock())
        await self.users.update(
            context.user.id,
            {"password_hash": await hash_password(new_password), "should_change_password": 0,
             "updated_at": now, "update_id": uuid7()},
        )
        if invalidate_sessions:
            keep = context.session.id if context.session else None
            await self.sessions.delete_for_user(context.user.id, except_id=keep)
        user = await self.users.get(context.user.id)
        assert user is not None
        return user

    # --- request authentication ----------------------------------------------------------------
    async def authenticate(self, credentials: Credentials) -> AuthContext:
        """Resolve credentials in Immich's order: shared link, session token, API key."""
        if credentials.shared_link_key or credentials.shared_link_slug:
            if self.shared_links is None:
                raise Unauthorized("Invalid share key")
            context: AuthContext = await self.shared_links.authenticate(
                credentials.shared_link_key, credentials.shared_link_slug, credentials.shared_link_token
            )
            return context
        if credentials.session_token:
            session = await self.sessions.get_by_token_hash(hash_secret(credentials.session_token))
            user = await self.users.get(session.user_id) if session else None
            if session is None or user is None:
                raise Unauthorized("Invalid user token")
            if session.expires_at and session.expires_at < iso(self.clock()):
                raise Unauthorized("Invalid user token")
            await self._record_activity(session, credentials.user_agent)
            return AuthContext(user=user, session=session)
        if credentials.api_key:
            key = await self.api_keys.get_by_hash(hash_secret(credentials.api_key))
            user = await self.users.get(key.user_id) if key else None
            if key is None or user is None:
                raise Unauthorized("Invalid API key")
            return AuthContext(user=user, api_key=key)
        raise Unauthorized("Authentication required")

    async def _record_activity(self, session: SessionRecord, user_agent: str) -> None:
        """Refresh the session's last use and device, at most hourly (as Immich does)."""
        now = self.clock()
        if session.updated_at > iso(now.replace(microsecond=0) - _HOUR):
            return
        device_type, device_os = describe_user_agent(user_agent)
        await self.sessions.touch(
            session.id,
            {"updated_at": iso(now), "device_type": device_type or session.device_type,
             "device_os": device_os or session.device_os},
        )

    @staticmethod
    def require(context: AuthContext, permission: str | None, *, admin: bool = False) -> None:
        if admin and not context.user.is_admin:
            raise Forbidden("Forbidden")
        if permission and not context.has_permission(permission):
            raise Forbidden(f"Missing required permission: {permission}")

    # --- API keys -------------------------------------------------------------------------------
    async def create_api_key(
        self, context: AuthContext, name: str | None, permissions: list[str]
    ) -> tuple[ApiKeyRecord, str]:
        self._check_permissions(permissions)
        if context.api_key is not None:
            # a key can only mint keys with permissions it has itself
            for permission in permissions:
                if not context.has_permission(permission) and ALL not in context.api_key.permission_list:
                    raise BadRequest("Cannot grant permissions you do not have")
        secret = secrets.token_urlsafe(32)
        now = iso(self.clock())
        key = ApiKeyRecord(
            id=new_id(),
            user_id=context.user.id,
            name=name or "API Key",
            key_hash=hash_secret(secret),
            permissions=json.dumps(permissions),
            created_at=now,
            updated_at=now,
        )
        await self.api_keys.insert(key)
        return key, secret

    @staticmethod
    def _check_permissions(permissions: list[str]) -> None:
        if not permissions:
            raise BadRequest("permissions must contain at least 1 elements")
        unknown = [p for p in permissions if p not in PERMISSIONS]
        if unknown:
            raise BadRequest(f"permissions must be one of the Permission values: {', '.join(unknown)}")

    async def get_api_key(self, context: AuthContext, key_id: str) -> ApiKeyRecord:
        key = await self.api_keys.get(context.user.id, key_id)
        if key is None:
            raise BadRequest("API Key not found")
        return key

    async def current_api_key(self, context: AuthContext) -> ApiKeyRecord:
        if context.api_key is None:
            raise Forbidden("Not authenticated with an API Key")
        return context.api_key

    async def update_api_key(
        self, context: AuthContext, key_id: str, name: str | None, permissions: list[str] | None
    ) -> ApiKeyRecord:
        await self.get_api_key(context, key_id)
        values: dict[str, Any] = {"updated_at": iso(self.clock())}
        if name is not None:
            values["name"] = name
        if permissions is not None:
            self._check_permissions(permissions)
            values["permissions"] = json.dumps(permissions)
        await self.api_keys.update(key_id, values)
        return await self.get_api_key(context, key_id)

    async def rotate_api_key(self, context: AuthContext, key_id: str) -> tuple[ApiKeyRecord, str]:
        await self.get_api_key(context, key_id)
        secret = secrets.token_urlsafe(32)
        await self.api_keys.update(key_id, {"key_hash": hash_secret(secret), "updated_at": iso(self.clock())})
        return await self.get_api_key(context, key_id), secret

    async def delete_api_key(self, context: AuthContext, key_id: str) -> None:
        await self.get_api_key(context, key_id)
        await self.api_keys.delete(key_id)

    # --- sessions -------------------------------------------------------------------------------
    async def list_sessions(self, context: AuthContext) -> list[SessionRecord]:
        return await self.sessions.list_for_user(context.user.id)

    async def delete_session(self, context: AuthContext, session_id: str) -> None:
        session = await self.sessions.get(session_id)
        if session is None or session.user_id != context.user.id:
            raise BadRequest("Not found or no session.delete access")
        await self.sessions.delete(session_id)

    async def _own_session(self, context: AuthContext, session_id: str, action: str) -> SessionRecord:
        session = await self.sessions.get(session_id)
        if session is None or session.user_id != context.user.id:
            raise BadRequest(f"Not found or no session.{action} access")
        return session

    async def create_child_session(
        self, context: AuthContext, device_type: str, device_os: str, duration_seconds: float | None
    ) -> tuple[SessionRecord, str]:
        """POST /sessions: a new session for the caller's user (casting, a second device)."""
        if context.session is None:
            raise BadRequest("This endpoint can only be used with a session token")
        result = await self.create_session(context.user)
        values: dict[str, Any] = {"device_type": device_type, "device_os": device_os}
        if duration_seconds:
            values["expires_at"] = iso(self.clock() + timedelta(seconds=duration_seconds))
        await self.sessions.touch(result.session.id, values)
        session = await self.sessions.get(result.session.id)
        assert session is not None
        return session, result.token

    async def update_session(
        self, context: AuthContext, session_id: str, pending_sync_reset: bool | None
    ) -> SessionRecord:
        await self._own_session(context, session_id, "update")
        if pending_sync_reset is not None:
            await self.sessions.touch(session_id, {"is_pending_sync_reset": int(pending_sync_reset)})
        session = await self.sessions.get(session_id)
        assert session is not None
        return session

    async def lock_session(self, context: AuthContext, session_id: str) -> None:
        await self._own_session(context, session_id, "lock")
        await self.sessions.touch(session_id, {"pin_expires_at": None})

    async def delete_other_sessions(self, context: AuthContext) -> None:
        await self.sessions.delete_for_user(
            context.user.id, except_id=context.session.id if context.session else None
        )


_HOUR = timedelta(hours=1)


def describe_user_agent(user_agent: str) -> tuple[str, str]:
    """(deviceType, deviceOS) from a User-Agent, roughly as Immich shows them in its session list."""
    ua = user_agent or ""
    lowered = ua.lower()
    if lowered.startswith("immich_android"):
        return "Mobile", "Android"
    if lowered.startswith("immich_ios"):
        return "Mobile", "iOS"
    os_name = next(
        (name for key, name in (("android", "Android"), ("iphone", "iOS"), ("ipad", "iOS"),
                                ("windows", "Windows"), ("mac os", "macOS"), ("linux", "Linux")) if key in lowered),
        "",
    )
    browser = next(
        (name for key, name in (("firefox", "Firefox"), ("edg/", "Edge"), ("chrome", "Chrome"),
                                ("safari", "Safari"), ("node", "Node.js"), ("python", "Python")) if key in lowered),
        "",
    )
    return browser, os_name
