"""SQL for the timeline: month buckets and one month's assets in columns.

The month list is read from `asset_month_counts` (kept by triggers, see 0003_browsing.sql) whenever the
filter is one the counts table knows (owner, visibility, favourite, trash, stacks); album, tag and person
filters fall back to grouping the matching assets, which are few.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from appliance.storage.db import Database


@dataclass
class TimelineFilter:
    owner_ids: Sequence[str]
    visibility: str | None = None          # None: timeline + archive
    is_favorite: bool | None = None
    is_trashed: bool = False
    album_id: str | None = None
    tag_ids: Sequence[str] | None = None   # any of (a tag and its descendants, already expanded)
    nothing: bool = False                  # a filter nobody can match (a person, while there are none)
    with_stacked: bool = False             # hide stacked assets that are not their stack's primary
    order_desc: bool = True
    with_coordinates: bool = False


# the columns of bucket_sql, in order (the service transposes rows into Immich's parallel arrays)
BUCKET_COLUMNS = (
    "id", "owner_id", "ratio", "is_favorite", "type", "deleted_at", "visibility", "file_created_at", "created_at",
    "duration_ms", "thumbhash", "live_photo_video_id", "stack_id", "offset_hours", "projection_type", "city",
    "country", "latitude", "longitude", "stack_count",
)


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _visibility_clause(column: str, visibility: str | None) -> tuple[str, list[Any]]:
    if visibility:
        return f"{column} = ?", [visibility]
    return f"{column} IN ('timeline', 'archive')", []


def asset_where(f: TimelineFilter) -> tuple[str, list[Any]]:
    clauses = [f"a.owner_id IN ({_marks(f.owner_ids)})" if f.owner_ids else "0"]
    params: list[Any] = list(f.owner_ids)
    sql, values = _visibility_clause("a.visibility", f.visibility)
    clauses.append(sql)
    params += values
    clauses.append("a.deleted_at IS NOT NULL" if f.is_trashed else "a.deleted_at IS NULL")
    if f.is_favorite is not None:
        clauses.append(f"a.is_favorite = {int(bool(f.is_favorite))}")  # a literal: the partial index needs it
    if f.album_id:
        clauses.append("a.id IN (SELECT asset_id FROM album_assets WHERE album_id = ?)")
        params.append(f.album_id)
    if f.tag_ids is not None:
        clauses.append(f"a.id IN (SELECT asset_id FROM tag_assets WHERE tag_id IN ({_marks(f.tag_ids) or 'NULL'}))")
        params += list(f.tag_ids)
    if f.nothing:
        clauses.append("0")
    if f.with_stacked:
        clauses.append(
            "(a.stack_id IS NULL OR a.id = (SELECT s.primary_asset_id FROM stacks s WHERE s.id = a.stack_id))"
        )
    return " AND ".join(clauses), params


def month_range(month: str) -> tuple[str, str]:
    """('YYYY-MM-01', first day of the next month) as text bounds on local_date_time."""
    year, mon = int(month[:4]), int(month[5:7])
    nxt = f"{year + 1:04d}-01-01" if mon == 12 else f"{year:04d}-{mon + 1:02d}-01"
    return f"{year:04d}-{mon:02d}-01", nxt


class TimelineRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def buckets_sql(self, f: TimelineFilter) -> tuple[str, list[Any]]:
        order = "DESC" if f.order_desc else "ASC"
        if f.album_id or f.tag_ids is not None or f.nothing:
            where, params = asset_where(f)
            return (
                f"SELECT substr(a.local_date_time, 1, 7) || '-01' AS month, count(*) AS n FROM assets a"
                f" WHERE {where} GROUP BY month ORDER BY month {order}",
                params,
            )
        clauses = [f"owner_id IN ({_marks(f.owner_ids)})" if f.owner_ids else "0", "is_trashed = ?", "n > 0"]
        params = [*f.owner_ids, int(f.is_trashed)]
        sql, values = _visibility_clause("visibility", f.visibility)
        clauses.append(sql)
        params += values
        if f.is_favorite is not None:
            clauses.append("is_favorite = ?")
            params.append(int(f.is_favorite))
        if f.with_stacked:
            clauses.append("stack_hidden = 0")
        return (
            f"SELECT month, sum(n) AS n FROM asset_month_counts WHERE {' AND '.join(clauses)}"
            f" GROUP BY month ORDER BY month {order}",
            params,
        )

    async def buckets(self, f: TimelineFilter) -> list[tuple[str, int]]:
        sql, params = self.buckets_sql(f)
        return [(row[0], int(row[1])) for row in await self.db.fetchall(sql, params) if row[1]]

    def bucket_sql(self, f: TimelineFilter, month: str) -> tuple[str, list[Any]]:
        """One month's assets, newest first. Every column comes from the `assets_timeline` covering index (the
        EXIF columns shown are copied onto the asset, 0008_browse_speed.sql); only the coordinates, asked for by
        `withCoordinates`, are read from asset_exif."""
        where, params = asset_where(f)
        low, high = month_range(month)
        order = "DESC" if f.order_desc else "ASC"
        if f.with_coordinates:
            coordinates = "e.latitude, e.longitude,"
            join = " LEFT JOIN asset_exif e ON e.asset_id = a.id"
        else:
            coordinates, join = "NULL, NULL,", ""
        return (
            "SELECT a.id, a.owner_id,"
            " CASE WHEN a.width > 0 AND a.height > 0 THEN round(CASE WHEN a.exif_orientation IN"
            " ('5', '6', '7', '8', '90', '-90') THEN 1.0 * a.height / a.width ELSE 1.0 * a.width / a.height END, 4)"
            " ELSE 1.0 END AS ratio,"
            " a.is_favorite, a.type, a.deleted_at, a.visibility, a.file_created_at, a.created_at, a.duration_ms,"
            " a.thumbhash, a.live_photo_video_id, a.stack_id,"
            " round((julianday(a.local_date_time) - julianday(a.file_created_at)) * 24, 2) AS offset_hours,"
            f" a.exif_projection_type, a.exif_city, a.exif_country, {coordinates}"
            " CASE WHEN a.stack_id IS NULL THEN 0 ELSE"
            " (SELECT count(*) FROM assets m WHERE m.stack_id = a.stack_id) END AS stack_count"
            f" FROM assets a{join}"
            f" WHERE {where} AND a.local_date_time >= ? AND a.local_date_time < ?"
            f" ORDER BY a.file_created_at {order}, a.id {order}",
            [*params, low, high],
        )

    async def bucket(self, f: TimelineFilter, month: str) -> list[Any]:
        sql, params = self.bucket_sql(f, month)
        return list(await self.db.fetchall(sql, params))

    async def album_owner_ids(self, album_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT a.owner_id FROM album_assets aa JOIN assets a ON a.id = aa.asset_id WHERE aa.album_id = ?",
            (album_id,),
        )
        return [row[0] for row in rows]

    async def explain(self, sql: str, params: Sequence[Any]) -> list[str]:
        rows = await self.db.fetchall("EXPLAIN QUERY PLAN " + sql, params)
        return [str(row[3]) for row in rows]
