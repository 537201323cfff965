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


def bucket_columns(f: TimelineFilter, *, text: bool = False) -> list[tuple[str, str]]:
    """(name, SQL) of what a month's query reads for this filter. Only what varies from photo to photo is
    read: with one owner or one visibility those are constants (and trashed or not always is), and a column
    not read is a few thousand Python objects not made. `text`: the ratio and offset as JSON prints them."""
    ratio, offset = "a.timeline_ratio_text", "a.local_offset_text"
    if not text:
        ratio, offset = f"CAST({ratio} AS REAL)", f"CAST({offset} AS REAL)"
    columns = [
        ("id", "a.id"), ("ratio", ratio), ("is_favorite", "a.is_favorite"),
        ("is_image", "a.type = 'IMAGE'"), ("file_created_at", "a.file_created_at"),
        ("offset_hours", offset), ("created_at", "a.created_at"), ("duration_ms", "a.duration_ms"),
        ("thumbhash", "a.thumbhash"), ("live_photo_video_id", "a.live_photo_video_id"),
        ("projection_type", "a.exif_projection_type"), ("city", "a.exif_city"), ("country", "a.exif_country"),
    ]
    if len(f.owner_ids) != 1:
        columns.append(("owner_id", "a.owner_id"))
    if not f.visibility:
        columns.append(("visibility", "a.visibility"))
    if f.with_coordinates:
        columns += [("latitude", "e.latitude"), ("longitude", "e.longitude")]
    if f.with_stacked:
        count = "(SELECT count(*) FROM assets m WHERE m.stack_id = a.stack_id)"
        columns += [("stack_id", "a.stack_id"),
                    ("stack_count", f"CASE WHEN a.stack_id IS NULL THEN 0 ELSE {count} END")]
    return columns


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


