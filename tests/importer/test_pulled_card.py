"""A card pulled mid-import: the session ends `interrupted`, no partial asset or staging file is left, and
the next insertion of the same card resumes and completes, into the same album."""

from __future__ import annotations

import asyncio
import builtins
import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from appliance.config import Settings
from appliance.importer import copier as copier_module
from appliance.importer.devices import BlockDevice, FakeEventSource
from appliance.importer.manager import ImportManager, running
from appliance.importer.mount import FolderMounter
from appliance.importer.service import ImportSource
from appliance.library import staging as staging_module
from appliance.services import Services
from appliance.storage import files as files_module
from appliance.storage.records import UserRecord
from tests.importer.conftest import asset_names, build_card, library_files, rows, staging_leftovers, write
from tests.importer.test_auto_import import album_rows, next_session

REAL_OPEN = builtins.open


class FailingReads:
    """Stands in for `open` inside the ingest module: card files read fine until `after` files have been
    opened; then the next file fails after its first chunk and every later one fails at once."""

    def __init__(self, card: Path, after: int, code: int) -> None:
        self.card = str(card)
        self.after = after
        self.code = code
        self.opened = 0

    def __call__(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if not str(file).startswith(self.card):
            return REAL_OPEN(file, mode, *args, **kwargs)
        self.opened += 1
        if self.opened <= self.after:
            return REAL_OPEN(file, mode, *args, **kwargs)
        if self.opened > self.after + 1:
            raise OSError(self.code, os.strerror(self.code), str(file))
        return _BreaksAfterOneChunk(REAL_OPEN(file, mode, *args, **kwargs), self.code)


class _BreaksAfterOneChunk:
    def __init__(self, handle: Any, code: int) -> None:
        self.handle = handle
        self.code = code
        self.reads = 0

    def __enter__(self) -> _BreaksAfterOneChunk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()

    def fileno(self) -> int:
        return int(self.handle.fileno())

    def readinto(self, buffer: bytearray) -> int:
        self.reads += 1
        if self.reads > 1:
            raise OSError(self.code, os.strerror(self.code))
        return int(self.handle.readinto(buffer))


def big_card(tmp_path: Path) -> Path:
    card = build_card(tmp_path / "card", tmp_path / "outside")
    for i in range(12):  # files of a few MiB so a copy is several chunks long
        write(card.root / "DCIM" / "102BULK" / f"BULK{i:04d}.JPG", bytes([i]) * 10 + os.urandom(3 * 1024 * 1024))
    return card.root


def assert_library_consistent(settings: Settings) -> None:
    """Every file in the library belongs to an asset row and vice versa; staging is empty; no intents."""
    paths = {r[0] for r in rows(settings, "SELECT original_path FROM assets")}
    paths |= {r[0] for r in rows(settings, "SELECT sidecar_path FROM assets WHERE sidecar_path IS NOT NULL")}
    on_disk = {str(p.relative_to(settings.data_dir)) for p in library_files(settings)}
    assert on_disk == paths
    assert staging_leftovers(settings) == []
    assert rows(settings, "SELECT * FROM upload_intents") == []


async def _interrupted_then_reinserted(
    services: Services, settings: Settings, root: Path, heal: Callable[[], None]
) -> tuple[Any, Any]:
    """Insert a card whose reads fail halfway: the session ends interrupted with a consistent library. Then
    `heal` the reads, pull the card and insert it again. Returns both sessions."""
    device = card_device()
    source = FakeEventSource()
    manager = ImportManager(services.imports, source, FolderMounter({"sdb1": root}), debounce=0.05)
    async with running(manager):
        source.insert(device)
        first = await next_session(manager)
        assert first.state == "interrupted", first.error
        assert first.failed == 0 and 0 < first.imported < first.found
        assert_library_consistent(settings)
        assert len(asset_names(settings)) == first.imported

        heal()
        source.pull(device)
        await asyncio.sleep(0.1)
        source.insert(device)
        second = await next_session(manager)
    return first, second


@pytest.mark.parametrize("code", [errno.EIO, errno.ENOENT, errno.ENOTCONN], ids=["EIO", "ENOENT", "ENOTCONN"])
async def test_reads_failing_halfway_interrupt_and_reinsertion_completes(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    code: int,
) -> None:
    root = big_card(tmp_path)
    monkeypatch.setattr(staging_module, "open", FailingReads(root, after=8, code=code), raising=False)
    first, second = await _interrupted_then_reinserted(
        services, settings, root, heal=lambda: monkeypatch.setattr(staging_module, "open", REAL_OPEN, raising=False)
    )
    assert second.state == "completed", second.error
    assert second.resumed_from == first.id
    assert second.skipped == first.imported + first.duplicates
    assert first.imported + second.imported == len(asset_names(settings))
    assert len(asset_names(settings)) == 18  # 6 from the camera folders + 12 bulk files, each once
    assert_library_consistent(settings)
    (album,) = album_rows(settings)  # resumed into the same album
    assert second.album_id == first.album_id
    assert len(album["assets"]) == 17  # everything but the live photo's hidden video


async def test_remove_event_stops_the_copy_in_flight(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = big_card(tmp_path)
    device = card_device()
    reading, release = threading.Event(), threading.Event()

    class SlowRead:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def __enter__(self) -> SlowRead:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def fileno(self) -> int:
            return int(self.handle.fileno())

        def readinto(self, buffer: bytearray) -> int:
            reading.set()
            release.wait(10)
            return int(self.handle.readinto(buffer))

    def slow_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = REAL_OPEN(file, mode, *args, **kwargs)
        return SlowRead(handle) if "BULK0003" in str(file) else handle

    monkeypatch.setattr(staging_module, "open", slow_open, raising=False)
    source = FakeEventSource()
    manager = ImportManager(services.imports, source, FolderMounter({"sdb1": root}), debounce=0.05)
    async with running(manager):
        source.insert(device)
        await asyncio.to_thread(reading.wait, 30)
        source.pull(device)
        await asyncio.sleep(0.05)
        release.set()
        session = await next_session(manager)
    assert session.state == "interrupted"
    assert "BULK0003.JPG" not in asset_names(settings)
    assert_library_consistent(settings)


async def test_card_folder_vanishing_interrupts_at_once(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = big_card(tmp_path)
    device = card_device()
    gone = tmp_path / "gone"

    def vanishing_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if "BULK0002" in str(file):
            root.rename(gone)  # the card leaves while we are about to read it
        return REAL_OPEN(file, mode, *args, **kwargs)

    monkeypatch.setattr(staging_module, "open", vanishing_open, raising=False)
    source = FakeEventSource()
    manager = ImportManager(services.imports, source, FolderMounter({"sdb1": root}), debounce=0.05)
    async with running(manager):
        source.insert(device)
        session = await next_session(manager)
    assert session.state == "interrupted" and session.failed == 0
    assert "No such file" in session.error
    assert_library_consistent(settings)


def card_device() -> BlockDevice:
    return BlockDevice(name="sdb1", devnode="/dev/sdb1", disk="sdb", fs_type="vfat", fs_uuid="1234-ABCD",
                       label="EOS_DIGITAL", bus="usb")


class FailingKernelCopies:
    """Stands in for the kernel copy (copy_file_range/sendfile) of staging: card files copy fine until
    `after` files were started; then the next file fails after its first chunk, every later one at once."""

    def __init__(self, card: Path, after: int, code: int) -> None:
        self.card = str(card)
        self.after = after
        self.code = code
        self.started: dict[str, int] = {}  # path -> chunks copied

    def __call__(self, source_fd: int, out_fd: int, count: int) -> int | None:
        path = os.readlink(f"/proc/self/fd/{source_fd}")
        if path.startswith(self.card):
            if path not in self.started:
                self.started[path] = 0
            number = list(self.started).index(path) + 1
            self.started[path] += 1
            if number > self.after + 1 or (number == self.after + 1 and self.started[path] > 1):
                raise OSError(self.code, os.strerror(self.code))
        return REAL_KERNEL_COPY(source_fd, out_fd, min(count, 1024 * 1024))


REAL_KERNEL_COPY = files_module._kernel_copy


@pytest.mark.parametrize("code", [errno.EIO, errno.ENOTCONN], ids=["EIO", "ENOTCONN"])
async def test_kernel_copies_failing_halfway_interrupt_and_reinsertion_completes(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    code: int,
) -> None:
    """The same pull as above, where it really happens for a real file: inside the kernel's copy."""
    root = big_card(tmp_path)
    monkeypatch.setattr(files_module, "_kernel_copy", FailingKernelCopies(root, after=8, code=code))
    first, second = await _interrupted_then_reinserted(
        services, settings, root, heal=lambda: monkeypatch.setattr(files_module, "_kernel_copy", REAL_KERNEL_COPY)
    )
    assert second.state == "completed", second.error
    assert second.resumed_from == first.id
    assert first.imported + second.imported == len(asset_names(settings)) == 18
    assert_library_consistent(settings)


async def test_more_unreadable_files_than_files_in_flight_fail_one_by_one_and_the_rest_imports(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad files (here every other one cannot be read) each count as failed and give their place in the
    in-flight window back: many more of them than the window does not stall the import."""
    root = tmp_path / "card"
    for i in range(24):
        write(root / "DCIM" / "100BAD" / f"IMG_{i:04d}.JPG", bytes([i]) * 10 + os.urandom(50_000))

    def unreadable(source_fd: int, out_fd: int, count: int) -> int | None:
        name = os.readlink(f"/proc/self/fd/{source_fd}")
        if name.startswith(str(root)) and int(name[-8:-4]) % 2:
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        return REAL_KERNEL_COPY(source_fd, out_fd, count)

    monkeypatch.setattr(files_module, "_kernel_copy", unreadable)
    monkeypatch.setattr(services.imports, "workers", 4)
    record = await asyncio.wait_for(services.imports.run(ImportSource.folder(root)), 60)
    assert record.state == "completed", record.error
    assert (record.imported, record.failed) == (12, 12)
    assert_library_consistent(settings)


async def test_the_copier_closes_while_the_session_records_its_end_and_a_failed_close_is_only_logged(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Once every file is handled, the copier's closing (its threads stopping, leftovers removed) runs beside
    the session's last writes. If it fails, the import still ended as it did: the error goes to the log."""
    card = build_card(tmp_path / "card", tmp_path / "outside")
    real_close = copier_module.Copier.close
    states_seen: list[str] = []

    async def close_then_fail(self: copier_module.Copier) -> None:
        await real_close(self)
        await asyncio.sleep(0.2)  # a slow close: the session has recorded its end meanwhile
        states_seen.extend(r[0] for r in rows(settings, "SELECT state FROM import_sessions"))
        raise OSError(errno.EIO, "staging went away")

    monkeypatch.setattr(copier_module.Copier, "close", close_then_fail)
    record = await asyncio.wait_for(services.imports.run(ImportSource.folder(card.root)), 60)
    assert record.state == "completed" and record.imported == 6
    assert states_seen == ["completed"]  # written before the close had finished
    assert [r[0] for r in rows(settings, "SELECT state FROM import_sessions")] == ["completed"]
    assert "closing its copier failed" in caplog.text
    assert staging_leftovers(settings) == []
