"""Who may touch what. Every id-taking route asks here; a foreign id looks exactly like a missing one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from appliance.library.auth import AuthContext
from appliance.storage.db import Database

READ, VIEW, DOWNLOAD, UPDATE, DELETE, SHARE = "read", "view", "download", "update", "delete", "share"


class AccessService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def asset_ids(self, context: AuthContext, ids: Iterable[str], action: str) -> set[str]:
        """The subset of `ids` the caller may perform `action` on."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return set()
        if context.shared_link is not None:
            allowed_by_link = await context.shared_link.allowed_asset_ids(wanted, action)
            return set(allowed_by_link)
        allowed = await self._owned(context.user_id, wanted)
        if action in (READ, VIEW, DOWNLOAD, SHARE):
            rest = [asset_id for asset_id in wanted if asset_id not in allowed]
            if rest:
                allowed |= await self._via_albums(context.user_id, rest)
            rest = [asset_id for asset_id in wanted if asset_id not in allowed]
            if rest:
                allowed |= await self._via_partners(context.user_id, rest)
        return allowed

    async def _owned(self, user_id: str, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ", ".join("?" for _ in chunk)
            rows = await self.db.fetchall(
                f"SELECT id FROM assets WHERE owner_id = ? AND id IN ({marks})", [user_id, *chunk]
            )
            found.update(row[0] for row in rows)
        return found

    async def _via_albums(self, user_id: str, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ", ".join("?" for _ in chunk)
            rows = await self.db.fetchall(
                "SELECT DISTINCT aa.asset_id FROM album_assets aa JOIN albums al ON al.id = aa.album_id"
                " WHERE al.deleted_at IS NULL AND (al.owner_id = ? OR al.id IN"
                f" (SELECT album_id FROM album_users WHERE user_id = ?)) AND aa.asset_id IN ({marks})",
                [user_id, user_id, *chunk],
            )
            found.update(row[0] for row in rows)
            # the still of a live photo lets you see its video too
            rows = await self.db.fetchall(
                "SELECT a.live_photo_video_id FROM assets a JOIN album_assets aa ON aa.asset_id = a.id"
                " JOIN albums al ON al.id = aa.album_id WHERE al.deleted_at IS NULL AND (al.owner_id = ? OR"
                " al.id IN (SELECT album_id FROM album_users WHERE user_id = ?))"
                f" AND a.live_photo_video_id IN ({marks})",
                [user_id, user_id, *chunk],
            )
            found.update(row[0] for row in rows)
        return found

    async def _via_partners(self, user_id: str, ids: Sequence[str]) -> set[str]:
        exists = await self.db.fetchval("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'partners'")
        if not exists:
            return set()
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ", ".join("?" for _ in chunk)
            rows = await self.db.fetchall(
                "SELECT a.id FROM assets a JOIN partners p ON p.shared_by_id = a.owner_id AND p.shared_with_id = ?"
                f" WHERE a.id IN ({marks}) AND a.visibility IN ('timeline', 'archive')",
                [user_id, *chunk],
            )
            found.update(row[0] for row in rows)
        return found

    async def album_role(self, context: AuthContext, album_id: str) -> str | None:
        """'owner', 'editor', 'viewer', or None when the caller cannot see the album."""
        if context.shared_link is not None:
            return await context.shared_link.album_role(album_id)
        row = await self.db.fetchone(
            "SELECT owner_id FROM albums WHERE id = ? AND deleted_at IS NULL", (album_id,)
        )
        if row is None:
            return None
        if row[0] == context.user_id:
            return "owner"
        role = await self.db.fetchval(
            "SELECT role FROM album_users WHERE album_id = ? AND user_id = ?", (album_id, context.user_id)
        )
        return str(role) if role else None
