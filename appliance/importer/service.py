"""One import session: scan a source, skip what this source already brought, ingest the rest through the
same path as `POST /assets`, file it in the card's album, and keep a visible record of progress.

A session ends `completed`, `interrupted` (the source went away or was stopped: the next session of the
same source resumes, into the same album) or `failed` (the library cannot take more, or a bug).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance.clock import Clock, iso
from appliance.errors import BadRequest, InsufficientStorage, ShoeboxError
from appliance.ids import new_id
from appliance.importer.batcher import IngestBatcher
from appliance.importer.copier import THREADS, WINDOW, Copier, CopySource
from appliance.importer.events import ImportEvents
from appliance.importer.head_start import HeadStart
from appliance.importer.policy import (
    ImportItem,
    Limits,
    ScanResult,
    SourceFile,
    files_to_copy,
    is_gone,
    known_copy,
    scan_blocking,
)
from appliance.library.albums import AlbumService
from appliance.library.context import AuthContext
from appliance.library.ingest import IngestRequest, IngestService
from appliance.library.staging import ImportStopped
from appliance.storage.imports import ImportRepository, ImportSessionRecord, KnownFile
from appliance.storage.records import UserRecord
from appliance.storage.users import UserRepository

log = logging.getLogger(__name__)

DEVICE_ID = "shoebox-import"
ALBUM_BATCH = 50
PROGRESS_INTERVAL = 0.5
# Read errors on this many files in a row mean the card is gone even if its folder still lists (the
# kernel may answer from cache after a USB reader is pulled); fewer are bad files, counted as failed.
GONE_STREAK = 3
# Files in flight: copied, or staged and waiting for their group's commit. Staged files are made durable
# a group at a time (one filesystem sync for all of them, not an fsync each), so many wait together: as
# many as the copiers may have staged, so each group takes every copy finished meanwhile. (With 64, the
# session took new copies only as earlier commits finished, and in some runs ended 20-100 ms after the
# last copy had arrived.)
WORKERS = WINDOW
# Threads copying (the kernel copies, the thread hashes what was stored) ahead of the ingest: one per
# core, hashing runs outside the GIL.
COPIERS = THREADS


@dataclass(frozen=True)
class ImportSource:
    """Where files come from: a mounted card (identified by filesystem UUID + label) or a folder."""

    kind: str  # card | folder
    root: Path
    label: str = ""
    fs_uuid: str = ""
    fs_type: str = ""
    device: str = ""

    @property
    def key(self) -> str:
        if self.kind == "card":
            return f"card:{self.fs_uuid}:{self.label}"
        return f"folder:{Path(self.root).resolve()}"

    @classmethod
    def folder(cls, path: Path) -> ImportSource:
        resolved = Path(path).resolve()
        return cls("folder", resolved, label=resolved.name or str(resolved))


class SourceGone(Exception):
    """The card was pulled (or its driver died, or the import was told to stop)."""


def session_dto(record: ImportSessionRecord) -> dict[str, Any]:
    return {
        "id": record.id, "kind": record.kind, "device": record.device, "label": record.label,
        "fsUuid": record.fs_uuid, "fsType": record.fs_type, "path": record.path, "ownerId": record.owner_id,
        "albumId": record.album_id, "albumName": record.album_name, "resumedFrom": record.resumed_from,
        "state": record.state, "found": record.found, "imported": record.imported,
        "duplicates": record.duplicates, "skipped": record.skipped, "failed": record.failed,
        "bytes": record.bytes, "totalBytes": record.total_bytes, "error": record.error,
        "startedAt": record.started_at, "updatedAt": record.updated_at, "finishedAt": record.finished_at,
    }


@dataclass
class _Run:
    """The mutable state of one running session."""

    record: ImportSessionRecord
    source: ImportSource
    owner: UserRecord
    stop: threading.Event
    known: dict[str, KnownFile] = field(default_factory=dict)
    album_pending: list[str] = field(default_factory=list)
    gone_streak: int = 0  # files in a row that failed with a "source gone" error
    gone_failed: int = 0  # files failed with such errors: not "failed" if the session ends interrupted
    # (they were not recorded as handled, so the resumed session tries them again)
    handled: list[tuple[Any, ...]] = field(default_factory=list)  # import_files rows not yet written
    last_progress: float = 0.0
    copier: CopySource | None = None
    batcher: IngestBatcher | None = None
    copier_closed: asyncio.Future[None] | None = None  # the copier's closing, once the files are all handled

    @property
    def copied(self) -> int:
        """Bytes copied of files not yet counted in `record.bytes` (the progress figure)."""
        return self.copier.copied if self.copier is not None else 0

    @property
    def context(self) -> AuthContext:
        return AuthContext(user=self.owner)


class ImportService:
    def __init__(
        self,
        ingest: IngestService,
        albums: AlbumService,
        users: UserRepository,
        imports: ImportRepository,
        clock: Clock,
        *,
        user_email: str = "",
        album_template: str = "{label} {date}",
        limits: Limits | None = None,
        events: ImportEvents | None = None,
        workers: int = WORKERS,
        copiers: int = COPIERS,
        window: int = WINDOW,
    ) -> None:
        self.ingest = ingest
        self.albums = albums
        self.users = users
        self.imports = imports
        self.clock = clock
        self.user_email = user_email
        self.album_template = album_template
        self.limits = limits or Limits()
        self.events = events or ImportEvents()
        self.workers = workers
        self.copiers = copiers
        self.window = window  # files copied ahead of their commit, at most

    async def recover(self) -> None:
        """At start: sessions a stop or crash cut short become `interrupted`, to be resumed."""
        count = await self.imports.mark_stale_running(iso(self.clock()))
        if count:
            log.info("%d import session(s) were cut short by a restart; they resume at the next insertion", count)

    async def list_sessions(self, limit: int = 100) -> list[ImportSessionRecord]:
        return await self.imports.list_sessions(limit)

    async def get_session(self, session_id: str) -> ImportSessionRecord | None:
        return await self.imports.get_session(session_id)

    async def resolve_owner(self, email: str | None = None) -> UserRecord:
        wanted = (email or self.user_email or "").strip().lower()
        user = await self.users.get_by_email(wanted) if wanted else await self.users.first_admin()
        if user is None:
            raise BadRequest(f"No user {wanted!r} to import into" if wanted else "No admin user to import into yet")
        return user

    def album_name(self, source: ImportSource, template: str | None = None) -> str:
        template = self.album_template if template is None else template
        now = self.clock().astimezone()
        label = source.label or (source.fs_uuid if source.kind == "card" else "Import")
        try:
            return template.format(label=label, date=now.strftime("%Y-%m-%d"), time=now.strftime("%H:%M")).strip()
        except (KeyError, IndexError, ValueError):
            log.warning("bad import_album_template %r; using the card label", template)
            return label

    async def run(
        self, source: ImportSource, *, user_email: str | None = None, album: str | None = None,
        stop: threading.Event | None = None, head_start: HeadStart | None = None,
    ) -> ImportSessionRecord:
        """Import everything new from `source`. `album`: None = the template, "" = no album, else a name.
        `head_start`: the walk and copier threads `shoebox import` started before this (same source, same
        `stop`); the session takes them over, and closes them whatever happens."""
        owner = await self.resolve_owner(user_email)
        # the walk runs while the session is recorded (a transaction: a disk flush)
        if head_start is not None:
            scanning = asyncio.ensure_future(asyncio.to_thread(head_start.scan_blocking))
        else:
            scanning = asyncio.ensure_future(asyncio.to_thread(scan_blocking, source.root, self.limits))
        try:
            run = await self._start(source, owner, album, stop or threading.Event())
        except BaseException:
            scanning.add_done_callback(lambda done: done.cancelled() or done.exception())
            raise
        try:
            scan, run.known = await asyncio.gather(self._scan(run, scanning),
                                                   self.imports.known_files(source.key, owner.id))
            if head_start is not None:
                head_start.tell_known(run.known)
            await self._import_all(run, scan.items, head_start.copier if head_start is not None else None)
            await self._finish(run, "completed")
        except (SourceGone, ImportStopped) as err:
            await self._finish(run, "interrupted", str(err) or "the source went away")
        except OSError as err:
            state = "interrupted" if is_gone(err) else "failed"
            await self._finish(run, state, f"{err.strerror or err} ({getattr(err, 'filename', '') or source.root})")
        except InsufficientStorage as err:
            await self._finish(run, "failed", err.message)
        except asyncio.CancelledError:
            await asyncio.shield(self._finish(run, "interrupted", "the import was cancelled"))
            raise
        except Exception as err:
            log.exception("import from %s failed", source.root)
            await self._finish(run, "failed", str(err))
        finally:
            if run.copier_closed is not None:
                await self._copier_closed(run)
        return run.record

    async def _copier_closed(self, run: _Run) -> None:
        """Wait for the copier's closing that `_import_all` started (its threads, or its process, have
        stopped and what it staged and nobody took is removed). It began once every file was handled or
        given up, so a failure here is logged: the session's outcome stands."""
        assert run.copier_closed is not None
        try:
            await asyncio.shield(run.copier_closed)
        except Exception:
            log.exception("import %s: closing its copier failed", run.record.id)

    async def _start(self, source: ImportSource, owner: UserRecord, album: str | None,
                     stop: threading.Event) -> _Run:
        previous = await self.imports.last_session(source.key, owner.id)
        resumed = previous if previous is not None and previous.state in ("interrupted", "failed") else None
        if album is None and resumed is not None:
            album_id, album_name = resumed.album_id, resumed.album_name
        else:
            album_id, album_name = None, self.album_name(source, album)
        now = iso(self.clock())
        record = ImportSessionRecord(
            id=new_id(), source_key=source.key, kind=source.kind, device=source.device, label=source.label,
            fs_uuid=source.fs_uuid, fs_type=source.fs_type, path=str(source.root), owner_id=owner.id,
            album_id=album_id, album_name=album_name, resumed_from=resumed.id if resumed else None,
            state="running", found=0, imported=0, duplicates=0, skipped=0, failed=0, bytes=0, total_bytes=0,
            error="", started_at=now, updated_at=now, finished_at=None,
        )
        await self.imports.insert_session(record)
        log.info("import %s started from %s (%s) for %s%s", record.id, source.root, source.label or source.key,
                 owner.email, f", resuming {resumed.id}" if resumed else "")
        self._publish("started", record)
        return _Run(record, source, owner, stop)

    async def _scan(self, run: _Run, scanning: asyncio.Future[ScanResult]) -> ScanResult:
        scan = await scanning
        run.record.found, run.record.total_bytes = scan.asset_count, scan.total_bytes
        if scan.truncated:
            run.record.error = f"only the first {self.limits.max_files} files were listed"
        return scan

    async def _import_all(self, run: _Run, items: list[ImportItem], copier: CopySource | None = None) -> None:
        """Copier threads stage the files in order, ahead of the workers; a few workers share the list and
        ingest them; the first fatal error stops the others (between chunks, never by cancelling a commit)
        and is raised once they have all finished. `copier`: one already started on these files."""
        queue = iter(items)
        failures: list[BaseException] = []
        if copier is None:
            copier = Copier(self.ingest.stager, run.stop, threads=self.copiers, window=self.window)
            copier.start(files_to_copy(items, run.known))
        copier.attach()
        run.copier = copier
        workers = max(1, self.workers)
        run.batcher = batcher = IngestBatcher(self.ingest, producers=workers)

        async def import_one(item: ImportItem) -> bool:
            """False once an error stopped the session (the first fatal one is raised at the end)."""
            try:
                await self._import_item(run, item)
                return True
            except Exception as err:
                failures.append(err)
                run.stop.set()
                return False

        async def worker() -> None:
            try:
                for item in queue:
                    if failures or not await import_one(item):
                        return
            finally:
                batcher.producer_done()  # one fewer worker that could add to a batch

        try:
            await self._save(run, force=True)  # what was found, while the first files are copied
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            await asyncio.shield(run.batcher.drain())
            # the copier closes (waiting for its threads or its process to end: 4-7 ms) while the session
            # records how it ended; `run` waits for both
            run.copier_closed = asyncio.ensure_future(run.copier.close())
        if failures:
            raise failures[0]

    def _check_stop(self, run: _Run) -> None:
        if run.stop.is_set():
            raise SourceGone("the card was removed")

    async def _import_item(self, run: _Run, item: ImportItem) -> None:
        video_id: str | None = None
        if item.live_video is not None:
            video_id = await self._import_file(run, item.live_video, None, in_album=False)
        await self._import_file(run, item, video_id)

    async def _import_file(
        self, run: _Run, item: ImportItem, live_video_id: str | None, *, in_album: bool = True
    ) -> str | None:
        """Import one file; returns its asset id (new or existing), or None if it failed."""
        self._check_stop(run)
        source_file = item.file
        known = known_copy(run.known, source_file)
        if known is not None:
            if run.copier is not None:
                run.copier.discard(source_file)  # in case it was copied before the database said so
            run.record.skipped += 1
            run.record.duplicates += 1
            await self._save(run)
            return known.asset_id
        assert run.copier is not None and run.batcher is not None
        try:
            try:
                staged, sidecar = await run.copier.take(source_file)
                request = self._request(run, source_file, live_video_id)
                request.sidecar = sidecar
                result = await run.batcher.ingest_one(request, staged)
            finally:
                run.copier.done(source_file)  # copied or failed, it no longer holds room in the window
        except ImportStopped as err:
            raise SourceGone("the card was removed") from err
        except OSError as err:
            if is_gone(err):
                run.gone_streak += 1
                if run.gone_streak >= GONE_STREAK or not await self._source_alive(run):
                    raise
            await self._failed(run, source_file, str(err), gone=is_gone(err))
            return None
        except InsufficientStorage:
            raise
        except ShoeboxError as err:
            await self._failed(run, source_file, err.message)
            return None
        run.gone_streak = 0
        run.record.bytes += source_file.size
        if result.status == "created":
            run.record.imported += 1
        else:
            run.record.duplicates += 1
        if in_album and not result.is_trashed:
            run.album_pending.append(result.id)
        run.handled.append((
            run.record.source_key, run.owner.id, source_file.relpath, source_file.size, source_file.mtime_ns,
            "imported" if result.status == "created" else "duplicate", result.id, None, run.record.id,
            iso(self.clock()),
        ))
        if result.status == "created" or run.record.album_id:
            await self._flush_album(run, force=len(run.album_pending) >= ALBUM_BATCH)
        await self._save(run)
        return result.id

    def _request(self, run: _Run, source_file: SourceFile, live_video_id: str | None) -> IngestRequest:
        modified = datetime.fromtimestamp(source_file.mtime_ns / 1e9, UTC)
        return IngestRequest(
            owner_id=run.owner.id, filename=source_file.path.name, file_created_at=modified,
            file_modified_at=modified, live_photo_video_id=live_video_id,
            device_asset_id=f"{run.record.source_key}/{source_file.relpath}"[:512], device_id=DEVICE_ID,
            source="import",
        )

    async def _source_alive(self, run: _Run) -> bool:
        """After a read error: is the source still there (one bad file) or gone (pulled card)?"""
        if run.stop.is_set():
            return False

        def probe() -> bool:
            try:
                next(iter(run.source.root.iterdir()), None)
                return run.source.root.is_dir()
            except OSError:
                return False

        return await asyncio.to_thread(probe)

    async def _failed(self, run: _Run, source_file: SourceFile, why: str, *, gone: bool = False) -> None:
        log.warning("import %s: could not import %s: %s", run.record.id, source_file.relpath, why)
        run.record.failed += 1
        run.gone_failed += int(gone)
        await self._save(run)

    async def _flush_album(self, run: _Run, *, force: bool = True) -> None:
        """Put imported assets into the session's album, creating it when the first new asset arrives."""
        if not run.album_pending or not run.record.album_name or not force:
            return
        ids, run.album_pending = run.album_pending, []
        album_id = run.record.album_id
        if album_id is not None and await self.albums.albums.get(album_id) is None:
            album_id = None  # the user deleted it meanwhile: make a new one
        if album_id is None:
            album_id = await self.imports.album_by_name(run.owner.id, run.record.album_name)
        if album_id is None:
            view = await self.albums.create(run.context, {"albumName": run.record.album_name, "assetIds": ids})
            album_id = view.album.id
        else:
            await self.albums.add_assets(run.context, album_id, ids)
        if album_id != run.record.album_id:
            run.record.album_id = album_id
            await self._save(run, force=True)

    async def _save(self, run: _Run, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - run.last_progress < PROGRESS_INTERVAL:
            return
        run.last_progress = now
        # the per-source record goes in with the progress: a crash loses at most the last half second of
        # it, and those files are then found again by checksum (duplicates), never imported twice
        handled, run.handled = run.handled, []
        record = run.record
        record.updated_at = iso(self.clock())
        await self.imports.record_progress(record.id, {
            "album_id": record.album_id, "album_name": record.album_name, "state": record.state,
            "found": record.found, "imported": record.imported, "duplicates": record.duplicates,
            "skipped": record.skipped, "failed": record.failed, "bytes": record.bytes,
            "total_bytes": record.total_bytes, "error": record.error, "updated_at": record.updated_at,
            "finished_at": record.finished_at,
        }, handled)
        self._publish("progress" if record.state == "running" else "finished", record, copying=run.copied)

    async def _finish(self, run: _Run, state: str, error: str = "") -> None:
        if run.record.imported or run.record.album_id:
            try:
                await self._flush_album(run)
            except Exception:
                log.exception("import %s: could not fill the album", run.record.id)
        else:
            run.album_pending.clear()  # nothing new: no album for duplicates alone
        if state == "interrupted":
            # read errors in a session the card left were (most likely) the card going, not bad files;
            # they are retried when the card comes back
            run.record.failed -= run.gone_failed
        run.record.state = state
        if error:
            run.record.error = error
        run.record.finished_at = iso(self.clock())
        await self._save(run, force=True)
        log.info(
            "import %s %s: found %d, imported %d, duplicates %d (%d known from this source), failed %d, %d bytes%s",
            run.record.id, state, run.record.found, run.record.imported, run.record.duplicates, run.record.skipped,
            run.record.failed, run.record.bytes, f" ({error})" if error else "",
        )

    def _publish(self, kind: str, record: ImportSessionRecord, **extra: Any) -> None:
        self.events.publish({"type": kind, "session": session_dto(record), **extra})
