"""The ONE way a file becomes an asset: API uploads and USB/folder imports both come through here.

The order makes crashes harmless:
1. the bytes go to staging, hashed on the way, and are fsynced;
2. an upload intent naming the final path is committed;
3. the file is renamed into the library (exclusive create, directory fsynced);
4. one transaction inserts the asset row, its EXIF stub and its first job, and drops the intent.
Steps 2-4 are a group commit: files staged while the previous group was committing share its two
transactions (one WAL fsync each), which is what lets an import of many files keep up with the disk.
A crash before 4 leaves an intent whose file is removed at the next start; a crash after 4 leaves a
complete asset. A second copy of the same bytes loses on the (owner, checksum) unique constraint and is
answered as a duplicate.
Batch mode (`ingest_path(batch=True)`, for imports): step 1 has no fsync per file (the bytes are handed to
the disk as they are written); the committer renames the whole group under its committed intents and then
makes the group's bytes and names durable with ONE filesystem sync before step 4. So nothing becomes an
asset before its bytes are durable, and a crash before step 4 again leaves only intents to clean up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.clock import Clock, iso, local_iso
from appliance.errors import BadRequest, InsufficientStorage
from appliance.ids import new_id, uuid7
from appliance.library.staging import Stager
from appliance.media import mimetypes
from appliance.storage.assets import AssetRepository
from appliance.storage.db import Database
from appliance.storage.errors import ConstraintViolation
from appliance.storage.files import DiskFullError, MediaStore, StagedFile, StagingWriter
from appliance.storage.jobs import enqueue, enqueue_many
from appliance.storage.records import AssetRecord, ExifRecord, UserRecord
from appliance.storage.users import UserRepository

log = logging.getLogger(__name__)

GROUP_MAX = 64  # assets committed in one transaction at most


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


@dataclass
class _Lookup:
    """What `ingest_many` looked up once for all files of one owner: their duplicates and the owner."""

    duplicates: dict[bytes, AssetRecord]
    user: UserRecord | None


@dataclass
class _Pending:
    """A staged file waiting for the group commit."""

    request: IngestRequest
    staged: StagedFile
    record: AssetRecord
    future: asyncio.Future[IngestResult]
    placed: bool = False  # moved into the library: nothing of it is left in staging

    @property
    def paths(self) -> list[str]:
        return [p for p in (self.record.original_path, self.record.sidecar_path) if p]

    @property
    def durable(self) -> bool:
        """Were the staged bytes fsynced? (Batch imports stage without, and the committer syncs once.)"""
        sidecar = self.request.sidecar
        return self.staged.durable and (sidecar is None or sidecar.durable)

    def cleanup_blocking(self) -> None:
        for leftover in (self.staged.path, self.request.sidecar.path if self.request.sidecar else None):
            if leftover is not None:
                leftover.unlink(missing_ok=True)


def _cleanup_all_blocking(group: list[_Pending]) -> None:
    for pending in group:
        pending.cleanup_blocking()


def _remove_staged_blocking(items: list[tuple[IngestRequest, StagedFile]]) -> None:
    for request, staged in items:
        for leftover in (staged.path, request.sidecar.path if request.sidecar else None):
            if leftover is not None:
                leftover.unlink(missing_ok=True)


def clean_filename(name: str) -> str:
    """The base name a client sent, without folders or control characters; BadRequest if nothing is left."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if base in {"", ".", ".."}:
        raise BadRequest(f"Invalid filename {name!r}")
    return base[:255]


