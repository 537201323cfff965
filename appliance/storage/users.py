"""SQL for users, sessions and API keys."""

from __future__ import annotations

from typing import Any

import aiosqlite

from appliance.ids import uuid7
from appliance.storage.db import Database
from appliance.storage.records import ApiKeyRecord, SessionRecord, UserRecord, from_row

_USER_COLUMNS = {
    "email", "name", "password_hash", "is_admin", "avatar_color", "storage_label", "quota_size_bytes",
    "quota_usage_bytes", "should_change_password", "profile_image_path", "profile_changed_at", "pin_code_hash",
    "preferences", "status", "updated_at", "deleted_at", "update_id",
}


def _assignments(values: dict[str, Any], allowed: set[str]) -> tuple[str, list[Any]]:
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"unknown columns {sorted(unknown)}")
    return ", ".join(f"{name} = ?" for name in values), list(values.values())


class UserRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, conn: aiosqlite.Connection, user: UserRecord) -> None:
        values = vars(user)
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        await conn.execute(f"INSERT INTO users ({columns}) VALUES ({marks})", list(values.values()))

    async def get(self, user_id: str, *, with_deleted: bool = False) -> UserRecord | None:
        where = "" if with_deleted else " AND deleted_at IS NULL"
        rows = await self.db.lookup(f"SELECT * FROM users WHERE id = ?{where}", (user_id,))
        return from_row(UserRecord, rows[0]) if rows else None

    async def get_by_email(self, email: str) -> UserRecord | None:
        row = await self.db.fetchone("SELECT * FROM users WHERE email = ? AND deleted_at IS NULL", (email,))
        return from_row(UserRecord, row) if row else None

    async def email_taken(self, email: str, *, except_id: str | None = None) -> bool:
        row = await self.db.fetchone("SELECT id FROM users WHERE email = ?", (email,))
        return row is not None and row["id"] != except_id

    async def list_all(self, *, with_deleted: bool = False) -> list[UserRecord]:
        where = "" if with_deleted else " WHERE deleted_at IS NULL"
        rows = await self.db.fetchall(f"SELECT * FROM users{where} ORDER BY created_at")
        return [from_row(UserRecord, row) for row in rows]

    async def admin_exists_in(self, conn: aiosqlite.Connection) -> bool:
        """The same question inside an open write transaction (so two racing sign-ups cannot both win)."""
        async with conn.execute("SELECT 1 FROM users WHERE is_admin = 1") as cursor:
            return await cursor.fetchone() is not None

    async def admin_exists(self) -> bool:
        return bool(await self.db.fetchval("SELECT EXISTS(SELECT 1 FROM users WHERE is_admin = 1)"))

    async def first_admin(self) -> UserRecord | None:
        row = await self.db.fetchone(
            "SELECT * FROM users WHERE is_admin = 1 AND deleted_at IS NULL ORDER BY created_at LIMIT 1"
        )
        return from_row(UserRecord, row) if row else None

    async def update(self, user_id: str, values: dict[str, Any]) -> None:
        sql, params = _assignments(values, _USER_COLUMNS)
        await self.db.execute(f"UPDATE users SET {sql} WHERE id = ?", [*params, user_id])

    async def delete(self, user_id: str) -> None:
        await self.db.execute("DELETE FROM users WHERE id = ?", (user_id,))

    async def add_usage(self, conn: aiosqlite.Connection, user_id: str, delta: int) -> None:
        # a new update id: the app's AuthUserV1 carries the usage
        await conn.execute(
            "UPDATE users SET quota_usage_bytes = max(0, quota_usage_bytes + ?), update_id = ? WHERE id = ?",
            (delta, uuid7(), user_id),
        )


class SessionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, session: SessionRecord) -> None:
        values = vars(session)
        await self.db.execute(
            f"INSERT INTO sessions ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
            list(values.values()),
        )

    async def get_by_token_hash(self, token_hash: str) -> SessionRecord | None:
        rows = await self.db.lookup("SELECT * FROM sessions WHERE token_hash = ?", (token_hash,))
        return from_row(SessionRecord, rows[0]) if rows else None

    async def get(self, session_id: str) -> SessionRecord | None:
        row = await self.db.fetchone("SELECT * FROM sessions WHERE id = ?", (session_id,))
        return from_row(SessionRecord, row) if row else None

    async def list_for_user(self, user_id: str) -> list[SessionRecord]:
        rows = await self.db.fetchall(
            "SELECT * FROM sessions WHERE user_id = ? ORDER BY updated_at DESC", (user_id,)
        )
        return [from_row(SessionRecord, row) for row in rows]

    async def touch(self, session_id: str, values: dict[str, Any]) -> None:
        sql, params = _assignments(
            values, {"updated_at", "device_type", "device_os", "app_version", "is_pending_sync_reset",
                     "pin_expires_at", "expires_at"}
        )
        await self.db.execute(f"UPDATE sessions SET {sql} WHERE id = ?", [*params, session_id])

    async def delete(self, session_id: str) -> None:
        await self.db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    async def delete_for_user(self, user_id: str, *, except_id: str | None = None) -> None:
        await self.db.execute(
            "DELETE FROM sessions WHERE user_id = ? AND id IS NOT ?", (user_id, except_id)
        )


class ApiKeyRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, key: ApiKeyRecord) -> None:
        values = vars(key)
        await self.db.execute(
            f"INSERT INTO api_keys ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
            list(values.values()),
        )

    async def get_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        rows = await self.db.lookup("SELECT * FROM api_keys WHERE key_hash = ?", (key_hash,))
        return from_row(ApiKeyRecord, rows[0]) if rows else None

    async def get(self, user_id: str, key_id: str) -> ApiKeyRecord | None:
        row = await self.db.fetchone("SELECT * FROM api_keys WHERE id = ? AND user_id = ?", (key_id, user_id))
        return from_row(ApiKeyRecord, row) if row else None

    async def list_for_user(self, user_id: str) -> list[ApiKeyRecord]:
        rows = await self.db.fetchall("SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at", (user_id,))
        return [from_row(ApiKeyRecord, row) for row in rows]

    async def update(self, key_id: str, values: dict[str, Any]) -> None:
        sql, params = _assignments(values, {"name", "permissions", "key_hash", "updated_at"})
        await self.db.execute(f"UPDATE api_keys SET {sql} WHERE id = ?", [*params, key_id])

    async def delete(self, key_id: str) -> None:
        await self.db.execute("DELETE FROM api_keys WHERE id = ?", (key_id,))
