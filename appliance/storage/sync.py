"""SQL for the mobile sync stream: checkpoints, and one keyset-paged query ("feed") per entity type.

A feed yields the rows a user may see whose update id lies in (checkpoint, now), ordered by
(update id, row key...). The row key breaks ties: one bulk edit gives many rows the same update id, and a
resumed stream must neither repeat nor skip any of them. Each page is one short read, so a long first
sync never pins a reader connection and memory stays at one page.

Tables other branches add (partners, stacks, memories, people...) are optional: a feed whose tables or
columns are missing yields nothing. The columns expected are listed in each feed's `needs`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from appliance.ids import uuid7
from appliance.storage.db import Database

PAGE = 1000

# Albums user :uid sees, with the id of when they started seeing it (owner: album creation; member:
# their album_users row).
VISIBLE_ALBUMS = (
    "(SELECT id AS album_id, create_id AS seen_id FROM albums WHERE owner_id = :uid AND deleted_at IS NULL"
    " UNION ALL SELECT au.album_id, au.update_id FROM album_users au JOIN albums al ON al.id = au.album_id"
    " WHERE au.user_id = :uid AND al.deleted_at IS NULL)"
)
# Users whose library :uid sees through a partner share.
PARTNER_OWNERS = "(SELECT shared_by_id AS owner_id, update_id AS seen_id FROM partners WHERE shared_with_id = :uid)"


@dataclass(frozen=True)
class Feed:
    """One entity type's rows: `select` columns from `source` (which may use :uid), keyset-ordered by `keys`."""

    select: str
    source: str
    keys: tuple[str, ...]
    needs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # for rows reached through a parent (album, partner): the parents query (columns parent_id, seen_id)
    # and a condition true for the rows of parent :parent, so a newly visible parent can be backfilled
    parents: str | None = None
    parent_filter: str | None = None


# Columns named as the app's models name them: a page of rows becomes dicts without per-field code.
ASSET_COLUMNS = (
    'a.id AS id, a.owner_id AS ownerId, a.original_file_name AS originalFileName, a.checksum AS checksum,'
    ' a.thumbhash AS thumbhash, a.type AS type, a.visibility AS visibility, a.is_favorite AS isFavorite,'
    ' a.is_edited AS isEdited, a.file_created_at AS fileCreatedAt, a.file_modified_at AS fileModifiedAt,'
    ' a.local_date_time AS localDateTime, a.created_at AS createdAt, a.deleted_at AS deletedAt,'
    ' a.duration_ms AS duration, a.width AS width, a.height AS height, a.live_photo_video_id AS livePhotoVideoId,'
    ' a.stack_id AS stackId, NULL AS libraryId'
)
EXIF_COLUMNS = (
    "e.asset_id AS assetId, e.description AS description, e.exif_image_width AS exifImageWidth,"
    " e.exif_image_height AS exifImageHeight, e.file_size_in_byte AS fileSizeInByte,"
    " e.orientation AS orientation, e.date_time_original AS dateTimeOriginal, e.modify_date AS modifyDate,"
    " e.time_zone AS timeZone, e.latitude AS latitude, e.longitude AS longitude,"
    " e.projection_type AS projectionType, e.city AS city, e.state AS state, e.country AS country,"
    " e.make AS make, e.model AS model, e.lens_model AS lensModel, e.f_number AS fNumber,"
    " e.focal_length AS focalLength, e.iso AS iso, e.exposure_time AS exposureTime,"
    " e.profile_description AS profileDescription, e.rating AS rating, e.fps AS fps"
)
FEEDS_EXIF_NAMES = tuple(part.rsplit(" AS ", 1)[1] for part in EXIF_COLUMNS.split(","))
Needs = dict[str, tuple[str, ...]]
_PARTNERS: Needs = {"partners": ("shared_by_id", "shared_with_id", "in_timeline", "update_id")}
_STACKS: Needs = {"stacks": ("id", "owner_id", "primary_asset_id", "created_at", "updated_at", "update_id")}
_MEMORIES: Needs = {"memories": ("id", "owner_id", "type", "data", "is_saved", "memory_at", "seen_at", "show_at",
                                 "hide_at", "created_at", "updated_at", "deleted_at", "update_id")}
