"""The mobile app's sync stream: what changed since a session's checkpoints, as Immich 3.2's lines.

Per request type, deletes come before upserts, and request types go out in Immich's fixed order
(parents before children). Every line carries an ack `"<EntityType>|<updateId>[|<row key>]"`; the app
sends back the ack of the last line it applied and the next stream starts after it. The row key (joined
with ':') breaks ties between rows of one bulk edit, which share an update id.

A row reached through a parent (an album or a partner) that the user started seeing after their
checkpoint is older than the checkpoint, so the normal "newer than the checkpoint" walk would miss it:
those parents are backfilled first, as Immich does, with `*BackfillV*` lines under a checkpoint of
their own (see `_backfill`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

from appliance.clock import Clock, iso
from appliance.errors import BadRequest, Forbidden
from appliance.ids import uuid7_millis
from appliance.library.context import AuthContext
from appliance.storage.errors import Row as DbRow
from appliance.storage.records import SessionRecord
from appliance.storage.sync import FEEDS, PAGE, Feed, SyncRepository

Row = dict[str, Any]  # a result row as {column: value}, paging columns left out
Line = dict[str, Any]

# How long delete history is kept, and how old a checkpoint may be before the app must start over.
AUDIT_KEEP = timedelta(days=31)
CHECKPOINT_MAX_AGE = timedelta(days=30)

SYNC_TYPES_ORDER = (
    "AuthUsersV1", "UsersV1", "PartnersV1", "AssetsV1", "AssetsV2", "StacksV1", "PartnerAssetsV1",
    "PartnerAssetsV2", "PartnerStacksV1", "AlbumAssetsV1", "AlbumAssetsV2", "AlbumsV1", "AlbumsV2",
    "AlbumUsersV1", "AlbumToAssetsV1", "AssetExifsV1", "AlbumAssetExifsV1", "AssetOcrV1",
    "PartnerAssetExifsV1", "MemoriesV1", "MemoryToAssetsV1", "PeopleV1", "AssetFacesV1", "AssetFacesV2",
    "UserMetadataV1", "AssetMetadataV1", "AssetEditsV1",
)

# Request type -> entity types it streams, deletes first. Types absent here (people, faces, OCR, edits:
# nothing on a Shoebox makes them) are accepted and stream nothing.
REQUEST_FEEDS: dict[str, tuple[str, ...]] = {
    "AuthUsersV1": ("AuthUserV1",),
    "UsersV1": ("UserDeleteV1", "UserV1"),
    "PartnersV1": ("PartnerDeleteV1", "PartnerV1"),
    "AssetsV2": ("AssetDeleteV1", "AssetV2"),
    "StacksV1": ("StackDeleteV1", "StackV1"),
    "PartnerAssetsV2": ("PartnerAssetDeleteV1", "PartnerAssetV2"),
    "PartnerStacksV1": ("PartnerStackDeleteV1", "PartnerStackV1"),
    "AlbumAssetsV2": ("AlbumAssetCreateV2",),
    "AlbumsV2": ("AlbumDeleteV1", "AlbumV2"),
    "AlbumUsersV1": ("AlbumUserDeleteV1", "AlbumUserV1"),
    "AlbumToAssetsV1": ("AlbumToAssetDeleteV1", "AlbumToAssetV1"),
    "AssetExifsV1": ("AssetExifV1",),
    "AlbumAssetExifsV1": ("AlbumAssetExifCreateV1",),
    "PartnerAssetExifsV1": ("PartnerAssetExifV1",),
    "MemoriesV1": ("MemoryDeleteV1", "MemoryV1"),
    "MemoryToAssetsV1": ("MemoryToAssetDeleteV1", "MemoryToAssetV1"),
    "UserMetadataV1": ("UserMetadataV1",),
    "AssetMetadataV1": ("AssetMetadataDeleteV1", "AssetMetadataV1"),
}

# Entity types reached through a parent -> the type their backfill lines (and its checkpoint) use.
BACKFILL = {
    "PartnerAssetV2": "PartnerAssetBackfillV2", "PartnerAssetExifV1": "PartnerAssetExifBackfillV1",
    "PartnerStackV1": "PartnerStackBackfillV1", "AlbumUserV1": "AlbumUserBackfillV1",
    "AlbumAssetCreateV2": "AlbumAssetBackfillV2", "AlbumAssetExifCreateV1": "AlbumAssetExifBackfillV1",
    "AlbumToAssetV1": "AlbumToAssetBackfillV1",
}

DEPRECATED = {"AssetsV1": "AssetsV2", "PartnerAssetsV1": "PartnerAssetsV2", "AlbumAssetsV1": "AlbumAssetsV2",
              "AssetFacesV1": "AssetFacesV2"}

ENTITY_TYPES = frozenset((
    "AuthUserV1", "UserV1", "UserDeleteV1", "AssetV1", "AssetV2", "AssetDeleteV1", "AssetExifV1", "AssetEditV1",
    "AssetEditDeleteV1", "AssetMetadataV1", "AssetMetadataDeleteV1", "AssetOcrV1", "AssetOcrDeleteV1",
    "PartnerV1", "PartnerDeleteV1", "PartnerAssetV1", "PartnerAssetV2", "PartnerAssetBackfillV1",
    "PartnerAssetBackfillV2", "PartnerAssetDeleteV1", "PartnerAssetExifV1", "PartnerAssetExifBackfillV1",
    "PartnerStackBackfillV1", "PartnerStackDeleteV1", "PartnerStackV1", "AlbumV1", "AlbumV2", "AlbumDeleteV1",
    "AlbumUserV1", "AlbumUserBackfillV1", "AlbumUserDeleteV1", "AlbumAssetCreateV1", "AlbumAssetCreateV2",
    "AlbumAssetUpdateV1", "AlbumAssetUpdateV2", "AlbumAssetBackfillV1", "AlbumAssetBackfillV2",
    "AlbumAssetExifCreateV1", "AlbumAssetExifUpdateV1", "AlbumAssetExifBackfillV1", "AlbumToAssetV1",
    "AlbumToAssetDeleteV1", "AlbumToAssetBackfillV1", "MemoryV1", "MemoryDeleteV1", "MemoryToAssetV1",
    "MemoryToAssetDeleteV1", "StackV1", "StackDeleteV1", "PersonV1", "PersonDeleteV1", "AssetFaceV1",
    "AssetFaceV2", "AssetFaceDeleteV1", "UserMetadataV1", "UserMetadataDeleteV1", "SyncAckV1", "SyncResetV1",
    "SyncCompleteV1",
))

RESET_LINE: Line = {"type": "SyncResetV1", "data": {}, "ack": "SyncResetV1|reset"}
NO_KEYS: tuple[str, ...] = ()


# --- shaping rows into the app's models -----------------------------------------------------------
def b64(value: bytes | None) -> str | None:
    return base64.b64encode(value).decode() if value is not None else None


def asset_v2(data: dict[str, Any]) -> dict[str, Any]:
    """SyncAssetV2 from a row of ASSET_COLUMNS (already named as the model names its fields)."""
    data["checksum"] = b64(data["checksum"])
    data["thumbhash"] = b64(data["thumbhash"])
    data["isFavorite"] = bool(data["isFavorite"])
    data["isEdited"] = bool(data["isEdited"])
    return data


def duration_text(ms: int | None) -> str | None:
    """V1's duration string, "H:MM:SS.ffffff", as Immich stores it."""
    if ms is None:
        return None
    seconds, millis = divmod(int(ms), 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{millis * 1000:06d}"


def asset_v1(data: dict[str, Any]) -> dict[str, Any]:
    data = asset_v2(data)
    data["duration"] = duration_text(data["duration"])
    return data


def exif_v1(data: dict[str, Any]) -> dict[str, Any]:
    """SyncAssetExifV1 from a row of EXIF_COLUMNS: nothing to change."""
    return data


def _user(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "email": row["email"],
        "avatarColor": row["avatar_color"],
        "deletedAt": row["deleted_at"],
        "hasProfileImage": bool(row["profile_image_path"]),
        "profileChangedAt": row["profile_changed_at"],
    }


def _auth_user(row: Row) -> dict[str, Any]:
    return {
        **_user(row),
        "isAdmin": bool(row["is_admin"]),
        "oauthId": "",
        "pinCode": row["pin_code_hash"],
        "quotaSizeInBytes": row["quota_size_bytes"],
        "quotaUsageInBytes": row["quota_usage_bytes"],
        "storageLabel": row["storage_label"],
    }


def _json_object(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


SHAPES: dict[str, Callable[[Row], dict[str, Any]]] = {
    "AuthUserV1": _auth_user,
    "UserV1": _user,
    "UserDeleteV1": lambda r: {"userId": r["user_id"]},
    "PartnerV1": lambda r: {"sharedById": r["shared_by_id"], "sharedWithId": r["shared_with_id"],
                            "inTimeline": bool(r["in_timeline"])},
    "PartnerDeleteV1": lambda r: {"sharedById": r["shared_by_id"], "sharedWithId": r["shared_with_id"]},
    "AssetV2": asset_v2,
    "AssetDeleteV1": lambda r: {"assetId": r["asset_id"]},
    "PartnerAssetV2": asset_v2,
    "PartnerAssetDeleteV1": lambda r: {"assetId": r["asset_id"]},
    "AlbumAssetCreateV2": asset_v2,
    "StackV1": lambda r: {"id": r["id"], "createdAt": r["created_at"], "updatedAt": r["updated_at"],
                          "primaryAssetId": r["primary_asset_id"], "ownerId": r["owner_id"]},
    "StackDeleteV1": lambda r: {"stackId": r["stack_id"]},
    "PartnerStackV1": lambda r: SHAPES["StackV1"](r),
    "PartnerStackDeleteV1": lambda r: {"stackId": r["stack_id"]},
    "AlbumV2": lambda r: {"id": r["id"], "name": r["name"], "description": r["description"] or "",
                          "createdAt": r["created_at"], "updatedAt": r["updated_at"],
                          "thumbnailAssetId": r["thumbnail_asset_id"],
                          "isActivityEnabled": bool(r["is_activity_enabled"]), "order": r["sort_order"]},
    "AlbumDeleteV1": lambda r: {"albumId": r["album_id"]},
    "AlbumUserV1": lambda r: {"albumId": r["album_id"], "userId": r["user_id"], "role": r["role"]},
    "AlbumUserDeleteV1": lambda r: {"albumId": r["album_id"], "userId": r["user_id"]},
    "AlbumToAssetV1": lambda r: {"albumId": r["album_id"], "assetId": r["asset_id"]},
    "AlbumToAssetDeleteV1": lambda r: {"albumId": r["album_id"], "assetId": r["asset_id"]},
    "AssetExifV1": exif_v1,
    "AlbumAssetExifCreateV1": exif_v1,
    "PartnerAssetExifV1": exif_v1,
    "MemoryV1": lambda r: {"id": r["id"], "createdAt": r["created_at"], "updatedAt": r["updated_at"],
                           "deletedAt": r["deleted_at"], "ownerId": r["owner_id"], "type": r["type"],
                           "data": _json_object(r["data"]), "isSaved": bool(r["is_saved"]),
                           "memoryAt": r["memory_at"], "seenAt": r["seen_at"], "showAt": r["show_at"],
                           "hideAt": r["hide_at"]},
    "MemoryDeleteV1": lambda r: {"memoryId": r["memory_id"]},
    "MemoryToAssetV1": lambda r: {"memoryId": r["memory_id"], "assetId": r["asset_id"]},
    "MemoryToAssetDeleteV1": lambda r: {"memoryId": r["memory_id"], "assetId": r["asset_id"]},
    "UserMetadataV1": lambda r: {"userId": r["id"], "key": "preferences", "value": _json_object(r["preferences"])},
    "AssetMetadataV1": lambda r: {"assetId": r["asset_id"], "key": r["key"], "value": _json_object(r["value"])},
    "AssetMetadataDeleteV1": lambda r: {"assetId": r["asset_id"], "key": r["key"]},
}


# --- acks --------------------------------------------------------------------------------------------
def parse_ack(ack: str, width: int) -> tuple[str, ...]:
    """The keyset position an ack names, padded to the feed's key width ('' sorts before everything)."""
    parts = ack.split("|", 2)
    keys = [parts[1] if len(parts) > 1 else ""]
    if width > 1 and len(parts) > 2:
        keys += parts[2].split(":", width - 2)
    keys += [""] * (width - len(keys))
    return tuple(keys[:width])


def _row_keys(row: DbRow, width: int) -> tuple[str, ...]:
    return tuple(str(row[f"_k{i}"]) for i in range(width))


def uuid7_floor(ms: int) -> str:
    """The smallest UUIDv7 of a millisecond: every id made at or after `ms` sorts after it."""
    text = f"{ms:012x}"
    return f"{text[:8]}-{text[8:12]}-7000-8000-000000000000"


class SyncService:
    def __init__(self, repo: SyncRepository, clock: Clock, *, page_size: int = PAGE) -> None:
        self.repo = repo
        self.clock = clock
        self.page_size = page_size  # rows per read: bounds memory and how long a reader is held

    @staticmethod
    def _session(context: AuthContext) -> SessionRecord:
        if context.session is None:
            raise Forbidden("Sync endpoints cannot be used with API keys")
        return context.session

    def check_request(self, context: AuthContext, types: list[str]) -> SessionRecord:
        """Refuse before any byte is streamed, so errors go out as normal JSON bodies."""
        session = self._session(context)
        for kind in types:
            if kind in DEPRECATED:
                raise BadRequest(
                    f"SyncRequestType.{kind} is deprecated, use SyncRequestType.{DEPRECATED[kind]} instead"
                )
        return session

    async def stream(self, context: AuthContext, types: list[str], reset: bool) -> AsyncIterator[list[Line]]:
        """Batches of lines (one page each), ending with SyncCompleteV1, or only SyncResetV1."""
        session = self.check_request(context, types)
        if reset:
            await self.repo.reset(session.id)
        elif await self.repo.pending_reset(session.id):
            yield [RESET_LINE]
            return
        checkpoints = await self.repo.checkpoints(session.id)
        if self._expired(checkpoints.get("SyncCompleteV1")):
            yield [RESET_LINE]
            return
        now_id = await self.repo.now_id()
        wanted = set(types)
        for request_type in SYNC_TYPES_ORDER:
            if request_type not in wanted:
                continue
            for entity in REQUEST_FEEDS.get(request_type, NO_KEYS):
                async for batch in self._feed(session.id, entity, context.user_id, checkpoints, now_id):
                    yield batch
        yield [{"type": "SyncCompleteV1", "data": {}, "ack": f"SyncCompleteV1|{now_id}"}]

    def _expired(self, complete_ack: str | None) -> bool:
        if not complete_ack:
            return False
        try:
            millis = uuid7_millis(parse_ack(complete_ack, 1)[0])
        except ValueError:
            return True
        oldest = self.clock() - CHECKPOINT_MAX_AGE
        return millis < int(oldest.timestamp() * 1000)

    async def _feed(
        self, session_id: str, entity: str, user_id: str, checkpoints: dict[str, str], now_id: str
    ) -> AsyncIterator[list[Line]]:
        feed = FEEDS[entity]
        if not await self.repo.available(feed):
            return
        width = len(feed.keys)
        checkpoint = checkpoints.get(entity)
        start = parse_ack(checkpoint, width) if checkpoint else ("",) * width
        if feed.parents:
            async for batch in self._backfill(session_id, entity, feed, user_id, checkpoints, start[0], now_id):
                yield batch
        async for batch in self._walk(entity, entity, feed, user_id, start, now_id):
            yield batch

    async def _backfill(
        self, session_id: str, entity: str, feed: Feed, user_id: str, checkpoints: dict[str, str],
        upto: str, now_id: str,
    ) -> AsyncIterator[list[Line]]:
        """Rows of parents the user started seeing after their checkpoint, which the walk would skip.

        Progress has its own checkpoint, "<Backfill type>|<parent seen id>|<row keys>" while a parent is
        under way and "...|complete" once it is done, so an interrupted backfill resumes where it stopped.
        """
        kind = BACKFILL[entity]
        width = len(feed.keys)
        done = checkpoints.get(kind, "").split("|")
        seen_done = done[1] if len(done) > 2 else ""
        partial = len(done) > 2 and done[2] != "complete"
        parents = await self.repo.new_parents(feed, user_id, seen_done, inclusive=partial)
        if not parents:
            return
        if not upto:
            # a first sync walks everything anyway: just remember the parents as backfilled
            await self.repo.save_checkpoints(session_id, {kind: f"{kind}|{parents[-1][1]}|complete"},
                                             iso(self.clock()))
            return
        for parent_id, seen in parents:
            resume = partial and seen == seen_done
            position = tuple((done[2].split(":", width - 1) + [""] * width)[:width]) if resume else ("",) * width
            async for batch in self._walk(entity, f"{kind}|{seen}", feed, user_id, position, now_id,
                                          parent=parent_id, upto=upto, line_type=kind):
                yield batch
            yield [{"type": "SyncAckV1", "data": {}, "ack": f"{kind}|{seen}|complete"}]

    async def _walk(
        self, entity: str, ack_head: str, feed: Feed, user_id: str, position: tuple[str, ...], now_id: str, *,
        parent: str | None = None, upto: str | None = None, line_type: str | None = None,
    ) -> AsyncIterator[list[Line]]:
        shape = SHAPES[entity]
        width = len(feed.keys)
        kind = line_type or entity
        while True:
            rows = await self.repo.page(ack_head, feed, user_id, position, now_id, limit=self.page_size,
                                        parent_id=parent, upto=upto)
            if not rows:
                return
            names = rows[0].keys()
            columns = [name for name in names if not name.startswith("_")]  # _k*, _ack come last
            ack_at = names.index("_ack")
            yield [{"type": kind, "data": shape(dict(zip(columns, row, strict=False))), "ack": row[ack_at]}
                   for row in rows]
            if len(rows) < self.page_size:
                return
            position = _row_keys(rows[-1], width)

    # --- acks --------------------------------------------------------------------------------------
    async def set_acks(self, context: AuthContext, acks: list[str]) -> None:
        session = self._session(context)
        latest: dict[str, str] = {}
        for ack in acks:
            kind = ack.split("|", 1)[0]
            if kind not in ENTITY_TYPES:
                raise BadRequest(f"Invalid ack type: {kind}")
            if kind == "SyncResetV1":
                await self.repo.reset(session.id)
                return
            latest[kind] = ack
        if latest:
            await self.repo.save_checkpoints(session.id, latest, iso(self.clock()))

    async def get_acks(self, context: AuthContext) -> list[dict[str, str]]:
        session = self._session(context)
        return [{"type": kind, "ack": ack} for kind, ack in sorted((await self.repo.checkpoints(session.id)).items())]

    async def delete_acks(self, context: AuthContext, types: list[str] | None) -> None:
        session = self._session(context)
        await self.repo.delete_checkpoints(session.id, types)

    async def upload_ready(self, asset_id: str) -> dict[str, Any] | None:
        """The payload of the live channel's AssetUploadReadyV1: {asset: SyncAssetV1, exif: SyncAssetExifV1}."""
        found = await self.repo.asset_with_exif(asset_id)
        if found is None:
            return None
        asset, exif = found
        return {"asset": asset_v1(asset), "exif": exif_v1(exif)}

    # --- housekeeping ------------------------------------------------------------------------------
    async def prune_audit(self) -> int:
        """Drop delete history older than 31 days (checkpoints older than 30 days get a reset instead)."""
        oldest = self.clock() - AUDIT_KEEP
        return await self.repo.prune_audit(uuid7_floor(int(oldest.timestamp() * 1000)))
