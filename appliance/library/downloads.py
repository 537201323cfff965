"""Downloads: splitting a selection into archives of a target size, and writing one archive as a
stream of zip bytes (stored, not compressed: photos and videos are compressed already) without ever
holding it in memory or on disk."""

from __future__ import annotations

import asyncio
import queue
import threading
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Any

from appliance.errors import BadRequest
from appliance.library.access import DOWNLOAD, AccessService
from appliance.library.context import AuthContext
from appliance.storage.albums import AlbumRepository
from appliance.storage.assets import AssetRepository
from appliance.storage.explore import ExploreRepository
from appliance.storage.files import MediaStore

DEFAULT_ARCHIVE_SIZE = 4 * 1024**3
CHUNK = 256 * 1024


class _QueueWriter:
    """A write-only, non-seekable file for zipfile whose bytes go to a bounded queue (backpressure)."""

    def __init__(self, chunks: queue.Queue[bytes | None]) -> None:
        self.chunks = chunks
        self.cancelled = threading.Event()

    def write(self, data: bytes) -> int:
        if self.cancelled.is_set():
            raise OSError("download cancelled")
        if data:
            self.chunks.put(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def unique_name(name: str, seen: dict[str, int]) -> str:
    """Immich's rule: a repeated file name becomes 'name+1.ext', 'name+2.ext'..."""
    count = seen.get(name.lower(), 0)
    seen[name.lower()] = count + 1
    if count == 0:
        return name
    path = PurePosixPath(name)
    return f"{path.stem}+{count}{path.suffix}"


def _write_zip_blocking(files: list[tuple[Path, str]], writer: _QueueWriter) -> None:
    try:
        with zipfile.ZipFile(writer, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:  # type: ignore[call-overload]
            for path, name in files:
                try:
                    source = path.open("rb")
                except OSError:
                    continue  # a missing original is skipped, as Immich does
                with source, archive.open(zipfile.ZipInfo(name, date_time=_mtime(path)), "w", force_zip64=True) as out:
                    while chunk := source.read(CHUNK):
                        out.write(chunk)
    finally:
        writer.chunks.put(None)


def _mtime(path: Path) -> tuple[int, int, int, int, int, int]:
    import time

    stamp = time.gmtime(max(path.stat().st_mtime, 315532800))  # zip dates start in 1980
    return (stamp.tm_year, stamp.tm_mon, stamp.tm_mday, stamp.tm_hour, stamp.tm_min, stamp.tm_sec)


class DownloadService:
    def __init__(self, assets: AssetRepository, albums: AlbumRepository, access: AccessService,
                 store: MediaStore, explore: ExploreRepository) -> None:
        self.assets = assets
        self.explore = explore
        self.albums = albums
        self.access = access
        self.store = store

    async def _selection(self, context: AuthContext, dto: dict[str, Any]) -> list[str]:
        if dto.get("assetIds"):
            ids = list(dict.fromkeys(dto["assetIds"]))
            allowed = await self.access.asset_ids(context, ids, DOWNLOAD)
            if any(i not in allowed for i in ids):
                raise BadRequest("Not found or no asset.download access")
            return ids
        if dto.get("albumId"):
            if await self.access.album_role(context, dto["albumId"]) is None:
                raise BadRequest("Not found or no album.download access")
            ids = await self.albums.asset_ids(dto["albumId"])
            return sorted(await self.access.asset_ids(context, ids, DOWNLOAD), key=ids.index)
        if dto.get("userId"):
            if dto["userId"] != context.user_id or context.shared_link is not None:
                raise BadRequest("Not found or no timeline.download access")
            return await self.explore.library_ids(context.user_id)
        raise BadRequest("assetIds, albumId, or userId is required")

    async def info(self, context: AuthContext, dto: dict[str, Any]) -> dict[str, Any]:
        limit = int(dto.get("archiveSize") or DEFAULT_ARCHIVE_SIZE)
        ids = await self._selection(context, dto)
        sizes = await self.explore.sizes(ids)
        archives: list[dict[str, Any]] = []
        current: dict[str, Any] = {"size": 0, "assetIds": []}
        total = 0
        for asset_id in ids:
            size = sizes.get(asset_id)
            if size is None:
                continue
            if current["assetIds"] and current["size"] + size > limit:
                archives.append(current)
                current = {"size": 0, "assetIds": []}
            current["size"] += size
            current["assetIds"].append(asset_id)
            total += size
        if current["assetIds"]:
            archives.append(current)
        return {"totalSize": total, "archives": archives}

    async def archive(self, context: AuthContext, asset_ids: list[str]) -> AsyncIterator[bytes]:
        """Checks access first (so errors come before any byte), then yields the zip's bytes."""
        ids = await self._selection(context, {"assetIds": asset_ids})
        records = {r.id: r for r in await self.assets.get_many(ids)}
        seen: dict[str, int] = {}
        files = [
            (self.store.absolute(records[i].original_path), unique_name(records[i].original_file_name, seen))
            for i in ids if i in records
        ]
        return self._stream(files)

    async def _stream(self, files: list[tuple[Path, str]]) -> AsyncIterator[bytes]:
        chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        writer = _QueueWriter(chunks)
        worker = asyncio.get_running_loop().run_in_executor(None, _write_zip_blocking, files, writer)
        try:
            while (chunk := await asyncio.to_thread(chunks.get)) is not None:
                yield chunk
        finally:
            writer.cancelled.set()
            while not worker.done():  # unblock a writer waiting on a full queue
                try:
                    chunks.get_nowait()
                except queue.Empty:
                    await asyncio.sleep(0.01)
            await asyncio.gather(worker, return_exceptions=True)
