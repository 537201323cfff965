"""Assets: reading, updating, trashing and deleting them, and finding their files."""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from appliance.clock import Clock, iso, parse_iso
from appliance.errors import BadRequest, NotFoundHttp
from appliance.ids import uuid7
from appliance.library.access import DELETE, DOWNLOAD, READ, UPDATE, VIEW, AccessService
from appliance.library.context import AuthContext
from appliance.media import mimetypes
from appliance.storage.assets import AssetQuery, AssetRepository
from appliance.storage.db import Database
from appliance.storage.files import MediaStore
from appliance.storage.records import AssetRecord, ExifRecord
from appliance.storage.users import UserRepository


@dataclass
class AssetView:
    """An asset with what its response needs."""

    asset: AssetRecord
    exif: ExifRecord | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def decode_checksum(value: str) -> bytes:
    """Immich's rule: 28 characters is base64, anything else hex (40 for SHA-1)."""
    try:
        raw = base64.b64decode(value, validate=True) if len(value) == 28 else bytes.fromhex(value)
    except (binascii.Error, ValueError) as err:
        raise BadRequest("checksum must be a SHA-1 in hex or base64") from err
    if len(raw) != 20:
        raise BadRequest("checksum must be a SHA-1 in hex or base64")
    return raw


@dataclass
class ServedFile:
    path: Path
    content_type: str
    filename: str


