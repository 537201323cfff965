"""The ONE way a file becomes an asset: API uploads and USB/folder imports both come through here.

The order makes crashes harmless:
1. the bytes go to staging, hashed on the way, and are fsynced;
2. an upload intent naming the final path is committed;
3. the file is renamed into the library (exclusive create, directory fsynced);
4. one transaction inserts the asset row, its EXIF stub and its first job, and drops the intent.
A crash before 4 leaves an intent whose file is removed at the next start; a crash after 4 leaves a
complete asset. A second copy of the same bytes loses on the (owner, checksum) unique constraint and is
answered as a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.clock import Clock, iso, local_iso
from appliance.errors import BadRequest, InsufficientStorage
from appliance.ids import new_id, uuid7
from appliance.media import mimetypes
from appliance.storage.assets import AssetRepository
from appliance.storage.db import Database
from appliance.storage.files import DiskFullError, MediaStore, StagedFile, StagingWriter
from appliance.storage.jobs import enqueue
from appliance.storage.records import AssetRecord, ExifRecord
from appliance.storage.users import UserRepository

log = logging.getLogger(__name__)

COPY_CHUNK = 1024 * 1024


@dataclass
class IngestRequest:
    owner_id: str
    filename: str
    file_created_at: datetime
    file_modified_at: datetime
    is_favorite: bool = False
    visibility: str = "timeline"
    duration_ms: int | None = None
    live_photo_video_id: str | None = None
    device_asset_id: str = ""
    device_id: str = ""
    source: str = "upload"
    sidecar: StagedFile | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class IngestResult:
    id: str
    status: str  # created | duplicate
    is_trashed: bool = False


def clean_filename(name: str) -> str:
    """The base name a client sent, without folders or control characters; BadRequest if nothing is left."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if base in {"", ".", ".."}:
        raise BadRequest(f"Invalid filename {name!r}")
    return base[:255]


