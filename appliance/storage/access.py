"""SQL behind the access rules: which of some asset ids a user owns, sees through an album, or sees as a
partner; and a user's role in an album. Ids are looked up in chunks to stay under SQLite's variable limit."""

from __future__ import annotations

from collections.abc import Sequence

from appliance.storage.db import Database

CHUNK = 500

VISIBLE_ALBUMS = (
    "SELECT al.id FROM albums al WHERE al.deleted_at IS NULL AND (al.owner_id = :user OR al.id IN"
    " (SELECT album_id FROM album_users WHERE user_id = :user))"
)


class AccessRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _matching(self, sql: str, user_id: str, ids: Sequence[str], *, by_key: bool = False) -> set[str]:
        """Run `sql` (with `:user` and an `{ids}` placeholder list) over `ids` in chunks; first column back.
        `by_key`: primary-key lookups, read as `Database.lookup` does (on the loop's thread) for a few ids."""
        found: set[str] = set()
        inline = by_key and len(ids) <= 16
        for start in range(0, len(ids), CHUNK):
            chunk = list(ids[start : start + CHUNK])
            names = {f"id{n}": value for n, value in enumerate(chunk)}
            placeholders = ", ".join(f":{name}" for name in names)
            fetch = self.db.lookup if inline else self.db.fetchall
            rows = await fetch(sql.format(ids=placeholders), {"user": user_id, **names})
            found.update(row[0] for row in rows)
        return found

    async def owned(self, user_id: str, ids: Sequence[str]) -> set[str]:
        return await self._matching(
            "SELECT id FROM assets WHERE owner_id = :user AND id IN ({ids})", user_id, ids, by_key=True
        )

    async def in_visible_albums(self, user_id: str, ids: Sequence[str]) -> set[str]:
        """Assets in an album the user owns or belongs to, and the videos of live photos there."""
        in_albums = await self._matching(
            "SELECT DISTINCT asset_id FROM album_assets WHERE album_id IN (" + VISIBLE_ALBUMS + ")"
            " AND asset_id IN ({ids})",
            user_id, ids,
        )
        live_videos = await self._matching(
            "SELECT a.live_photo_video_id FROM assets a JOIN album_assets aa ON aa.asset_id = a.id"
            " WHERE aa.album_id IN (" + VISIBLE_ALBUMS + ") AND a.live_photo_video_id IN ({ids})",
            user_id, ids,
        )
        return in_albums | live_videos

    async def shared_by_partners(self, user_id: str, ids: Sequence[str]) -> set[str]:
        return await self._matching(
            "SELECT a.id FROM assets a JOIN partners p ON p.shared_by_id = a.owner_id AND p.shared_with_id = :user"
            " WHERE a.id IN ({ids}) AND a.visibility IN ('timeline', 'archive')",
            user_id, ids,
        )

    async def album_role(self, user_id: str, album_id: str) -> str | None:
        """'owner', 'editor', 'viewer', or None when the user cannot see the album."""
        owner = await self.db.fetchval("SELECT owner_id FROM albums WHERE id = ? AND deleted_at IS NULL", (album_id,))
        if owner is None:
            return None
        if owner == user_id:
            return "owner"
        role = await self.db.fetchval(
            "SELECT role FROM album_users WHERE album_id = ? AND user_id = ?", (album_id, user_id)
        )
        return str(role) if role else None