def month_key(month: str) -> str:
    """'YYYY-MM' (the `local_month` column, 0009_timeline_month_order.sql) of a 'YYYY-MM-01' bucket."""
    return month[:7]


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

    def bucket_sql(self, f: TimelineFilter, month: str, *, text: bool = False) -> tuple[str, list[Any]]:
        """One month's assets (`bucket_columns(f)`, named), newest first (by file_created_at, then id, as
        Immich). For one owner that is one range of the `assets_timeline` index (0009_timeline_month_order.sql,
        newest first since 0010), walked in its order, which holds every column read; only the coordinates, asked for by
        `withCoordinates`, are read from asset_exif."""
        where, params = asset_where(f)
        join = " LEFT JOIN asset_exif e ON e.asset_id = a.id" if f.with_coordinates else ""
        select = ", ".join(f"{sql} AS {name}" for name, sql in bucket_columns(f, text=text))
        order = "DESC" if f.order_desc else "ASC"
        return (
            f"SELECT {select} FROM assets a{join} WHERE {where} AND a.local_month = ?"
            f" ORDER BY a.file_created_at {order}, a.id {order}",
            [*params, month_key(month)],
        )

    async def bucket(self, f: TimelineFilter, month: str) -> tuple[list[str], list[Any]]:
        """(column names, rows) of one month, in the timeline's order."""
        sql, params = self.bucket_sql(f, month)
        rows = list(await self.db.fetchall(sql, params))
        return [name for name, _ in bucket_columns(f)], rows

    def bucket_json_sql(self, f: TimelineFilter, month: str, viewer_id: str) -> tuple[str, list[Any]]:
        """`bucket_sql` with SQLite writing each column as a JSON array (json_group_array: the same bytes as
        Python's JSON of the same values), so a month of thousands of photos makes a dozen strings, not tens
        of thousands of Python objects, and the work is done off the interpreter's lock. The ratios and offsets
        were printed into the index (0009), rounded to 4 and 2 decimals, whose 15-digit form is their shortest
        (`withCoordinates`, whose GPS floats may need 17 digits, goes through `bucket`). Thumbhashes come as
        hex, comma-separated, for Python's base64.

        One owner's month newest first (the timeline as shown) is one range of `assets_timeline`, keyed newest
        first (0010_timeline_newest_first.sql): the aggregates read that range directly, walked forwards, the
        order an aggregate without ORDER BY visits an index range (INDEXED BY holds the plan to that index;
        tests compare it with the ordered form). Anything else (oldest first, several owners, an album or a
        tag) aggregates the ordered `bucket_sql` as a subquery, whose rows SQLite copies once more. Each array
        comes as bytes (UTF-8), as it goes on the wire."""
        if f.with_coordinates:
            raise ValueError("coordinates are read by `bucket`")
        columns = bucket_columns(f, text=True)
        names = [name for name, _ in columns]
        direct = (len(f.owner_ids) == 1 and f.order_desc and not f.album_id and f.tag_ids is None
                  and not f.nothing)
        exprs = {name: f"({sql})" if direct else name for name, sql in columns}
        if direct:
            exprs["owner_id"] = "a.owner_id"
        favourite = f"{exprs['is_favorite']} = 1 AND " + (f"{exprs['owner_id']} = ?" if "owner_id" in names else "?")
        parts = ["count(*) AS n"]
        for name in names:
            col = exprs[name]
            if name == "is_favorite":  # a partner's favourite is not the viewer's
                sql = f"'[' || coalesce(group_concat(CASE WHEN {favourite} THEN 'true' ELSE 'false' END), '') || ']'"
            elif name == "is_image":
                sql = f"'[' || coalesce(group_concat(CASE WHEN {col} THEN 'true' ELSE 'false' END), '') || ']'"
            elif name in ("ratio", "offset_hours"):  # printed once, into the index (0009)
                sql = f"'[' || coalesce(group_concat({col}), '') || ']'"
            elif name == "thumbhash":  # hex, '-' for none (never empty: group_concat drops leading ones)
                sql = f"group_concat(CASE WHEN length({col}) > 0 THEN hex({col}) ELSE '-' END)"
            elif name == "stack_id":
                count = exprs["stack_count"]
                sql = (f"json_group_array(CASE WHEN {col} IS NULL OR {col} = '' THEN NULL"
                       f" ELSE json_array({col}, CAST({count} AS TEXT)) END)")
            elif name == "stack_count":
                continue
            else:
                sql = f"json_group_array({col})"
            parts.append(f"CAST({sql} AS BLOB) AS {name}")  # bytes: no decoding to str and back
        viewer = viewer_id if "owner_id" in names else int(bool(f.owner_ids) and f.owner_ids[0] == viewer_id)
        if direct:
            where, params = asset_where(f)
            return (f"SELECT {', '.join(parts)} FROM assets a INDEXED BY assets_timeline"
                    f" WHERE {where} AND a.local_month = ?", [viewer, *params, month_key(month)])
        inner, params = self.bucket_sql(f, month, text=True)
        return f"SELECT {', '.join(parts)} FROM ({inner})", [viewer, *params]

    async def bucket_json(self, f: TimelineFilter, month: str, viewer_id: str) -> tuple[int, dict[str, bytes]]:
        """(number of assets, JSON array (UTF-8) of each column of `bucket_columns(f)`) of one month (`stack_id`
        holds the stack pairs; `thumbhash` the hex of each, '-' for none, comma-separated)."""
        sql, params = self.bucket_json_sql(f, month, viewer_id)
        row = await self.db.fetchone(sql, params)
        assert row is not None  # an aggregate answers one row
        values = dict(zip(row.keys(), tuple(row), strict=True))
        return int(values.pop("n")), values

    async def month_versions(self, owner_ids: Sequence[str], month: str) -> tuple[int, ...]:
        """The version of each owner's month ('YYYY-MM-01' bucket; `asset_month_versions`, raised by triggers
        at every change that can alter what the month shows, 0010_timeline_newest_first.sql), 0 for a month an
        owner never had anything in. Key lookups, read on the loop's thread (`Database.lookup`): they come
        before every month, the month cache's too."""
        rows = await self.db.lookup(
            f"SELECT owner_id, version FROM asset_month_versions WHERE month = ?"
            f" AND owner_id IN ({_marks(owner_ids) or 'NULL'})",
            [month_key(month), *owner_ids],
        )
        found = {row[0]: int(row[1]) for row in rows}
        return tuple(found.get(owner_id, 0) for owner_id in owner_ids)

    async def album_owner_ids(self, album_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT a.owner_id FROM album_assets aa JOIN assets a ON a.id = aa.asset_id WHERE aa.album_id = ?",
            (album_id,),
        )
        return [row[0] for row in rows]

    async def explain(self, sql: str, params: Sequence[Any]) -> list[str]:
        rows = await self.db.fetchall("EXPLAIN QUERY PLAN " + sql, params)
        return [str(row[3]) for row in rows]
