"""Card auto-import driven by fake udev events: the same manager, service and ingest path as the real thing,
with a folder standing in for the mounted card."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from appliance.config import Settings
from appliance.importer.devices import FakeEventSource
from appliance.importer.manager import ImportManager, running
from appliance.importer.mount import FolderMounter
from appliance.services import Services
from appliance.storage.imports import ImportSessionRecord
from appliance.storage.records import UserRecord
from tests.api.conftest import jpeg_bytes
from tests.importer.conftest import add_to_library, asset_names, build_card, library_files, rows, staging_leftovers


async def next_session(manager: ImportManager) -> ImportSessionRecord:
    return await asyncio.wait_for(manager.finished.get(), 60)


def album_rows(settings: Settings) -> list[dict[str, object]]:
    found = []
    for album in rows(settings, "SELECT id, name, owner_id FROM albums WHERE deleted_at IS NULL"):
        members = rows(
            settings,
            "SELECT a.original_file_name FROM album_assets aa JOIN assets a ON a.id = aa.asset_id"
            " WHERE aa.album_id = ?",
            (album["id"],),
        )
        found.append({"name": album["name"], "owner": album["owner_id"],
                      "assets": sorted(m[0] for m in members)})
    return found


async def test_inserted_card_becomes_assets_in_an_album_named_after_it(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path, heic_bytes: bytes
) -> None:
    await add_to_library(services, admin, jpeg_bytes(100, (320, 240)), tmp_path / "phone", "from-phone.jpg")
    card = build_card(tmp_path / "card", tmp_path / "outside", heic=heic_bytes)
    source = FakeEventSource()
    manager = ImportManager(services.imports, source, FolderMounter({"sdb1": card.root}), debounce=0.05)

    async with running(manager):
        source.insert(card.device)
        session = await next_session(manager)

    assert session.state == "completed", session.error
    assert (session.found, session.imported, session.duplicates, session.failed) == (6, 5, 1, 0)
    assert session.label == "EOS_DIGITAL" and session.fs_uuid == "1234-ABCD"
    # the card's photos and videos, once each; nothing from hidden/system folders, the text file or the link
    assert asset_names(settings) == sorted(card.new_files | {"from-phone.jpg"})
    # sidecar travelled with its photo
    (with_sidecar,) = rows(settings, "SELECT sidecar_path FROM assets WHERE original_file_name = 'IMG_0001.JPG'")
    assert with_sidecar["sidecar_path"] and (settings.data_dir / with_sidecar["sidecar_path"]).is_file()
    # live photo: the still points at the (hidden) video
    (still,) = rows(settings, "SELECT live_photo_video_id FROM assets WHERE original_file_name = 'IMG_1000.HEIC'")
    (video,) = rows(settings, "SELECT id, visibility FROM assets WHERE original_file_name = 'IMG_1000.MOV'")
    assert still["live_photo_video_id"] == video["id"] and video["visibility"] == "hidden"
    # the album: the card's label and today's date; the library duplicate is in it, the live video is not
    (album,) = album_rows(settings)
    assert str(album["name"]).startswith("EOS_DIGITAL 20") and album["owner"] == admin.id
    assert album["assets"] == sorted({"IMG_0001.JPG", "IMG_0002.JPG", "IMG_1000.HEIC", "C0001.MP4", "from-phone.jpg"})
    assert session.album_id is not None
    sources = {r[0] for r in rows(settings, "SELECT source FROM assets WHERE original_file_name != 'from-phone.jpg'")}
    assert sources == {"import"}
    assert staging_leftovers(settings) == []
    # the card is untouched and was released
    assert sorted(p.name for p in (card.root / "DCIM" / "100CANON").iterdir()) == [
        "IMG_0001.JPG", "IMG_0001.xmp", "IMG_0002.JPG", "IMG_0003.JPG", "LINK.JPG", "NOTES.TXT"]
    assert manager.mounter.released == ["sdb1"]  # type: ignore[attr-defined]


async def test_inserting_the_same_card_again_brings_nothing_new(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    card = build_card(tmp_path / "card", tmp_path / "outside")
    source = FakeEventSource()
    manager = ImportManager(services.imports, source, FolderMounter({"sdb1": card.root}), debounce=0.05)
    async with running(manager):
        source.insert(card.device)
        first = await next_session(manager)
        before = (asset_names(settings), album_rows(settings), sorted(library_files(settings)))
        source.pull(card.device)
        await asyncio.sleep(0.1)
        source.insert(card.device)
        second = await next_session(manager)

    assert first.state == second.state == "completed"
    assert (second.found, second.imported, second.duplicates, second.skipped) == (6, 0, 6, 6)
    assert second.album_id is None
    assert (asset_names(settings), album_rows(settings), sorted(library_files(settings))) == before


async def test_system_disks_and_non_removable_devices_are_ignored(
    services: Services, admin: UserRecord, tmp_path: Path
) -> None:
    card = build_card(tmp_path / "card", tmp_path / "outside", name="sda1")
    source = FakeEventSource(excluded={"sda"})
    nvme = replace(card.device, name="nvme0n1p1", disk="nvme0n1", bus="nvme")
    no_fs = replace(card.device, name="sdc1", disk="sdc", fs_type="", fs_usage="")
    mounter = FolderMounter({"sda1": card.root, "nvme0n1p1": card.root, "sdc1": card.root})
    manager = ImportManager(services.imports, source, mounter, debounce=0.05)
    async with running(manager):
        for device in (card.device, nvme, no_fs):
            source.insert(device)
        await asyncio.sleep(0.3)
    assert manager.finished.empty()
    assert await services.imports.list_sessions() == []


async def test_devices_present_at_start_are_imported_and_bursts_are_debounced(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    card = build_card(tmp_path / "card", tmp_path / "outside")
    superfloppy = replace(card.device, name="sdd", disk="sdd", devtype="disk", devnode="/dev/sdd")
    source = FakeEventSource(present=[superfloppy])
    manager = ImportManager(services.imports, source, FolderMounter({"sdd": card.root}), debounce=0.2)
    async with running(manager):
        for _ in range(5):  # a reader re-enumerating
            source.insert(superfloppy)
        session = await next_session(manager)
        await asyncio.sleep(0.4)
    assert session.state == "completed" and session.imported == 6  # IMG_0003 is new here
    assert manager.finished.empty()  # one session for the whole burst
    assert len(await services.imports.list_sessions()) == 1


async def test_album_template_and_import_user_come_from_settings(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    alice = await services.auth.new_user_record(email="alice@example.com", name="Alice", password="x" * 12,
                                                 is_admin=False)
    async with services.db.transaction() as conn:
        await services.users.users.insert(conn, alice)
    services.imports.user_email = "alice@example.com"
    services.imports.album_template = "Card {label}"
    card = build_card(tmp_path / "card", tmp_path / "outside", label="NIKON")
    source = FakeEventSource()
    manager = ImportManager(services.imports, source, FolderMounter({"sdb1": card.root}), debounce=0.05)
    async with running(manager):
        source.insert(card.device)
        session = await next_session(manager)
    assert session.owner_id == alice.id
    (album,) = album_rows(settings)
    assert album["name"] == "Card NIKON" and album["owner"] == alice.id


async def test_no_album_when_the_template_is_empty(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    services.imports.album_template = ""
    card = build_card(tmp_path / "card", tmp_path / "outside")
    source = FakeEventSource()
    manager = ImportManager(services.imports, source, FolderMounter({"sdb1": card.root}), debounce=0.05)
    async with running(manager):
        source.insert(card.device)
        session = await next_session(manager)
    assert session.state == "completed" and session.imported == 6
    assert album_rows(settings) == []
