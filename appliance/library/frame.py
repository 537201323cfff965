"""Shoebox's own photo-frame feed: a playlist from an album, favourites, "on this day", a person or
everything, and each image rendered once to the screen's size and cached on disk (a Pi Zero 2 W can
then serve a frame by sending a small file)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.clock import Clock
from appliance.errors import BadRequest, NotFoundHttp
from appliance.library.access import VIEW, AccessService
from appliance.library.context import AuthContext
from appliance.library.memories import MemoryService
from appliance.media.fit import render_fit_blocking
from appliance.storage.albums import AlbumRepository
from appliance.storage.assets import AssetRepository
from appliance.storage.explore import ExploreRepository
from appliance.storage.files import MediaStore
from appliance.storage.records import AssetRecord

SOURCES = ("all", "album", "favorites", "memories", "person")
MAX_ITEMS = 500
SIZES = (64, 3840)
PREVIEW_EDGE = 1440


@dataclass
class FrameItem:
    asset: AssetRecord
    city: str | None = None
    country: str | None = None


class FrameService:
    def __init__(self, assets: AssetRepository, albums: AlbumRepository, access: AccessService, store: MediaStore,
                 memories: MemoryService, clock: Clock, explore: ExploreRepository) -> None:
        self.assets = assets
        self.explore = explore
        self.albums = albums
        self.access = access
        self.store = store
        self.memories = memories
        self.clock = clock
        self.cache_dir = store.root / "cache" / "frame"
        self._rendering: dict[Path, asyncio.Future[None]] = {}

    async def playlist(self, context: AuthContext, params: dict[str, Any]) -> list[FrameItem]:
        source = params.get("source") or ("album" if params.get("albumId") else "all")
        if source not in SOURCES:
            raise BadRequest(f"source must be one of {', '.join(SOURCES)}")
        ids = await self._ids(context, source, params)
        records = {r.id: r for r in await self.assets.get_many(ids)}
        chosen = [records[i] for i in ids if i in records and records[i].deleted_at is None]
        chosen = [r for r in chosen if r.type == "IMAGE" and r.visibility in ("timeline", "archive")]
        if params.get("shuffle", True):
            random.shuffle(chosen)
        chosen = chosen[:MAX_ITEMS]
        exifs = await self.assets.get_exifs([r.id for r in chosen])
        return [
            FrameItem(r, getattr(exifs.get(r.id), "city", None), getattr(exifs.get(r.id), "country", None))
            for r in chosen
        ]

    async def _ids(self, context: AuthContext, source: str, params: dict[str, Any]) -> list[str]:
        link = getattr(context.shared_link, "link", None)
        if link is not None:
            # a frame holding a shared-link key shows exactly what the link shares
            if link.album_id:
                return await self.albums.asset_ids(link.album_id)
            ids: list[str] = await context.shared_link.links.asset_ids(link.id)
            return ids
        if source == "album":
            album_id = params.get("albumId")
            if not album_id or await self.access.album_role(context, album_id) is None:
                raise BadRequest("Not found or no album.read access")
            return await self.albums.asset_ids(album_id)
        if source == "person":
            return []  # no face detection yet
        if source == "memories":
            moment = self.clock().isoformat()
            pairs = await self.memories.search(context, {"for": moment})
            return [asset_id for _, assets in pairs for asset_id in assets]
        return await self.explore.random_image_ids(context.user_id, favorites=source == "favorites", limit=MAX_ITEMS)

    async def image(self, context: AuthContext, asset_id: str, width: int, height: int) -> Path:
        if not (SIZES[0] <= width <= SIZES[1] and SIZES[0] <= height <= SIZES[1]):
            raise BadRequest(f"width and height must be between {SIZES[0]} and {SIZES[1]}")
        if asset_id not in await self.access.asset_ids(context, [asset_id], VIEW):
            raise BadRequest("Not found or no asset.view access")
        asset = await self.assets.get(asset_id)
        if asset is None:
            raise BadRequest("Not found or no asset.view access")
        target = self.cache_dir / asset_id[:2] / f"{asset_id}-{width}x{height}.jpg"
        if target.is_file():
            return target
        files = await self.assets.files(asset_id)
        sources = [self.store.absolute(files["preview"])] if "preview" in files else []
        original = self.store.absolute(asset.original_path)
        if asset.type == "IMAGE" and (max(width, height) > PREVIEW_EDGE or not sources):
            sources.insert(0, original)
        await self._render_once(target, [s for s in sources if s.is_file()], width, height)
        return target

    async def _render_once(self, target: Path, sources: list[Path], width: int, height: int) -> None:
        """Render at most once at a time per target: a second request for the same size waits for the first."""
        pending = self._rendering.get(target)
        if pending is not None:
            await asyncio.shield(pending)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._rendering[target] = future
        try:
            for source in sources:
                try:
                    await asyncio.to_thread(render_fit_blocking, source, target, width, height)
                    break
                except Exception:  # noqa: BLE001 - an undecodable source falls through to the next
                    continue
            else:
                raise NotFoundHttp("Asset media not found")
            future.set_result(None)
        except BaseException as err:
            future.set_exception(err)
            future.exception()  # retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._rendering[target]