class AssetService:
    def __init__(
        self,
        db: Database,
        assets: AssetRepository,
        users: UserRepository,
        access: AccessService,
        store: MediaStore,
        clock: Clock,
    ) -> None:
        self.db = db
        self.assets = assets
        self.users = users
        self.access = access
        self.store = store
        self.clock = clock
        self.listeners: list[Any] = []  # callables(event, owner_id, asset_ids)
        self.view_hooks: list[Any] = []  # async callables(views) adding extras (tags, stack...)

    def _emit(self, event: str, owner_id: str, asset_ids: list[str]) -> None:
        for listener in self.listeners:
            listener(event, owner_id, asset_ids)

    async def _require(self, context: AuthContext, asset_id: str, action: str) -> AssetRecord:
        if asset_id not in await self.access.asset_ids(context, [asset_id], action):
            raise BadRequest(f"Not found or no asset.{action} access")
        asset = await self.assets.get(asset_id)
        if asset is None:
            raise BadRequest(f"Not found or no asset.{action} access")
        return asset

    async def get(self, context: AuthContext, asset_id: str) -> AssetView:
        asset = await self._require(context, asset_id, READ)
        view = AssetView(asset, await self.assets.get_exif(asset_id))
        for hook in self.view_hooks:
            await hook([view])
        return view

    async def views(self, assets: list[AssetRecord], *, with_exif: bool = True) -> list[AssetView]:
        exifs = await self.assets.get_exifs([a.id for a in assets]) if with_exif else {}
        return await self.views_of([(asset, exifs.get(asset.id)) for asset in assets])

    async def views_of(self, pairs: list[tuple[AssetRecord, ExifRecord | None]]) -> list[AssetView]:
        """Views of assets whose EXIF rows were read with them."""
        views = [AssetView(asset, exif) for asset, exif in pairs]
        for hook in self.view_hooks:
            await hook(views)
        return views

    async def statistics(
        self, context: AuthContext, *, visibility: str | None, is_favorite: bool | None, is_trashed: bool | None
    ) -> dict[str, int]:
        query = AssetQuery(
            owner_ids=[context.user_id], visibility=visibility, is_favorite=is_favorite,
            trashed=bool(is_trashed),
        )
        counts = await self.assets.count_by_type(query)
        images, videos = counts.get("IMAGE", 0), counts.get("VIDEO", 0)
        return {"images": images, "videos": videos, "total": sum(counts.values())}

    async def bulk_upload_check(self, context: AuthContext, items: list[dict[str, str]]) -> list[dict[str, Any]]:
        decoded = [(item["id"], decode_checksum(item["checksum"])) for item in items]
        existing = await self.assets.find_by_checksums(context.user_id, [checksum for _, checksum in decoded])
        results: list[dict[str, Any]] = []
        for client_id, checksum in decoded:
            match = existing.get(checksum)
            if match is None:
                results.append({"id": client_id, "action": "accept"})
            else:
                results.append({"id": client_id, "action": "reject", "reason": "duplicate", "assetId": match.id,
                                "isTrashed": match.deleted_at is not None})
        return results

    async def existing_device_ids(self, context: AuthContext, device_id: str, ids: list[str]) -> list[str]:
        found = await self.assets.existing_device_asset_ids(context.user_id, device_id, ids)
        return [i for i in ids if i in found]

    async def update(self, context: AuthContext, asset_id: str, changes: dict[str, Any]) -> AssetView:
        await self._require(context, asset_id, UPDATE)
        if "livePhotoVideoId" in changes and changes["livePhotoVideoId"]:
            video = await self._require(context, changes["livePhotoVideoId"], UPDATE)
            if video.type != "VIDEO":
                raise BadRequest("Live photo video must be a video")
        await self._apply_changes(context, [asset_id], changes)
        return await self.get(context, asset_id)

    async def update_many(self, context: AuthContext, ids: list[str], changes: dict[str, Any]) -> None:
        allowed = await self.access.asset_ids(context, ids, UPDATE)
        missing = [i for i in ids if i not in allowed]
        if missing:
            raise BadRequest("Not found or no asset.update access")
        await self._apply_changes(context, ids, changes)

    async def _apply_changes(self, context: AuthContext, ids: list[str], changes: dict[str, Any]) -> None:
        now = iso(self.clock())
        values: dict[str, Any] = {}
        exif: dict[str, Any] = {}
        if changes.get("isFavorite") is not None:
            values["is_favorite"] = int(bool(changes["isFavorite"]))
        if changes.get("visibility") is not None:
            values["visibility"] = changes["visibility"]
        if "livePhotoVideoId" in changes:
            values["live_photo_video_id"] = changes["livePhotoVideoId"]
        if changes.get("description") is not None:
            exif["description"] = changes["description"]
        if "rating" in changes:
            exif["rating"] = changes["rating"]
        if changes.get("latitude") is not None and changes.get("longitude") is not None:
            exif["latitude"], exif["longitude"] = changes["latitude"], changes["longitude"]
        if changes.get("dateTimeOriginal"):
            moment = parse_iso(changes["dateTimeOriginal"])
            exif["date_time_original"] = iso(moment)
            values["file_created_at"] = iso(moment)
            values["local_date_time"] = iso(moment.replace(tzinfo=None))  # the wall clock where it was taken
        if not values and not exif:
            return
        update_id = uuid7()
        values.update(updated_at=now, update_id=update_id)
        async with self.db.transaction() as conn:
            await self.assets.update(conn, ids, values)
            if exif:
                exif["update_id"] = update_id
                for asset_id in ids:
                    await self.assets.update_exif(conn, asset_id, exif)
        self._emit("update", context.user_id, ids)

    async def delete(self, context: AuthContext, ids: list[str], force: bool) -> None:
        allowed = await self.access.asset_ids(context, ids, DELETE)
        missing = [i for i in ids if i not in allowed]
        if missing:
            raise BadRequest("Not found or no asset.delete access")
        if force:
            await self.delete_permanently(await self.assets.get_many(ids))
            self._emit("delete", context.user_id, ids)
            return
        now = iso(self.clock())
        async with self.db.transaction() as conn:
            await self.assets.update(conn, ids, {"deleted_at": now, "updated_at": now, "update_id": uuid7()})
        self._emit("trash", context.user_id, ids)

    async def restore(self, context: AuthContext, ids: list[str]) -> int:
        allowed = await self.access.asset_ids(context, ids, DELETE)
        chosen = [i for i in ids if i in allowed]
        if chosen:
            now = iso(self.clock())
            async with self.db.transaction() as conn:
                await self.assets.update(conn, chosen, {"deleted_at": None, "updated_at": now, "update_id": uuid7()})
            self._emit("restore", context.user_id, chosen)
        return len(chosen)

    async def restore_all(self, context: AuthContext) -> int:
        return await self.restore(context, await self.assets.trashed_ids(context.user_id))

    async def empty_trash(self, context: AuthContext) -> int:
        ids = await self.assets.trashed_ids(context.user_id)
        await self.delete_permanently(await self.assets.get_many(ids))
        if ids:
            self._emit("delete", context.user_id, ids)
        return len(ids)

    async def delete_permanently(self, assets: list[AssetRecord]) -> None:
        """Remove rows first (one transaction), then files: a crash in between leaves only stray files."""
        if not assets:
            return
        now = iso(self.clock())
        files: list[str] = []
        for asset in assets:
            files.extend(p for p in (asset.original_path, asset.sidecar_path, asset.encoded_video_path) if p)
            files.extend((await self.assets.files(asset.id)).values())
        async with self.db.transaction() as conn:
            for asset in assets:
                await self.assets.audit_deleted(conn, asset, now)
                await self.assets.delete(conn, asset.id)
                await self.users.add_usage(conn, asset.owner_id, -asset.file_size)
        for path in dict.fromkeys(files):
            await asyncio.to_thread(self.store.remove_blocking, path)

    async def purge_expired_trash(self, days: int) -> int:
        before = iso(self.clock() - timedelta(days=days))
        expired = await self.assets.expired_trash(before)
        await self.delete_permanently(expired)
        return len(expired)

    # --- files ------------------------------------------------------------------------------
    async def original(self, context: AuthContext, asset_id: str) -> ServedFile:
        asset = await self._require(context, asset_id, DOWNLOAD)
        path = self.store.absolute(asset.original_path)
        return ServedFile(path, asset.original_mime_type, asset.original_file_name)

    async def thumbnail(self, context: AuthContext, asset_id: str, size: str) -> ServedFile | str:
        """The generated file, or 'original' / 'preview' when Immich would redirect there."""
        asset = await self._require(context, asset_id, VIEW)
        files = await self.assets.files(asset_id)
        if size == "original":
            return "original"
        if size == "fullsize":
            if "fullsize" in files:
                return self._served(asset, files["fullsize"], "fullsize")
            if asset.type == "IMAGE" and mimetypes.is_web_image(asset.original_file_name):
                return "original"
            return "preview"
        kind = "preview" if size == "preview" else "thumbnail"
        if kind not in files:
            raise NotFoundHttp("Asset media not found")
        return self._served(asset, files[kind], kind)

    def _served(self, asset: AssetRecord, relative: str, kind: str) -> ServedFile:
        path = self.store.absolute(relative)
        base = Path(asset.original_file_name).stem
        ext = path.suffix.lower()
        return ServedFile(path, mimetypes.mime_type(path.name) if ext != ".webp" else "image/webp",
                          f"{base}_{kind}{ext}")

    async def playback(self, context: AuthContext, asset_id: str) -> ServedFile:
        asset = await self._require(context, asset_id, VIEW)
        if asset.type != "VIDEO":
            raise NotFoundHttp("Asset not found or asset is not a video")
        if asset.encoded_video_path:
            return ServedFile(self.store.absolute(asset.encoded_video_path), "video/mp4",
                              Path(asset.original_file_name).stem + ".mp4")
        return ServedFile(self.store.absolute(asset.original_path), asset.original_mime_type,
                          asset.original_file_name)
