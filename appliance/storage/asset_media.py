"""SQL for what the media jobs learn about an asset: EXIF, dates and dimensions, derived files, live-photo
links. Every change bumps the asset's `update_id` (a UUIDv7) so the sync stream sees it."""

from __future__ import annotations

from typing import Any

import aiosqlite

from appliance.ids import uuid7

ASSET_COLUMNS = (
    "id, owner_id, type, original_path, original_file_name, original_mime_type, checksum, file_size,"
    " file_created_at, file_modified_at, local_date_time, width, height, duration_ms, visibility,"
    " live_photo_video_id, encoded_video_path, sidecar_path, has_metadata, deleted_at, source"
)

EXIF_COLUMNS = (
    "make", "model", "lens_model", "exif_image_width", "exif_image_height", "file_size_in_byte", "orientation",
    "date_time_original", "modify_date", "time_zone", "f_number", "focal_length", "iso", "exposure_time",
    "latitude", "longitude", "city", "state", "country", "description", "projection_type", "rating", "fps",
    "profile_description", "colorspace", "bits_per_sample", "auto_stack_id", "live_photo_cid", "tags",
)

# Columns of `assets` the metadata job may set.
ASSET_METADATA_COLUMNS = frozenset(
    {"file_created_at", "file_modified_at", "local_date_time", "width", "height", "duration_ms"}
)


async def get_asset(conn: aiosqlite.Connection, asset_id: str) -> dict[str, Any] | None:
    rows = await conn.execute_fetchall(f"SELECT {ASSET_COLUMNS} FROM assets WHERE id = ?", (asset_id,))
    return next((dict(row) for row in rows), None)