class UploadSink:
    """Receives one file's bytes from the network, writing and hashing in a worker thread.

    Writes overlap with reading the next chunk: at most one write is in flight at a time.
    """

    def __init__(self, writer: StagingWriter, max_bytes: int) -> None:
        self._writer = writer
        self._max = max_bytes
        self._pending: asyncio.Future[None] | None = None
        self._chunks: list[bytes] = []
        self._buffered = 0
        self.received = 0

    async def write(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self._max:
            raise BadRequest("File too large")
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        if self._buffered >= COPY_CHUNK:
            await self._flush()

    async def _flush(self) -> None:
        if self._pending is not None:
            await self._pending
            self._pending = None
        if self._chunks:
            data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
            self._chunks, self._buffered = [], 0
            self._pending = asyncio.ensure_future(asyncio.to_thread(self._writer.write_blocking, data))

    async def finish(self) -> StagedFile:
        try:
            await self._flush()
            if self._pending is not None:
                await self._pending
                self._pending = None
            return await asyncio.to_thread(self._writer.finish_blocking)
        except DiskFullError as err:
            await self.abort()
            raise InsufficientStorage("Not enough free disk space to store the file") from err

    async def abort(self) -> None:
        if self._pending is not None:
            with contextlib.suppress(Exception):  # the abort is what matters now
                await self._pending
            self._pending = None
        await asyncio.to_thread(self._writer.abort_blocking)


class IngestService:
    def __init__(
        self,
        db: Database,
        assets: AssetRepository,
        users: UserRepository,
        store: MediaStore,
        clock: Clock,
        *,
        max_upload_bytes: int,
        min_free_bytes: int = 0,
    ) -> None:
        self.db = db
        self.assets = assets
        self.users = users
        self.store = store
        self.clock = clock
        self.max_upload_bytes = max_upload_bytes
        self.min_free_bytes = min_free_bytes
        self.listeners: list[Any] = []  # callables(owner_id, asset_id) told of every created asset

    async def recover(self) -> None:
        """At start: empty staging and remove library files whose asset row never got committed."""
        await asyncio.to_thread(self.store.prepare_blocking)
        orphans = await self.assets.orphan_intents()
        for path in orphans:
            log.warning("removing %s: its upload did not finish", path)
            await asyncio.to_thread(self.store.remove_blocking, path)
        await self.assets.clear_intents(
            [row[0] for row in await self.db.fetchall("SELECT path FROM upload_intents")]
        )

    def check_free_space(self) -> None:
        if self.min_free_bytes and self.store.disk_usage().free < self.min_free_bytes:
            raise InsufficientStorage("Not enough free disk space to store the file")

    async def open_sink(self) -> UploadSink:
        self.check_free_space()
        writer = await asyncio.to_thread(self.store.new_staging_writer_blocking)
        return UploadSink(writer, self.max_upload_bytes)

    async def find_duplicate(self, owner_id: str, checksum: bytes) -> AssetRecord | None:
        return await self.assets.find_by_checksum(owner_id, checksum)

    @staticmethod
    def validate_filename(filename: str) -> str:
        name = clean_filename(filename)
        if mimetypes.asset_type(name) is None:
            raise BadRequest(f"Unsupported file type {name}")
        return name

    async def ingest(self, request: IngestRequest, staged: StagedFile) -> IngestResult:
        """Turn a complete staged file into an asset (or a duplicate). Staged files are consumed."""
        try:
            return await self._ingest(request, staged)
        finally:
            for leftover in (staged.path, request.sidecar.path if request.sidecar else None):
                if leftover is not None and leftover.exists():
                    await asyncio.to_thread(leftover.unlink, True)

    async def _ingest(self, request: IngestRequest, staged: StagedFile) -> IngestResult:
        filename = self.validate_filename(request.filename)
        asset_type = mimetypes.asset_type(filename)
        assert asset_type is not None
        if staged.size == 0:
            raise BadRequest("File is empty")
        existing = await self.find_duplicate(request.owner_id, staged.sha1)
        if existing is not None:
            return IngestResult(existing.id, "duplicate", existing.deleted_at is not None)
        await self._check_quota(request.owner_id, staged.size)
        live_video = await self._live_photo_video(request)

        asset_id = new_id()
        original = self.store.original_relative(request.owner_id, asset_id, mimetypes.extension(filename))
        sidecar = self.store.original_relative(request.owner_id, asset_id, ".xmp") if request.sidecar else None
        now = iso(self.clock())
        for path in (original, sidecar):
            if path:
                await self.assets.add_intent(path, now)
        mtime = request.file_modified_at.timestamp()
        await asyncio.to_thread(self.store.commit_blocking, staged.path, original, mtime)
        if request.sidecar and sidecar:
            await asyncio.to_thread(self.store.commit_blocking, request.sidecar.path, sidecar)

        record = AssetRecord(
            id=asset_id,
            owner_id=request.owner_id,
            type=asset_type,
            original_path=original,
            original_file_name=filename,
            original_mime_type=mimetypes.mime_type(filename),
            checksum=staged.sha1,
            file_size=staged.size,
            device_asset_id=request.device_asset_id,
            device_id=request.device_id,
            file_created_at=iso(request.file_created_at),
            file_modified_at=iso(request.file_modified_at),
            local_date_time=local_iso(request.file_created_at),
            created_at=now,
            updated_at=now,
            deleted_at=None,
            visibility=request.visibility,
            is_favorite=int(request.is_favorite),
            is_offline=0,
            is_edited=0,
            has_metadata=0,
            duration_ms=request.duration_ms,
            width=None,
            height=None,
            thumbhash=None,
            live_photo_video_id=live_video,
            stack_id=None,
            encoded_video_path=None,
            sidecar_path=sidecar,
            source=request.source,
            update_id=uuid7(),
        )
        try:
            async with self.db.transaction() as conn:
                await self.assets.insert(conn, record)
                await self.assets.insert_exif(
                    conn, ExifRecord(asset_id=asset_id, file_size_in_byte=staged.size, update_id=record.update_id)
                )
                await self.users.add_usage(conn, request.owner_id, staged.size)
                if live_video:
                    await self.assets.update(conn, [live_video], {"visibility": "hidden", "update_id": uuid7(),
                                                                  "updated_at": now})
                await enqueue(
                    conn, queue="metadataExtraction", name="AssetExtractMetadata",
                    payload={"id": asset_id, "source": request.source}, now=now, priority=0,
                    dedupe_key=f"metadata:{asset_id}",
                )
                for path in (original, sidecar):
                    if path:
                        await self.assets.drop_intent(conn, path)
        except sqlite3.IntegrityError:
            # the same bytes won a race with us: ours is the duplicate
            await self._discard(original, sidecar)
            winner = await self.find_duplicate(request.owner_id, staged.sha1)
            if winner is None:
                raise
            return IngestResult(winner.id, "duplicate", winner.deleted_at is not None)
        except BaseException:
            await asyncio.shield(self._discard(original, sidecar))
            raise
        for listener in self.listeners:
            listener(request.owner_id, asset_id)
        return IngestResult(asset_id, "created")

    async def _discard(self, *paths: str | None) -> None:
        for path in paths:
            if path:
                await asyncio.to_thread(self.store.remove_blocking, path)
                async with self.db.transaction() as conn:
                    await self.assets.drop_intent(conn, path)

    async def _check_quota(self, owner_id: str, size: int) -> None:
        user = await self.users.get(owner_id)
        if user is None:
            raise BadRequest("User not found")
        if user.quota_size_bytes is not None and user.quota_size_bytes < user.quota_usage_bytes + size:
            raise BadRequest("Quota has been exceeded!")

    async def _live_photo_video(self, request: IngestRequest) -> str | None:
        video_id = request.live_photo_video_id
        if not video_id:
            return None
        video = await self.assets.get(video_id)
        if video is None or video.owner_id != request.owner_id or video.type != "VIDEO":
            raise BadRequest("Live photo video not found")
        return video_id

    async def ingest_path(self, request: IngestRequest, source: Path, sidecar: Path | None = None) -> IngestResult:
        """Copy a file from disk (a card, a folder) through staging and ingest it, hashing while copying."""
        staged = await asyncio.to_thread(self._copy_to_staging_blocking, source)
        if sidecar is not None:
            request.sidecar = await asyncio.to_thread(self._copy_to_staging_blocking, sidecar)
        return await self.ingest(request, staged)

    def _copy_to_staging_blocking(self, source: Path) -> StagedFile:
        writer = self.store.new_staging_writer_blocking()
        try:
            with open(source, "rb") as handle:
                while chunk := handle.read(COPY_CHUNK):
                    writer.write_blocking(chunk)
                    if writer.size > self.max_upload_bytes:
                        raise BadRequest("File too large")
            return writer.finish_blocking()
        except DiskFullError as err:
            writer.abort_blocking()
            raise InsufficientStorage("Not enough free disk space to store the file") from err
        except BaseException:
            writer.abort_blocking()
            raise


def file_times(path: Path) -> tuple[datetime, datetime]:
    """(created, modified) of a file on disk, for imports that have no client-provided dates."""
    from datetime import UTC

    stat = os.stat(path)
    modified = datetime.fromtimestamp(stat.st_mtime, UTC)
    created = datetime.fromtimestamp(min(stat.st_mtime, getattr(stat, "st_birthtime", stat.st_mtime)), UTC)
    return created, modified