_ALBUM_PARENTS = f"SELECT album_id AS parent_id, seen_id FROM {VISIBLE_ALBUMS}"

# Album assets of other owners, once per asset, changed when the asset or any of its album links changed.
_ALBUM_ASSETS = (
    "(SELECT aa.asset_id, max(max(aa.update_id, x.update_id)) AS sync_id"
    f" FROM album_assets aa JOIN {VISIBLE_ALBUMS} v ON v.album_id = aa.album_id"
    " JOIN assets x ON x.id = aa.asset_id WHERE x.owner_id != :uid GROUP BY aa.asset_id)"
)

_IN_PARENT_ALBUM = (
    "EXISTS (SELECT 1 FROM album_assets p WHERE p.asset_id = {asset} AND p.album_id = :parent)"
)

FEEDS: dict[str, Feed] = {
    "AuthUserV1": Feed("u.*", "users u WHERE u.id = :uid", ("u.update_id",)),
    "UserDeleteV1": Feed("d.id, d.user_id", "user_audit d WHERE 1", ("d.id",)),
    "UserV1": Feed("u.*", "users u WHERE 1", ("u.update_id", "u.id")),
    "PartnerDeleteV1": Feed(
        "d.id, d.shared_by_id, d.shared_with_id",
        "partner_audit d WHERE (d.shared_by_id = :uid OR d.shared_with_id = :uid)", ("d.id",),
        needs={"partner_audit": ("id", "shared_by_id", "shared_with_id")},
    ),
    "PartnerV1": Feed(
        "p.shared_by_id, p.shared_with_id, p.in_timeline",
        "partners p WHERE (p.shared_by_id = :uid OR p.shared_with_id = :uid)",
        ("p.update_id", "p.shared_by_id", "p.shared_with_id"), needs=_PARTNERS,
    ),
    "AssetDeleteV1": Feed("d.id, d.asset_id", "asset_audit d WHERE d.owner_id = :uid", ("d.id",)),
    "AssetV2": Feed(ASSET_COLUMNS, "assets a WHERE a.owner_id = :uid", ("a.update_id", "a.id")),
    "StackDeleteV1": Feed(
        "d.id, d.stack_id", "stack_audit d WHERE d.user_id = :uid", ("d.id",),
        needs={"stack_audit": ("id", "stack_id", "user_id")},
    ),
    "StackV1": Feed("s.*", "stacks s WHERE s.owner_id = :uid", ("s.update_id", "s.id"), needs=_STACKS),
    "PartnerAssetDeleteV1": Feed(
        "d.id, d.asset_id", f"asset_audit d JOIN {PARTNER_OWNERS} po ON po.owner_id = d.owner_id WHERE 1",
        ("d.id",), needs=_PARTNERS,
    ),
    "PartnerAssetV2": Feed(
        ASSET_COLUMNS, f"assets a JOIN {PARTNER_OWNERS} po ON po.owner_id = a.owner_id WHERE 1",
        ("a.update_id", "a.id"), needs=_PARTNERS,
        parents=f"SELECT owner_id AS parent_id, seen_id FROM {PARTNER_OWNERS}", parent_filter="a.owner_id = :parent",
    ),
    "PartnerStackDeleteV1": Feed(
        "d.id, d.stack_id", f"stack_audit d JOIN {PARTNER_OWNERS} po ON po.owner_id = d.user_id WHERE 1",
        ("d.id",), needs={**_PARTNERS, "stack_audit": ("id", "stack_id", "user_id")},
    ),
    "PartnerStackV1": Feed(
        "s.*", f"stacks s JOIN {PARTNER_OWNERS} po ON po.owner_id = s.owner_id WHERE 1",
        ("s.update_id", "s.id"), needs={**_PARTNERS, **_STACKS},
        parents=f"SELECT owner_id AS parent_id, seen_id FROM {PARTNER_OWNERS}", parent_filter="s.owner_id = :parent",
    ),
    "AlbumDeleteV1": Feed("d.id, d.album_id", "album_audit d WHERE d.user_id = :uid", ("d.id",)),
    "AlbumV2": Feed(
        "al.*", f"albums al JOIN {VISIBLE_ALBUMS} v ON v.album_id = al.id WHERE 1", ("al.update_id", "al.id"),
    ),
    "AlbumUserDeleteV1": Feed(
        "d.id, d.album_id, d.user_id",
        f"album_user_audit d JOIN {VISIBLE_ALBUMS} v ON v.album_id = d.album_id WHERE 1", ("d.id",),
    ),
    "AlbumUserV1": Feed(
        "m.album_id, m.user_id, m.role",
        "(SELECT album_id, user_id, role, update_id FROM album_users"
        " UNION ALL SELECT id, owner_id, 'owner', create_id FROM albums WHERE deleted_at IS NULL) m"
        f" JOIN {VISIBLE_ALBUMS} v ON v.album_id = m.album_id WHERE 1",
        ("m.update_id", "m.album_id", "m.user_id"),
        parents=_ALBUM_PARENTS,
        parent_filter="m.album_id = :parent",
    ),
    "AlbumAssetCreateV2": Feed(
        ASSET_COLUMNS, f"assets a JOIN {_ALBUM_ASSETS} s ON s.asset_id = a.id WHERE 1", ("s.sync_id", "a.id"),
        parents=_ALBUM_PARENTS,
        parent_filter=_IN_PARENT_ALBUM.format(asset="a.id"),
    ),
    "AlbumToAssetDeleteV1": Feed(
        "d.id, d.album_id, d.asset_id",
        f"album_asset_audit d JOIN {VISIBLE_ALBUMS} v ON v.album_id = d.album_id WHERE 1", ("d.id",),
    ),
    "AlbumToAssetV1": Feed(
        # driven by the (update_id, album_id, asset_id) index, so each page reads one page of rows
        "aa.album_id, aa.asset_id",
        f"album_assets aa WHERE +aa.album_id IN (SELECT album_id FROM {VISIBLE_ALBUMS})",
        ("aa.update_id", "aa.album_id", "aa.asset_id"),
        parents=_ALBUM_PARENTS,
        parent_filter="aa.album_id = :parent",
    ),
    "AssetExifV1": Feed(
        EXIF_COLUMNS, "asset_exif e JOIN assets a ON a.id = e.asset_id WHERE a.owner_id = :uid",
        ("e.update_id", "e.asset_id"),
    ),
    "AlbumAssetExifCreateV1": Feed(
        EXIF_COLUMNS,
        f"asset_exif e JOIN {_ALBUM_ASSETS} s ON s.asset_id = e.asset_id WHERE 1",
        ("max(s.sync_id, e.update_id)", "e.asset_id"),
        parents=_ALBUM_PARENTS,
        parent_filter=_IN_PARENT_ALBUM.format(asset="e.asset_id"),
    ),
    "PartnerAssetExifV1": Feed(
        EXIF_COLUMNS,
        f"asset_exif e JOIN assets a ON a.id = e.asset_id JOIN {PARTNER_OWNERS} po ON po.owner_id = a.owner_id"
        " WHERE 1", ("e.update_id", "e.asset_id"), needs=_PARTNERS,
        parents=f"SELECT owner_id AS parent_id, seen_id FROM {PARTNER_OWNERS}", parent_filter="a.owner_id = :parent",
    ),
    "MemoryDeleteV1": Feed(
        "d.id, d.memory_id", "memory_audit d WHERE d.user_id = :uid", ("d.id",),
        needs={"memory_audit": ("id", "memory_id", "user_id")},
    ),
    "MemoryV1": Feed("m.*", "memories m WHERE m.owner_id = :uid", ("m.update_id", "m.id"), needs=_MEMORIES),
    "MemoryToAssetDeleteV1": Feed(
        "d.id, d.memory_id, d.asset_id",
        "memory_asset_audit d JOIN memories m ON m.id = d.memory_id WHERE m.owner_id = :uid", ("d.id",),
        needs={**_MEMORIES, "memory_asset_audit": ("id", "memory_id", "asset_id")},
    ),
    "MemoryToAssetV1": Feed(
        "ma.memory_id, ma.asset_id",
        "memory_assets ma JOIN memories m ON m.id = ma.memory_id WHERE m.owner_id = :uid",
        ("ma.update_id", "ma.memory_id", "ma.asset_id"),
        needs={**_MEMORIES, "memory_assets": ("memory_id", "asset_id", "update_id")},
    ),
    "UserMetadataV1": Feed(
        "u.id, u.preferences", "users u WHERE u.id = :uid AND u.preferences NOT IN ('', '{}')",
        ("u.update_id",),
    ),
    "AssetMetadataDeleteV1": Feed(
        "d.id, d.asset_id, d.key", "asset_metadata_audit d WHERE d.owner_id = :uid", ("d.id",),
    ),
    "AssetMetadataV1": Feed(
        "md.asset_id, md.key, md.value", "asset_metadata md JOIN assets a ON a.id = md.asset_id"
        " WHERE a.owner_id = :uid", ("md.update_id", "md.asset_id", "md.key"),
    ),
}