class StagingUpload:
    """One uploaded file on its way to staging, written and hashed by the thread that reads the body
    (blocking). It enforces the size limit as the bytes arrive and turns a full disk into a clear 507."""

    def __init__(self, writer: StagingWriter, max_bytes: int) -> None:
        self._writer = writer
        self._max = max_bytes
        self.received = 0

    def write(self, chunk: bytes | memoryview) -> None:
        self.received += len(chunk)
        if self.received > self._max:
            raise BadRequest("File too large")
        try:
            self._writer.write_blocking(chunk)
        except DiskFullError as err:  # the disk can fill up mid-stream, not only at the end
            raise InsufficientStorage("Not enough free disk space to store the file") from err

    def finish(self) -> StagedFile:
        """Make the bytes durable (fsync) and hand them over as a complete staged file."""
        try:
            return self._writer.finish_blocking()
        except DiskFullError as err:
            self.abort()
            raise InsufficientStorage("Not enough free disk space to store the file") from err

    def abort(self) -> None:
        self._writer.abort_blocking()


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
        self.stager = Stager(store, max_upload_bytes)
        self.min_free_bytes = min_free_bytes
        self.listeners: list[Any] = []  # callables(owner_id, asset_id) told of every created asset
        self._queue: list[_Pending] = []
        self._committer: asyncio.Task[None] | None = None

    async def recover(self) -> None:
        """At start: empty staging and remove library files whose asset row never got committed."""
        await asyncio.to_thread(self.store.prepare_blocking)
        orphans = await self.assets.orphan_intents()
        for path in orphans:
            log.warning("removing %s: its upload did not finish", path)
            await asyncio.to_thread(self.store.remove_blocking, path)
        await self.assets.clear_intents(await self.assets.all_intents())

    def check_free_space(self) -> None:
        if self.min_free_bytes and self.store.disk_usage().free < self.min_free_bytes:
            raise InsufficientStorage("Not enough free disk space to store the file")

    def open_upload_blocking(self) -> StagingUpload:
        """Staging for one uploaded file (blocking: called by the thread reading the upload)."""
        self.check_free_space()
        return StagingUpload(self.store.new_staging_writer_blocking(), self.max_upload_bytes)

    async def find_duplicate(self, owner_id: str, checksum: bytes) -> AssetRecord | None:
        return await self.assets.find_by_checksum(owner_id, checksum)

    @staticmethod
    def validate_filename(filename: str) -> str:
        name = clean_filename(filename)
        if mimetypes.asset_type(name) is None:
            raise BadRequest(f"Unsupported file type {name}")
        return name

    async def ingest(
        self, request: IngestRequest, staged: StagedFile, *, _lookup: _Lookup | None = None
    ) -> IngestResult:
        """Turn a complete staged file into an asset (or a duplicate). Staged files are consumed."""
        handed: list[_Pending] = []
        try:
            return await self._ingest(request, staged, handed, _lookup)
        finally:
            if not handed:  # once handed to the committer, it owns (and cleans up) the staged files
                for leftover in (staged.path, request.sidecar.path if request.sidecar else None):
                    if leftover is not None and leftover.exists():
                        await asyncio.to_thread(leftover.unlink, True)

    async def ingest_many(self, items: list[tuple[IngestRequest, StagedFile]]) -> list[IngestResult | BaseException]:
        """`ingest` for several staged files at once (an import hands over what it staged meanwhile): the same
        checks and group commit, but the duplicate and quota lookups are one query each per owner for all of
        them, not a trip to the database per file. Staged files are consumed; each gets its own outcome."""
        return await asyncio.gather(*await self.ingest_many_started(items), return_exceptions=True)

    async def ingest_many_started(
        self, items: list[tuple[IngestRequest, StagedFile]]
    ) -> list[asyncio.Task[IngestResult]]:
        """`ingest_many` that returns once the lookups are done: a task per file (in order), each done when
        that file is committed, so a caller can go on with each file as soon as it is in."""
        lookups: dict[str, _Lookup] = {}
        try:
            for owner_id in dict.fromkeys(request.owner_id for request, _ in items):
                checksums = [staged.sha1 for request, staged in items if request.owner_id == owner_id]
                duplicates = await self.assets.find_by_checksums(owner_id, checksums)
                lookups[owner_id] = _Lookup(duplicates, await self.users.get(owner_id))
        except BaseException:
            await asyncio.shield(asyncio.to_thread(_remove_staged_blocking, items))
            raise
        loop = asyncio.get_running_loop()
        return [loop.create_task(self.ingest(request, staged, _lookup=lookups[request.owner_id]))
                for request, staged in items]

    async def _ingest(
        self, request: IngestRequest, staged: StagedFile, handed: list[_Pending], lookup: _Lookup | None = None,
    ) -> IngestResult:
        filename = self.validate_filename(request.filename)
        asset_type = mimetypes.asset_type(filename)
        assert asset_type is not None
        if staged.size == 0:
            raise BadRequest("File is empty")
        if lookup is not None:
            existing = lookup.duplicates.get(staged.sha1)
        else:
            existing = await self.find_duplicate(request.owner_id, staged.sha1)
        if existing is not None:
            return IngestResult(existing.id, "duplicate", existing.deleted_at is not None)
        await self._check_quota(request.owner_id, staged.size, lookup)
        live_video = await self._live_photo_video(request)

        asset_id = new_id()
        taken = request.file_created_at
        original = self.store.original_relative(request.owner_id, asset_id, mimetypes.extension(filename), taken)
        sidecar = self.store.original_relative(request.owner_id, asset_id, ".xmp", taken) if request.sidecar else None
        now = iso(self.clock())
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
        pending = _Pending(request, staged, record, asyncio.get_running_loop().create_future())
        handed.append(pending)
        self._queue.append(pending)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_queued())
        # shielded: a caller that goes away does not stop a commit half-way; the committer finishes it
        result = await asyncio.shield(pending.future)
        if result.status == "created":
            for listener in self.listeners:
                listener(request.owner_id, result.id)
        return result

    async def _commit_queued(self) -> None:
        """Group commit: everything staged while the previous group was committing goes in together, and
        one transaction both inserts a group's rows and records the next group's intents. So concurrent
        uploads and imports share transactions (and their WAL fsyncs) instead of paying two each."""
        group: list[_Pending] = []
        intents_done = False
        while group or self._queue:
            if not group:
                group, self._queue = self._queue[:GROUP_MAX], self._queue[GROUP_MAX:]
                intents_done = False
            following: list[_Pending] = []
            try:
                if not intents_done:
                    await self.assets.add_intents([path for p in group for path in p.paths], iso(self.clock()))
                placed = await self._place_group(group)
                following, self._queue = self._queue[:GROUP_MAX], self._queue[GROUP_MAX:]
                intents_done = await self._insert_group(placed, following)
            except BaseException as err:
                for pending in group:
                    if not pending.future.done():
                        pending.future.set_exception(err)
                self._queue[:0] = following  # not started: they get their own turn
                following, intents_done = [], False
                if isinstance(err, asyncio.CancelledError):
                    raise
            finally:
                leftovers = [pending for pending in group if not pending.placed]
                if leftovers:
                    await asyncio.to_thread(_cleanup_all_blocking, leftovers)
                for pending in group:
                    if pending.future.done() and not pending.future.cancelled():
                        pending.future.exception()  # retrieved: a caller that left must not warn
            group = following

    async def _place_group(self, group: list[_Pending]) -> list[_Pending]:
        if not all(pending.durable for pending in group):
            return await self._place_batch(group)
        placed: list[_Pending] = []
        for pending in group:
            try:
                await asyncio.to_thread(self._place_blocking, pending)
                placed.append(pending)
            except Exception as err:
                await self._discard(*pending.paths)
                pending.future.set_exception(err)
        return placed

    async def _insert_group(self, placed: list[_Pending], following: list[_Pending]) -> bool:
        """Insert the placed assets and, in the same transaction, the next group's intents (True once
        those are recorded)."""
        now = iso(self.clock())
        intents = [path for p in following for path in p.paths]
        try:
            async with self.db.transaction() as conn:
                await self._insert_many(conn, placed, now)
                await self.assets.add_intents_in(conn, intents, now)
        except ConstraintViolation:
            # someone else stored the same bytes meanwhile: sort it out one by one
            for pending in placed:
                await self._commit_one(pending, now)
            if intents:
                await self.assets.add_intents(intents, now)
            return True
        except BaseException:
            await asyncio.shield(self._discard(*[path for p in placed for path in p.paths]))
            raise
        for pending in placed:
            pending.future.set_result(IngestResult(pending.record.id, "created"))
        return True

    async def _place_batch(self, group: list[_Pending]) -> list[_Pending]:
        """Group durability for files staged without fsync: they are moved to their library paths (whose
        intents are already committed), then ONE filesystem sync makes all their bytes and new names
        durable, before the transaction that makes them assets. A crash before that transaction leaves
        intents, so the next start removes those files, complete or not; a failed sync fails the group."""
        outcomes, synced = await asyncio.to_thread(self._place_all_blocking, group)
        placed: list[_Pending] = []
        for pending, error in zip(group, outcomes, strict=True):
            if error is None:
                placed.append(pending)
            else:
                await self._discard(*pending.paths)
                pending.future.set_exception(error)
        if synced is not None:
            await asyncio.shield(self._discard(*[path for p in placed for path in p.paths]))
            raise synced
        return placed

    def _place_all_blocking(self, group: list[_Pending]) -> tuple[list[Exception | None], Exception | None]:
        """Place every file of the group, then sync once (if any was placed): (error of each, sync error)."""
        outcomes: list[Exception | None] = []
        finals: list[Path] = []
        for pending in group:
            try:
                mtime = pending.request.file_modified_at.timestamp()
                finals.append(self.store.place_blocking(pending.staged.path, pending.record.original_path, mtime))
                if pending.request.sidecar and pending.record.sidecar_path:
                    finals.append(self.store.place_blocking(pending.request.sidecar.path, pending.record.sidecar_path))
                pending.placed = True
                outcomes.append(None)
            except Exception as err:
                outcomes.append(err)
        if any(outcome is None for outcome in outcomes):
            try:
                self.store.sync_blocking(finals)
            except Exception as err:
                return outcomes, err
        return outcomes, None

    def _place_blocking(self, pending: _Pending) -> None:
        """Move the staged file (and sidecar) to their library paths."""
        mtime = pending.request.file_modified_at.timestamp()
        self.store.commit_blocking(pending.staged.path, pending.record.original_path, mtime)
        if pending.request.sidecar and pending.record.sidecar_path:
            self.store.commit_blocking(pending.request.sidecar.path, pending.record.sidecar_path)

    async def _insert(self, conn: Any, pending: _Pending, now: str) -> None:
        record, request = pending.record, pending.request
        await self.assets.insert(conn, record)
        await self.assets.insert_exif(
            conn, ExifRecord(asset_id=record.id, file_size_in_byte=record.file_size, update_id=record.update_id)
        )
        await self.users.add_usage(conn, request.owner_id, record.file_size)
        if record.live_photo_video_id:
            await self.assets.update(conn, [record.live_photo_video_id],
                                     {"visibility": "hidden", "update_id": uuid7(), "updated_at": now})
        await enqueue(
            conn, queue="metadataExtraction", name="AssetExtractMetadata",
            payload={"id": record.id, "source": request.source}, now=now, priority=0,
            dedupe_key=f"metadata:{record.id}",
        )
        for path in pending.paths:
            await self.assets.drop_intent(conn, path)

    async def _insert_many(self, conn: Any, group: list[_Pending], now: str) -> None:
        """`_insert` for a whole group, a statement per table rather than per asset: the same rows."""
        if len(group) == 1:
            await self._insert(conn, group[0], now)
            return
        records = [pending.record for pending in group]
        await self.assets.insert_many(conn, records, [
            ExifRecord(asset_id=r.id, file_size_in_byte=r.file_size, update_id=r.update_id) for r in records
        ])
        usage: dict[str, int] = {}
        for record in records:
            usage[record.owner_id] = usage.get(record.owner_id, 0) + record.file_size
        for owner_id, size in usage.items():
            await self.users.add_usage(conn, owner_id, size)
        for record in records:
            if record.live_photo_video_id:  # each its own update id, as sync expects
                await self.assets.update(conn, [record.live_photo_video_id],
                                         {"visibility": "hidden", "update_id": uuid7(), "updated_at": now})
        await enqueue_many(
            conn, queue="metadataExtraction", name="AssetExtractMetadata", now=now, priority=0,
            jobs=[({"id": p.record.id, "source": p.request.source}, f"metadata:{p.record.id}") for p in group],
        )
        await self.assets.drop_intents_in(conn, [path for pending in group for path in pending.paths])

    async def _commit_one(self, pending: _Pending, now: str) -> None:
        try:
            async with self.db.transaction() as conn:
                await self._insert(conn, pending, now)
        except ConstraintViolation as err:
            # the same bytes won a race with us: ours is the duplicate
            await self._discard(*pending.paths)
            winner = await self.find_duplicate(pending.request.owner_id, pending.staged.sha1)
            if winner is None:
                pending.future.set_exception(err)
            else:
                pending.future.set_result(IngestResult(winner.id, "duplicate", winner.deleted_at is not None))
            return
        except BaseException:
            await asyncio.shield(self._discard(*pending.paths))
            raise
        pending.future.set_result(IngestResult(pending.record.id, "created"))

    async def _discard(self, *paths: str | None) -> None:
        for path in paths:
            if path:
                await asyncio.to_thread(self.store.remove_blocking, path)
                async with self.db.transaction() as conn:
                    await self.assets.drop_intent(conn, path)

    async def _check_quota(self, owner_id: str, size: int, lookup: _Lookup | None = None) -> None:
        user = lookup.user if lookup is not None else await self.users.get(owner_id)
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

    async def ingest_path(
        self, request: IngestRequest, source: Path, sidecar: Path | None = None, *,
        stop: threading.Event | None = None, progress: Callable[[int], None] | None = None,
        batch: bool = False, copy_slots: asyncio.Semaphore | None = None,
    ) -> IngestResult:
        """Copy a file from disk (a card, a folder) through staging and ingest it, hashing while copying.

        `stop` (set from another thread or the loop) aborts the copy between chunks with `ImportStopped`;
        `progress` is called from the copying thread with each chunk's size. Whatever happens, nothing is
        left in staging: a failed or cancelled copy removes its own `.part`.
        `batch`: stage without an fsync per file; the group commit makes the whole group durable with one
        filesystem sync before placing it (for imports, which keep many files in flight). `copy_slots`
        bounds how many copies run at once while more files wait for their commit.
        """
        async with copy_slots or contextlib.nullcontext():
            staged = await self._stage_path(source, stop, progress, durable=not batch)
            if sidecar is not None:
                try:
                    request.sidecar = await self._stage_path(sidecar, stop, None, durable=not batch)
                except BaseException:
                    await asyncio.shield(asyncio.to_thread(staged.path.unlink, True))
                    raise
        return await self.ingest(request, staged)

    def stage_path_blocking(
        self, source: Path, sidecar: Path | None = None, *, stop: threading.Event | None = None,
        progress: Callable[[int], None] | None = None, batch: bool = False, buffer: bytearray | None = None,
    ) -> tuple[StagedFile, StagedFile | None]:
        """The copying half of `ingest_path`, for callers that copy in threads of their own (an import keeps
        copying while the loop commits): the staged file and sidecar, to be passed to `ingest` (the sidecar
        as `request.sidecar`). See `Stager.stage_path_blocking`."""
        return self.stager.stage_path_blocking(source, sidecar, stop=stop, progress=progress, batch=batch,
                                               buffer=buffer)

    async def _stage_path(
        self, source: Path, stop: threading.Event | None, progress: Callable[[int], None] | None,
        durable: bool = True,
    ) -> StagedFile:
        stop = stop or threading.Event()
        copy = asyncio.ensure_future(
            asyncio.to_thread(self.stager.copy_blocking, source, stop, progress, durable)
        )
        try:
            return await asyncio.shield(copy)
        except asyncio.CancelledError:
            # the thread cannot be cancelled: tell it to stop, wait for it, and drop what it made
            stop.set()
            with contextlib.suppress(BaseException):
                staged = await copy
                await asyncio.to_thread(staged.path.unlink, True)
            raise


def file_times(path: Path) -> tuple[datetime, datetime]:
    """(created, modified) of a file on disk, for imports that have no client-provided dates."""
    from datetime import UTC

    stat = os.stat(path)
    modified = datetime.fromtimestamp(stat.st_mtime, UTC)
    created = datetime.fromtimestamp(min(stat.st_mtime, getattr(stat, "st_birthtime", stat.st_mtime)), UTC)
    return created, modified