async def get_asset_by_checksum(conn: aiosqlite.Connection, owner_id: str, checksum: bytes) -> dict[str, Any] | None:
    async with conn.execute(
        f"SELECT {ASSET_COLUMNS} FROM assets WHERE owner_id = ? AND checksum = ?", (owner_id, checksum)
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else dict(row)


async def get_asset_files(conn: aiosqlite.Connection, asset_id: str) -> dict[str, str]:
    """{kind: path relative to the data folder}."""
    async with conn.execute("SELECT kind, path FROM asset_files WHERE asset_id = ?", (asset_id,)) as cursor:
        return {row[0]: row[1] for row in await cursor.fetchall()}


async def write_metadata(
    conn: aiosqlite.Connection, asset_id: str, *, exif: dict[str, Any], asset: dict[str, Any], now: str
) -> None:
    """Replace the asset's EXIF row and set the dates/dimensions it implies, in the caller's transaction."""
    unknown = set(asset) - ASSET_METADATA_COLUMNS
    if unknown:
        raise ValueError(f"not metadata columns: {sorted(unknown)}")
    update_id = uuid7()
    columns = [c for c in EXIF_COLUMNS if c in exif]
    names = ", ".join(["asset_id", *columns, "update_id"])
    marks = ", ".join("?" for _ in range(len(columns) + 2))
    updates = ", ".join(f"{c} = excluded.{c}" for c in [*columns, "update_id"])
    await conn.execute(
        f"INSERT INTO asset_exif ({names}) VALUES ({marks}) ON CONFLICT (asset_id) DO UPDATE SET {updates}",
        (asset_id, *[exif[c] for c in columns], update_id),
    )
    sets = "".join(f"{c} = ?, " for c in asset)
    await conn.execute(
        f"UPDATE assets SET {sets}has_metadata = 1, updated_at = ?, update_id = ? WHERE id = ?",
        (*asset.values(), now, update_id, asset_id),
    )


async def upsert_asset_file(conn: aiosqlite.Connection, asset_id: str, *, kind: str, path: str, now: str) -> None:
    await conn.execute(
        "INSERT INTO asset_files (asset_id, kind, path, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (asset_id, kind) DO UPDATE SET path = excluded.path, created_at = excluded.created_at",
        (asset_id, kind, path, now),
    )


async def set_thumbnails(
    conn: aiosqlite.Connection,
    asset_id: str,
    *,
    files: dict[str, str],
    thumbhash: bytes | None,
    width: int | None,
    height: int | None,
    now: str,
) -> None:
    """Record the generated files and thumbhash; fill width/height only where the metadata job found none."""
    for kind, path in files.items():
        await upsert_asset_file(conn, asset_id, kind=kind, path=path, now=now)
    await conn.execute(
        "UPDATE assets SET thumbhash = ?, width = COALESCE(width, ?), height = COALESCE(height, ?),"
        " updated_at = ?, update_id = ? WHERE id = ?",
        (thumbhash, width, height, now, uuid7(), asset_id),
    )


async def set_encoded_video(conn: aiosqlite.Connection, asset_id: str, *, path: str | None, now: str) -> None:
    if path is None:
        await conn.execute("DELETE FROM asset_files WHERE asset_id = ? AND kind = 'encoded_video'", (asset_id,))
    else:
        await upsert_asset_file(conn, asset_id, kind="encoded_video", path=path, now=now)
    await conn.execute(
        "UPDATE assets SET encoded_video_path = ?, updated_at = ?, update_id = ? WHERE id = ?",
        (path, now, uuid7(), asset_id),
    )


async def set_sidecar_path(conn: aiosqlite.Connection, asset_id: str, *, path: str | None, now: str) -> None:
    await conn.execute(
        "UPDATE assets SET sidecar_path = ?, updated_at = ?, update_id = ? WHERE id = ?",
        (path, now, uuid7(), asset_id),
    )


async def find_live_photo_match(
    conn: aiosqlite.Connection, *, owner_id: str, cid: str, other_type: str, exclude_id: str
) -> dict[str, Any] | None:
    """The owner's other asset of `other_type` with the same live-photo content identifier."""
    async with conn.execute(
        f"SELECT {', '.join('a.' + c.strip() for c in ASSET_COLUMNS.split(','))} FROM assets a"
        " JOIN asset_exif e ON e.asset_id = a.id"
        " WHERE a.owner_id = ? AND e.live_photo_cid = ? AND a.type = ? AND a.id != ? AND a.deleted_at IS NULL"
        " ORDER BY a.created_at LIMIT 1",
        (owner_id, cid, other_type, exclude_id),
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else dict(row)


async def link_live_photo(conn: aiosqlite.Connection, *, photo_id: str, video_id: str, now: str) -> None:
    """Point the photo at its motion part and hide the video from the timeline and from albums."""
    await conn.execute(
        "UPDATE assets SET live_photo_video_id = ?, updated_at = ?, update_id = ? WHERE id = ?",
        (video_id, now, uuid7(), photo_id),
    )
    await conn.execute(
        "UPDATE assets SET visibility = 'hidden', updated_at = ?, update_id = ? WHERE id = ?",
        (now, uuid7(), video_id),
    )
    await conn.execute("DELETE FROM album_assets WHERE asset_id = ?", (video_id,))


async def insert_hidden_video(conn: aiosqlite.Connection, row: dict[str, Any], *, now: str) -> None:
    """A motion-photo video extracted from a photo: a hidden VIDEO asset of the same owner."""
    values = {
        **row,
        "type": "VIDEO",
        "visibility": "hidden",
        "created_at": now,
        "updated_at": now,
        "update_id": uuid7(),
    }
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    await conn.execute(f"INSERT INTO assets ({names}) VALUES ({marks})", tuple(values.values()))


async def add_quota_usage(conn: aiosqlite.Connection, owner_id: str, size: int) -> None:
    await conn.execute("UPDATE users SET quota_usage_bytes = quota_usage_bytes + ? WHERE id = ?", (size, owner_id))


async def asset_ids_for(conn: aiosqlite.Connection, *, work: str, force: bool) -> list[str]:
    """Assets a bulk run should cover: all of them with `force`, else only those missing the result.

    `work` is metadata | thumbnails | video | sidecar."""
    live = "deleted_at IS NULL"
    queries = {
        ("metadata", True): f"SELECT id FROM assets WHERE {live}",
        ("metadata", False): f"SELECT id FROM assets WHERE {live} AND has_metadata = 0",
        ("thumbnails", True): f"SELECT id FROM assets WHERE {live}",
        ("thumbnails", False): (
            f"SELECT id FROM assets a WHERE {live} AND (thumbhash IS NULL OR NOT EXISTS"
            " (SELECT 1 FROM asset_files f WHERE f.asset_id = a.id AND f.kind = 'preview')"
            " OR NOT EXISTS (SELECT 1 FROM asset_files f WHERE f.asset_id = a.id AND f.kind = 'thumbnail'))"
        ),
        ("video", True): f"SELECT id FROM assets WHERE {live} AND type = 'VIDEO'",
        ("video", False): f"SELECT id FROM assets WHERE {live} AND type = 'VIDEO' AND encoded_video_path IS NULL",
        ("sidecar", True): f"SELECT id FROM assets WHERE {live} AND sidecar_path IS NOT NULL",
        ("sidecar", False): f"SELECT id FROM assets WHERE {live} AND sidecar_path IS NULL AND visibility != 'hidden'",
    }
    async with conn.execute(queries[(work, force)] + " ORDER BY created_at DESC") as cursor:
        return [row[0] for row in await cursor.fetchall()]