# Delete history tables and the column holding their (UUIDv7) id; all pruned together.
AUDIT_TABLES = ("asset_audit", "album_audit", "album_asset_audit", "album_user_audit", "user_audit",
                "asset_metadata_audit", "partner_audit", "stack_audit", "memory_audit", "memory_asset_audit")


def _marks(prefix: str, count: int) -> str:
    return ", ".join(f":{prefix}{i}" for i in range(count))


class SyncRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._columns: dict[str, set[str]] = {}

    # --- which optional tables exist ------------------------------------------------------------
    async def _table_columns(self, table: str) -> set[str]:
        if table not in self._columns:
            rows = await self.db.fetchall("SELECT name FROM pragma_table_info(?)", (table,))
            found = {row[0] for row in rows}
            if not found:
                return found  # not there (yet): ask again next time, a migration may add it
            self._columns[table] = found
        return self._columns[table]

    async def available(self, feed: Feed) -> bool:
        for table, columns in feed.needs.items():
            present = await self._table_columns(table)
            if not present or not set(columns) <= present:
                return False
        return True

    # --- feeds -------------------------------------------------------------------------------------
    async def page(
        self, ack_head: str, feed: Feed, user_id: str, after: Sequence[str], until: str, *, limit: int = PAGE,
        parent_id: str | None = None, upto: str | None = None,
    ) -> list[sqlite3.Row]:
        """Rows after the key `after` and before `until`, each with its ack in `_ack`.

        Normally the ack is "<ack_head>|<update id>[|<key>:<key>...]". With `parent_id` (a backfill),
        only that parent's rows whose update id is at most `upto`, acked "<ack_head>|<key>:<key>...".
        """
        keys = feed.keys
        params: dict[str, Any] = {"uid": user_id, "until": until, "limit": limit, "ack_head": ack_head}
        params.update({f"k{i}": value for i, value in enumerate(after)})
        clauses = [f"({', '.join(keys)}) > ({_marks('k', len(keys))})", f"{keys[0]} < :until"]
        if parent_id is not None:
            clauses += [f"{feed.parent_filter}", f"{keys[0]} <= :upto"]
            params.update(parent=parent_id, upto=upto)
            ack = ":ack_head || '|' || " + " || ':' || ".join(keys)
        else:
            ack = " || '|' || ".join([":ack_head", keys[0], *([" || ':' || ".join(keys[1:])] if keys[1:] else [])])
        columns = ", ".join(f"{key} AS _k{i}" for i, key in enumerate(keys)) + f", {ack} AS _ack"
        sql = (f"SELECT {feed.select}, {columns} FROM {feed.source} AND {' AND '.join(clauses)}"
               f" ORDER BY {', '.join(keys)} LIMIT :limit")
        return await self.db.fetchall(sql, params)

    async def new_parents(self, feed: Feed, user_id: str, after: str, *, inclusive: bool) -> list[tuple[str, str]]:
        """(parent id, seen id) of parents (albums, partners) the user started seeing after `after`."""
        assert feed.parents is not None
        rows = await self.db.fetchall(
            f"SELECT parent_id, seen_id FROM ({feed.parents}) WHERE seen_id {'>=' if inclusive else '>'} :after"
            " ORDER BY seen_id, parent_id",
            {"uid": user_id, "after": after},
        )
        return [(row[0], row[1]) for row in rows]

    async def asset_with_exif(self, asset_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """One asset and its EXIF, in the stream's column names (for AssetUploadReadyV1)."""
        asset = await self.db.fetchone(f"SELECT {ASSET_COLUMNS} FROM assets a WHERE a.id = ?", (asset_id,))
        if asset is None:
            return None
        exif = await self.db.fetchone(f"SELECT {EXIF_COLUMNS} FROM asset_exif e WHERE e.asset_id = ?", (asset_id,))
        empty = {name: None for name in FEEDS_EXIF_NAMES}
        return dict(zip(asset.keys(), asset, strict=True)), (
            dict(zip(exif.keys(), exif, strict=True)) if exif else {**empty, "assetId": asset_id}
        )

    async def now_id(self) -> str:
        """The stream's upper bound, taken inside the writer's lock.

        Writers make a row's update id just before they queue for that lock (no await in between), and
        the lock is first-come first-served; so once we hold it, every row with a smaller id has been
        committed and a checkpoint can never pass a row that later appears beneath it.
        """
        async with self.db.transaction():
            return uuid7()

    # --- checkpoints -----------------------------------------------------------------------------
    async def checkpoints(self, session_id: str) -> dict[str, str]:
        rows = await self.db.fetchall(
            "SELECT type, ack FROM sync_checkpoints WHERE session_id = ?", (session_id,)
        )
        return {row[0]: row[1] for row in rows}

    async def save_checkpoints(self, session_id: str, acks: dict[str, str], now: str) -> None:
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO sync_checkpoints (session_id, type, ack, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(session_id, type) DO UPDATE SET ack = excluded.ack, updated_at = excluded.updated_at",
                [(session_id, kind, ack, now) for kind, ack in acks.items()],
            )

    async def delete_checkpoints(self, session_id: str, types: Sequence[str] | None = None) -> None:
        async with self.db.transaction() as conn:
            if types is None:
                await conn.execute("DELETE FROM sync_checkpoints WHERE session_id = ?", (session_id,))
            else:
                await conn.executemany(
                    "DELETE FROM sync_checkpoints WHERE session_id = ? AND type = ?",
                    [(session_id, kind) for kind in types],
                )

    async def reset(self, session_id: str) -> None:
        """Forget all progress and the pending-reset flag, in one transaction."""
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM sync_checkpoints WHERE session_id = ?", (session_id,))
            await conn.execute("UPDATE sessions SET is_pending_sync_reset = 0 WHERE id = ?", (session_id,))

    async def pending_reset(self, session_id: str) -> bool:
        return bool(
            await self.db.fetchval("SELECT is_pending_sync_reset FROM sessions WHERE id = ?", (session_id,))
        )

    async def flag_reset(self, user_id: str | None = None) -> None:
        """Ask every session (of one user, or everyone) to start over at its next sync."""
        if user_id is None:
            await self.db.execute("UPDATE sessions SET is_pending_sync_reset = 1")
        else:
            await self.db.execute("UPDATE sessions SET is_pending_sync_reset = 1 WHERE user_id = ?", (user_id,))

    # --- delete history ----------------------------------------------------------------------------
    async def prune_audit(self, before_id: str) -> int:
        """Drop delete records older than `before_id` (a UUIDv7); returns how many went."""
        removed = 0
        for table in AUDIT_TABLES:
            if not await self._table_columns(table):
                continue
            removed += await self.db.execute(f"DELETE FROM {table} WHERE id < ?", (before_id,))
        return removed
