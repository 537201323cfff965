"""Real services on a temporary data folder, an admin to import into, and camera "cards" built as folders."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.config import Settings
from appliance.importer.devices import BlockDevice
from appliance.library.ingest import IngestRequest, file_times
from appliance.services import Services, build_services
from appliance.storage.records import UserRecord
from tests.api.conftest import jpeg_bytes

PASSWORD = "correct horse battery staple"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", mdns=False, jobs_enabled=False, import_auto=False)


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    svc = build_services(settings)
    await svc.db.open()
    await svc.ingest.recover()
    await svc.imports.recover()
    yield svc
    await svc.db.close()


@pytest.fixture
async def admin(services: Services) -> UserRecord:
    return await services.auth.sign_up_admin(email="admin@example.com", name="Admin", password=PASSWORD)


@dataclass
class Card:
    root: Path
    device: BlockDevice
    new_files: set[str]  # original file names that must become new assets
    duplicate_names: set[str]  # names of files whose bytes the library already has
    live_photo: tuple[str, str]  # (still, video)
    sidecar_for: str


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def build_card(root: Path, outside: Path, *, label: str = "EOS_DIGITAL", uuid: str = "1234-ABCD",
               name: str = "sdb1", heic: bytes | None = None) -> Card:
    """A camera card: DCIM with sidecars and a live-photo pair, a copy of a library photo, a non-media file,
    a symlink pointing outside, hidden and system folders with photos that must not be imported."""
    dcim = root / "DCIM" / "100CANON"
    write(dcim / "IMG_0001.JPG", jpeg_bytes(1, (320, 240)))
    write(dcim / "IMG_0001.xmp", b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF/></x:xmpmeta>")
    write(dcim / "IMG_0002.JPG", jpeg_bytes(2, (320, 240)))
    write(dcim / "IMG_0003.JPG", jpeg_bytes(100, (320, 240)))  # the library already has these bytes
    write(dcim / "NOTES.TXT", b"not a photo")
    apple = root / "DCIM" / "101APPLE"
    write(apple / "IMG_1000.HEIC", heic or b"\x00\x00\x00\x18ftypheic" + os.urandom(4000))
    write(apple / "IMG_1000.MOV", b"\x00\x00\x00\x14ftypqt  " + os.urandom(8000))
    write(root / "PRIVATE" / "M4ROOT" / "CLIP" / "C0001.MP4", b"\x00\x00\x00\x18ftypmp42" + os.urandom(6000))
    write(root / ".Trashes" / "501" / "OLD.JPG", jpeg_bytes(7))
    write(root / "System Volume Information" / "IndexerVolumeGuid.jpg", jpeg_bytes(8))
    write(root / "MISC" / "AUTPRINT.MRK", b"[HDR]")
    write(outside / "secret.jpg", jpeg_bytes(9))
    (dcim / "LINK.JPG").symlink_to(outside / "secret.jpg")
    device = BlockDevice(name=name, devnode=f"/dev/{name}", devtype="partition", disk=name.rstrip("0123456789"),
                         fs_type="vfat", fs_uuid=uuid, label=label, bus="usb")
    return Card(
        root=root, device=device,
        new_files={"IMG_0001.JPG", "IMG_0002.JPG", "IMG_1000.HEIC", "IMG_1000.MOV", "C0001.MP4"},
        duplicate_names={"IMG_0003.JPG"}, live_photo=("IMG_1000.HEIC", "IMG_1000.MOV"), sidecar_for="IMG_0001.JPG",
    )


async def add_to_library(services: Services, owner: UserRecord, data: bytes, tmp: Path, name: str) -> str:
    """Put a photo in the library the way an upload does (the same ingest path)."""
    path = write(tmp / name, data)
    created, modified = file_times(path)
    request = IngestRequest(owner_id=owner.id, filename=name, file_created_at=created, file_modified_at=modified)
    result = await services.ingest.ingest_path(request, path)
    return result.id


def rows(settings: Settings, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
    """Read the database file directly, as a second process would."""
    conn = sqlite3.connect(settings.database_path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def asset_names(settings: Settings) -> list[str]:
    return sorted(row["original_file_name"] for row in rows(settings, "SELECT original_file_name FROM assets"))


def staging_leftovers(settings: Settings) -> list[Path]:
    return list((settings.data_dir / "upload-tmp").iterdir())


def library_files(settings: Settings) -> list[Path]:
    return [p for p in (settings.data_dir / "library").rglob("*") if p.is_file()]


@pytest.fixture
def heic_bytes() -> bytes:
    """A real iPhone HEIC when the shared test photos are there; the import itself does not decode it."""
    from tests.conftest import TEST_ASSETS

    real = TEST_ASSETS / "formats" / "heic" / "IMG_2682.heic"
    return real.read_bytes() if real.is_file() else b"\x00\x00\x00\x18ftypheic" + b"\x01" * 5000


def copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, symlinks=True)
