"""SQL for assets, their EXIF rows, their generated files and upload intents."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from appliance.ids import uuid7
from appliance.storage.db import Database
from appliance.storage.records import AssetRecord, ExifRecord, from_row, from_rows

_UPDATABLE = {
    "file_created_at", "file_modified_at", "local_date_time", "updated_at", "deleted_at", "visibility",
    "is_favorite", "is_offline", "duration_ms", "width", "height", "thumbhash", "live_photo_video_id",
    "stack_id", "encoded_video_path", "sidecar_path", "has_metadata", "update_id", "is_edited",
}


@dataclass
class AssetQuery:
    """What `/search/metadata` and friends ask for. None means "don't filter"."""

    owner_ids: Sequence[str]
    ids: Sequence[str] | None = None
    album_ids: Sequence[str] | None = None
    type: str | None = None
    is_favorite: bool | None = None
    is_offline: bool | None = None
    is_encoded: bool | None = None
    is_motion: bool | None = None
    trashed: bool | None = False          # False: not in trash; True: only trash; None: both
    visibility: str | None = None         # None: timeline + archive (everything but hidden/locked)
    with_hidden: bool = False
    original_file_name: str | None = None
    original_path: str | None = None
    checksum: bytes | None = None
    device_id: str | None = None
    device_asset_id: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    make: str | None = None
    model: str | None = None
    lens_model: str | None = None
    description: str | None = None
    rating: int | None = None
    taken_after: str | None = None
    taken_before: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    updated_after: str | None = None
    updated_before: str | None = None
    trashed_after: str | None = None
    trashed_before: str | None = None
    order_desc: bool = True
    join_exif: bool = False                # an extra_where clause reads `e.` (asset_exif)
    min_file_size: int | None = None
    order_by_size: bool = False
    extra_where: list[tuple[str, list[Any]]] = field(default_factory=list)


def _in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    return f"{column} IN ({', '.join('?' for _ in values)})", list(values)


def build_where(query: AssetQuery) -> tuple[str, list[Any], bool]:
    """The WHERE clause, its parameters, and whether the EXIF table must be joined."""
    clauses: list[str] = []
    params: list[Any] = []
    join_exif = query.join_exif

    def add(sql: str, *values: Any) -> None:
        clauses.append(sql)
        params.extend(values)

    if not query.owner_ids:
        add("0")
    else:
        sql, values = _in("a.owner_id", query.owner_ids)
        add(sql, *values)
    if query.ids is not None:
        sql, values = _in("a.id", query.ids or [""])
        add(sql, *values)
    if query.album_ids:
        sql, values = _in("aa.album_id", query.album_ids)
        add(f"a.id IN (SELECT aa.asset_id FROM album_assets aa WHERE {sql})", *values)
    if query.type:
        add("a.type = ?", query.type)
    if query.is_favorite is not None:
        # a literal, not a parameter: only then can SQLite use the partial index of favourites
        add(f"a.is_favorite = {int(bool(query.is_favorite))}")
    if query.is_offline is not None:
        add("a.is_offline = ?", int(query.is_offline))
    if query.is_encoded is not None:
        add("a.encoded_video_path IS NOT NULL" if query.is_encoded else "a.encoded_video_path IS NULL")
    if query.is_motion is not None:
        add("a.live_photo_video_id IS NOT NULL" if query.is_motion else "a.live_photo_video_id IS NULL")
    if query.trashed is True:
        add("a.deleted_at IS NOT NULL")
    elif query.trashed is False:
        add("a.deleted_at IS NULL")
    if query.visibility:
        add("a.visibility = ?", query.visibility)
    elif not query.with_hidden:
        add("a.visibility IN ('timeline', 'archive')")
    exact_filters: tuple[tuple[str, object], ...] = (
        ("a.original_path", query.original_path),
        ("a.checksum", query.checksum),
        ("a.device_id", query.device_id),
        ("a.device_asset_id", query.device_asset_id),
    )
    for column, value in exact_filters:
        if value is not None:
            add(f"{column} = ?", value)
    if query.original_file_name:
        add("a.original_file_name LIKE ? ESCAPE '\\'", f"%{_escape_like(query.original_file_name)}%")
    if query.city is not None:
        add("a.exif_city = ?", query.city)  # asset_exif.city, copied onto the asset (0008_browse_speed.sql)
    exif_filters: tuple[tuple[str, object], ...] = (
        ("e.state", query.state), ("e.country", query.country), ("e.make", query.make),
        ("e.model", query.model), ("e.lens_model", query.lens_model), ("e.rating", query.rating),
    )
    for column, value in exif_filters:
        if value is not None:
            join_exif = True
            add(f"{column} = ?", value)
    if query.description:
        join_exif = True
        add("e.description LIKE ? ESCAPE '\\'", f"%{_escape_like(query.description)}%")
    for column, low, high in (
        ("a.file_created_at", query.taken_after, query.taken_before),
        ("a.created_at", query.created_after, query.created_before),
        ("a.updated_at", query.updated_after, query.updated_before),
        ("a.deleted_at", query.trashed_after, query.trashed_before),
    ):
        if low is not None:
            add(f"{column} >= ?", low)
        if high is not None:
            add(f"{column} <= ?", high)
    if query.min_file_size is not None:
        add("a.file_size >= ?", query.min_file_size)
    for sql, values in query.extra_where:
        add(sql, *values)
    return " AND ".join(clauses) or "1", params, join_exif


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_ASSET_FIELDS = [f.name for f in dataclasses.fields(AssetRecord)]
_ASSET_AND_EXIF_COLUMNS = ", ".join(
    [f"a.{name}" for name in _ASSET_FIELDS] + [f"e.{f.name} AS e_{f.name}" for f in dataclasses.fields(ExifRecord)]
)


class AssetRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, conn: aiosqlite.Connection, asset: AssetRecord) -> None:
        values = vars(asset)
        await conn.execute(
            f"INSERT INTO assets ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
            list(values.values()),
        )

    async def insert_exif(self, conn: aiosqlite.Connection, exif: ExifRecord) -> None:
        values = vars(exif)
        await conn.execute(
            f"INSERT OR REPLACE INTO asset_exif ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
            list(values.values()),
        )

    async def insert_many(self, conn: aiosqlite.Connection, assets: Sequence[AssetRecord],
                          exifs: Sequence[ExifRecord]) -> None:
        """`insert` and `insert_exif` for a group, one statement each (a group commit's rows)."""
        for table, verb, records in (("assets", "INSERT", assets), ("asset_exif", "INSERT OR REPLACE", exifs)):
            if records:
                columns = list(vars(records[0]))
                await conn.executemany(
                    f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                    [list(vars(record).values()) for record in records],
                )

    async def get(self, asset_id: str) -> AssetRecord | None:
        rows = await self.db.lookup("SELECT * FROM assets WHERE id = ?", (asset_id,))
        return from_row(AssetRecord, rows[0]) if rows else None

    async def get_many(self, asset_ids: Sequence[str]) -> list[AssetRecord]:
        if not asset_ids:
            return []
        found: list[AssetRecord] = []
        for start in range(0, len(asset_ids), 500):
            chunk = list(asset_ids[start : start + 500])
            sql, params = _in("id", chunk)
            rows = await self.db.fetchall(f"SELECT * FROM assets WHERE {sql}", params)
            found.extend(from_rows(AssetRecord, rows))
        return found

    async def get_exif(self, asset_id: str) -> ExifRecord | None:
        row = await self.db.fetchone("SELECT * FROM asset_exif WHERE asset_id = ?", (asset_id,))
        return from_row(ExifRecord, row) if row else None

    async def get_exifs(self, asset_ids: Sequence[str]) -> dict[str, ExifRecord]:
        found: dict[str, ExifRecord] = {}
        for start in range(0, len(asset_ids), 500):
            sql, params = _in("asset_id", list(asset_ids[start : start + 500]))
            for exif in from_rows(ExifRecord, await self.db.fetchall(f"SELECT * FROM asset_exif WHERE {sql}", params)):
                found[exif.asset_id] = exif
        return found

    async def find_by_checksum(self, owner_id: str, checksum: bytes) -> AssetRecord | None:
        row = await self.db.fetchone(
            "SELECT * FROM assets WHERE owner_id = ? AND checksum = ?", (owner_id, checksum)
        )
        return from_row(AssetRecord, row) if row else None

    async def find_by_checksums(self, owner_id: str, checksums: Sequence[bytes]) -> dict[bytes, AssetRecord]:
        found: dict[bytes, AssetRecord] = {}
        unique = list(dict.fromkeys(checksums))
        for start in range(0, len(unique), 500):
            sql, params = _in("checksum", unique[start : start + 500])
            rows = await self.db.fetchall(f"SELECT * FROM assets WHERE owner_id = ? AND {sql}", [owner_id, *params])
            for row in rows:
                found[bytes(row["checksum"])] = from_row(AssetRecord, row)
        return found

    async def existing_device_asset_ids(self, owner_id: str, device_id: str, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            sql, params = _in("device_asset_id", list(ids[start : start + 500]))
            rows = await self.db.fetchall(
                f"SELECT device_asset_id FROM assets WHERE owner_id = ? AND device_id = ? AND {sql}",
                [owner_id, device_id, *params],
            )
            found.update(row[0] for row in rows)
        return found

    async def update(self, conn: aiosqlite.Connection, asset_ids: Iterable[str], values: dict[str, Any]) -> None:
        unknown = set(values) - _UPDATABLE
        if unknown:
            raise ValueError(f"unknown columns {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in values)
        ids = list(asset_ids)
        for start in range(0, len(ids), 500):
            sql, params = _in("id", ids[start : start + 500])
            await conn.execute(f"UPDATE assets SET {assignments} WHERE {sql}", [*values.values(), *params])

    async def update_exif(self, conn: aiosqlite.Connection, asset_id: str, values: dict[str, Any]) -> None:
        await conn.execute(
            "INSERT INTO asset_exif (asset_id, update_id) VALUES (?, ?) ON CONFLICT(asset_id) DO NOTHING",
            (asset_id, values.get("update_id", "")),
        )
        assignments = ", ".join(f"{name} = ?" for name in values)
        await conn.execute(f"UPDATE asset_exif SET {assignments} WHERE asset_id = ?", [*values.values(), asset_id])

    async def delete(self, conn: aiosqlite.Connection, asset_id: str) -> None:
        await conn.execute("DELETE FROM assets WHERE id = ?", (asset_id,))

    async def audit_deleted(self, conn: aiosqlite.Connection, asset: AssetRecord, now: str) -> None:
        """Delete history for the sync stream: the asset, and each album link it had (one row each)."""
        await conn.execute(
            "INSERT INTO asset_audit (id, asset_id, owner_id, deleted_at) VALUES (?, ?, ?, ?)",
            (uuid7(), asset.id, asset.owner_id, now),
        )
        async with conn.execute("SELECT album_id FROM album_assets WHERE asset_id = ?", (asset.id,)) as cursor:
            album_ids = [row[0] for row in await cursor.fetchall()]
        await conn.executemany(
            "INSERT INTO album_asset_audit (id, album_id, asset_id, deleted_at) VALUES (?, ?, ?, ?)",
            [(uuid7(), album_id, asset.id, now) for album_id in album_ids],
        )

    async def files(self, asset_id: str) -> dict[str, str]:
        rows = await self.db.lookup("SELECT kind, path FROM asset_files WHERE asset_id = ?", (asset_id,))
        return {row["kind"]: row["path"] for row in rows}

    def search_sql(self, query: AssetQuery, *, limit: int, offset: int = 0, with_exif: bool = False
                   ) -> tuple[str, list[Any]]:
        """A page of matches, newest (or biggest) first. Each owner's matches come from one index range in
        order, so SQLite stops after the page; several owners (me and my partners, an album's members) are one
        such walk each, merged, as SQLite would otherwise sort every photo of all of them. `with_exif` adds
        the asset_exif columns (as `e_<name>`) to each row, read in the same walk."""
        order = "DESC" if query.order_desc else "ASC"
        column = "file_size" if query.order_by_size else "file_created_at"
        if 1 < len(query.owner_ids) <= 20:
            parts: list[str] = []
            params: list[Any] = []
            for owner_id in query.owner_ids:
                one = dataclasses.replace(query, owner_ids=[owner_id])
                sql, values = self._search_sql(one, column, order, with_exif)
                parts.append(f"SELECT * FROM ({sql} LIMIT ?)")
                params += [*values, limit + offset]
            return (
                f"{' UNION ALL '.join(parts)} ORDER BY {column} {order}, id {order} LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        sql, params = self._search_sql(query, column, order, with_exif)
        return f"{sql} LIMIT ? OFFSET ?", [*params, limit, offset]

    @staticmethod
    def _search_sql(query: AssetQuery, column: str, order: str, with_exif: bool) -> tuple[str, list[Any]]:
        where, params, join_exif = build_where(query)
        join = " LEFT JOIN asset_exif e ON e.asset_id = a.id" if join_exif or with_exif else ""
        select = _ASSET_AND_EXIF_COLUMNS if with_exif else "a.*"
        return (
            f"SELECT {select} FROM assets a{join} WHERE {where} ORDER BY a.{column} {order}, a.id {order}",
            params,
        )

    async def search(self, query: AssetQuery, *, limit: int, offset: int = 0) -> list[AssetRecord]:
        sql, params = self.search_sql(query, limit=limit, offset=offset)
        return from_rows(AssetRecord, await self.db.fetchall(sql, params))

    async def search_with_exif(self, query: AssetQuery, *, limit: int, offset: int = 0
                               ) -> list[tuple[AssetRecord, ExifRecord | None]]:
        """`search`, with each asset's EXIF row (None if it has none) from the same query."""
        sql, params = self.search_sql(query, limit=limit, offset=offset, with_exif=True)
        split = len(_ASSET_FIELDS)
        found: list[tuple[AssetRecord, ExifRecord | None]] = []
        for row in await self.db.fetchall(sql, params):
            values = tuple(row)
            exif = ExifRecord(*values[split:]) if values[split] is not None else None
            found.append((AssetRecord(*values[:split]), exif))
        return found

    async def count(self, query: AssetQuery) -> int:
        where, params, join_exif = build_where(query)
        join = " LEFT JOIN asset_exif e ON e.asset_id = a.id" if join_exif else ""
        return int(await self.db.fetchval(f"SELECT count(*) FROM assets a{join} WHERE {where}", params) or 0)

    async def count_by_type(self, query: AssetQuery) -> dict[str, int]:
        where, params, join_exif = build_where(query)
        join = " LEFT JOIN asset_exif e ON e.asset_id = a.id" if join_exif else ""
        rows = await self.db.fetchall(
            f"SELECT a.type, count(*) FROM assets a{join} WHERE {where} GROUP BY a.type", params
        )
        return {row[0]: row[1] for row in rows}

    async def usage_by_user(self) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT u.id AS user_id, u.name AS user_name, u.quota_size_bytes,"
            " sum(a.type = 'IMAGE') AS photos, sum(a.type = 'VIDEO') AS videos,"
            " coalesce(sum(a.file_size), 0) AS usage,"
            " coalesce(sum(CASE WHEN a.type = 'IMAGE' THEN a.file_size END), 0) AS usage_photos,"
            " coalesce(sum(CASE WHEN a.type = 'VIDEO' THEN a.file_size END), 0) AS usage_videos"
            " FROM users u LEFT JOIN assets a ON a.owner_id = u.id AND a.visibility != 'hidden'"
            " WHERE u.deleted_at IS NULL GROUP BY u.id ORDER BY u.created_at"
        )
        return [dict(row) for row in rows]

    async def trashed_ids(self, owner_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT id FROM assets WHERE owner_id = ? AND deleted_at IS NOT NULL", (owner_id,)
        )
        return [row[0] for row in rows]

    async def expired_trash(self, before: str) -> list[AssetRecord]:
        rows = await self.db.fetchall(
            "SELECT * FROM assets WHERE deleted_at IS NOT NULL AND deleted_at < ?", (before,)
        )
        return from_rows(AssetRecord, rows)

    # upload intents: files moved into the library whose row is not committed yet
    async def add_intent(self, path: str, now: str) -> None:
        await self.db.execute("INSERT OR REPLACE INTO upload_intents(path, created_at) VALUES (?, ?)", (path, now))

    async def add_intents(self, paths: Sequence[str], now: str) -> None:
        await self.db.executemany(
            "INSERT OR REPLACE INTO upload_intents(path, created_at) VALUES (?, ?)", [(p, now) for p in paths]
        )

    async def add_intents_in(self, conn: aiosqlite.Connection, paths: Sequence[str], now: str) -> None:
        await conn.executemany(
            "INSERT OR REPLACE INTO upload_intents(path, created_at) VALUES (?, ?)", [(p, now) for p in paths]
        )

    async def drop_intent(self, conn: aiosqlite.Connection, path: str) -> None:
        await conn.execute("DELETE FROM upload_intents WHERE path = ?", (path,))

    async def drop_intents_in(self, conn: aiosqlite.Connection, paths: Sequence[str]) -> None:
        await conn.executemany("DELETE FROM upload_intents WHERE path = ?", [(path,) for path in paths])

    async def orphan_intents(self) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT i.path FROM upload_intents i WHERE NOT EXISTS"
            " (SELECT 1 FROM assets a WHERE a.original_path = i.path OR a.sidecar_path = i.path)"
        )
        return [row[0] for row in rows]

    async def all_intents(self) -> list[str]:
        return [row[0] for row in await self.db.fetchall("SELECT path FROM upload_intents")]

    async def owners_in_albums(self, album_ids: Sequence[str]) -> list[str]:
        """Owners of the assets in these albums (members search them whoever owns them)."""
        if not album_ids:
            return []
        sql, params = _in("aa.album_id", list(album_ids))
        rows = await self.db.fetchall(
            f"SELECT DISTINCT a.owner_id FROM album_assets aa JOIN assets a ON a.id = aa.asset_id WHERE {sql}", params
        )
        return [row[0] for row in rows]

    async def clear_intents(self, paths: Sequence[str]) -> None:
        await self.db.executemany("DELETE FROM upload_intents WHERE path = ?", [(p,) for p in paths])
