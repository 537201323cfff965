"""SQL for search suggestions, explore (cities) and map markers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from appliance.storage.db import Database
from appliance.storage.records import AssetRecord, from_row

SUGGESTION_COLUMNS = {
    "country": "e.country", "state": "e.state", "city": "e.city",
    "camera-make": "e.make", "camera-model": "e.model", "camera-lens-model": "e.lens_model",
}
_VISIBLE = "a.deleted_at IS NULL AND a.visibility IN ('timeline', 'archive')"


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values) or "NULL"


class ExploreRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def suggestions(self, owner_ids: Sequence[str], kind: str, where: dict[str, str | None]) -> list[Any]:
        column = SUGGESTION_COLUMNS[kind]
        clauses = [f"a.owner_id IN ({_marks(owner_ids)})", _VISIBLE, f"{column} IS NOT NULL", f"{column} != ''"]
        params: list[Any] = list(owner_ids)
        for name, value in where.items():
            if value is not None:
                clauses.append(f"{SUGGESTION_COLUMNS[name]} = ?")
                params.append(value)
        rows = await self.db.fetchall(
            f"SELECT DISTINCT {column} FROM asset_exif e JOIN assets a ON a.id = e.asset_id"
            f" WHERE {' AND '.join(clauses)} ORDER BY {column}",
            params,
        )
        return [row[0] for row in rows]

    async def one_per_city(
        self, owner_ids: Sequence[str], *, limit: int, min_count: int
    ) -> list[tuple[str, AssetRecord]]:
        """The newest image of each city, cities with most photos first."""
        rows = await self.db.fetchall(
            "WITH c AS (SELECT e.city, a.id, row_number() OVER (PARTITION BY e.city ORDER BY a.file_created_at DESC)"
            " AS rn, count(*) OVER (PARTITION BY e.city) AS n FROM assets a JOIN asset_exif e ON e.asset_id = a.id"
            f" WHERE a.owner_id IN ({_marks(owner_ids)}) AND a.deleted_at IS NULL AND a.visibility = 'timeline'"
            " AND a.type = 'IMAGE' AND e.city IS NOT NULL AND e.city != '')"
            " SELECT c.city AS for_city, a.* FROM c JOIN assets a ON a.id = c.id WHERE c.rn = 1 AND c.n >= ?"
            " ORDER BY c.n DESC, c.city LIMIT ?",
            [*owner_ids, min_count, limit],
        )
        return [(row["for_city"], from_row(AssetRecord, row)) for row in rows]

    async def map_markers(
        self, owner_ids: Sequence[str], *, album_ids: Sequence[str] | None = None, is_archived: bool | None = None,
        is_favorite: bool | None = None, after: str | None = None, before: str | None = None,
    ) -> list[dict[str, Any]]:
        clauses = ["a.deleted_at IS NULL", "e.latitude IS NOT NULL", "e.longitude IS NOT NULL"]
        params: list[Any] = []
        owners = f"a.owner_id IN ({_marks(owner_ids)})"
        params += list(owner_ids)
        if album_ids:
            in_albums = f"SELECT asset_id FROM album_assets WHERE album_id IN ({_marks(album_ids)})"
            owners = f"({owners} OR a.id IN ({in_albums}))"
            params += list(album_ids)
        clauses.insert(0, owners)
        if is_archived is None:
            clauses.append("a.visibility IN ('timeline', 'archive')")
        else:
            clauses.append("a.visibility = ?")
            params.append("archive" if is_archived else "timeline")
        if is_favorite is not None:
            clauses.append("a.is_favorite = ?")
            params.append(int(is_favorite))
        if after:
            clauses.append("a.file_created_at >= ?")
            params.append(after)
        if before:
            clauses.append("a.file_created_at <= ?")
            params.append(before)
        rows = await self.db.fetchall(
            "SELECT a.id, e.latitude, e.longitude, e.city, e.state, e.country FROM assets a"
            f" JOIN asset_exif e ON e.asset_id = a.id WHERE {' AND '.join(clauses)} ORDER BY a.file_created_at DESC",
            params,
        )
        return [
            {"id": r[0], "lat": r[1], "lon": r[2], "city": r[3], "state": r[4], "country": r[5]} for r in rows
        ]

    async def album_map_markers(self, album_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT a.id, e.latitude, e.longitude, e.city, e.state, e.country FROM album_assets aa"
            " JOIN assets a ON a.id = aa.asset_id JOIN asset_exif e ON e.asset_id = a.id"
            f" WHERE aa.album_id = ? AND {_VISIBLE} AND e.latitude IS NOT NULL AND e.longitude IS NOT NULL"
            " ORDER BY a.file_created_at DESC",
            (album_id,),
        )
        return [
            {"id": r[0], "lat": r[1], "lon": r[2], "city": r[3], "state": r[4], "country": r[5]} for r in rows
        ]

    async def sizes(self, asset_ids: Sequence[str]) -> dict[str, int]:
        """File size per asset id (downloads plan archives without loading whole rows)."""
        found: dict[str, int] = {}
        for start in range(0, len(asset_ids), 500):
            chunk = list(asset_ids[start : start + 500])
            rows = await self.db.fetchall(f"SELECT id, file_size FROM assets WHERE id IN ({_marks(chunk)})", chunk)
            found.update((row[0], int(row[1])) for row in rows)
        return found

    async def library_ids(self, owner_id: str) -> list[str]:
        """Every photo and video of an owner outside the trash and the locked folder, oldest first."""
        rows = await self.db.fetchall(
            f"SELECT a.id FROM assets a WHERE a.owner_id = ? AND {_VISIBLE} ORDER BY a.file_created_at", (owner_id,)
        )
        return [row[0] for row in rows]

    async def random_image_ids(self, owner_id: str, *, favorites: bool, limit: int) -> list[str]:
        """A random pick of an owner's timeline photos, across the whole library (one scan of the covering
        timeline index per call; the frame asks once per round of `limit` photos)."""
        favourite = " AND a.is_favorite = 1" if favorites else ""
        rows = await self.db.fetchall(
            "SELECT a.id FROM assets a WHERE a.owner_id = ? AND a.visibility = 'timeline' AND a.deleted_at IS NULL"
            f" AND a.type = 'IMAGE'{favourite} ORDER BY random() LIMIT ?",
            (owner_id, limit),
        )
        return [row[0] for row in rows]

    async def shared_album_ids(self, user_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT id FROM albums WHERE deleted_at IS NULL AND (owner_id = ? OR id IN"
            " (SELECT album_id FROM album_users WHERE user_id = ?))",
            (user_id, user_id),
        )
        return [row[0] for row in rows]
