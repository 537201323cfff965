"""Real card images (ext4, FAT, exFAT) on loop devices, mounted read-only by the real mount helper (kernel
driver for ext4, FUSE for FAT/exFAT on this kernel), imported, and pulled mid-import.

udev cannot run here, so the device event is fed by the fake source with the properties udev would give a
USB card; everything after the event (helper, mount, walk, ingest, unmount) is the real thing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.config import Settings
from appliance.importer import service as service_module
from appliance.importer.devices import BlockDevice, FakeEventSource
from appliance.importer.events import Event
from appliance.importer.manager import ImportManager, running
from appliance.importer.mount import HelperMounter
from appliance.services import Services
from appliance.storage.records import UserRecord
from tests.api.conftest import jpeg_bytes
from tests.importer.conftest import asset_names, rows, write
from tests.importer.test_auto_import import next_session
from tests.importer.test_pulled_card import assert_library_consistent

pytestmark = pytest.mark.slow


def need(*tools: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("real card images need root (loop devices, mount)")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"missing tools: {', '.join(missing)} (scripts/setup.sh --test installs them)")


def run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


def camera_tree(root: Path, *, bulk: int = 0, bulk_size: int = 0) -> Path:
    dcim = root / "DCIM" / "100CANON"
    write(dcim / "IMG_0001.JPG", jpeg_bytes(1, (320, 240)))
    write(dcim / "IMG_0001.XMP", b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    write(dcim / "IMG_0002.JPG", jpeg_bytes(2, (320, 240)))
    write(dcim / "IMG_0003.MOV", b"\x00\x00\x00\x14ftypqt  " + os.urandom(50_000))
    write(dcim / "IMG_0003.JPG", jpeg_bytes(3, (320, 240)))
    write(root / "MISC" / "AUTPRINT.MRK", b"[HDR]")
    for i in range(bulk):
        write(root / "DCIM" / "101BULK" / f"BULK{i:04d}.JPG", bytes([i % 256]) * 16 + os.urandom(bulk_size))
    return root


EXPECTED = {"IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG", "IMG_0003.MOV"}


def ext4_image(tree: Path, image: Path, label: str) -> None:
    size = max(16, int(sum(p.stat().st_size for p in tree.rglob("*") if p.is_file()) / 1e6 * 1.4) + 8)
    run("mkfs.ext4", "-q", "-L", label, "-d", str(tree), str(image), f"{size}M")


def fat_image(tree: Path, image: Path, label: str) -> None:
    """mkfs.vfat + mtools: a camera card built without mounting anything."""
    size_kb = max(8192, int(sum(p.stat().st_size for p in tree.rglob("*") if p.is_file()) / 1024 * 1.3) + 4096)
    run("mkfs.vfat", "-C", "-n", label, str(image), str(size_kb))
    for folder in sorted(p for p in tree.rglob("*") if p.is_dir()):
        run("mmd", "-i", str(image), "::" + str(folder.relative_to(tree)))
    for file in sorted(p for p in tree.rglob("*") if p.is_file()):
        run("mcopy", "-m", "-i", str(image), str(file), "::" + str(file.relative_to(tree)))


def exfat_image(tree: Path, image: Path, label: str, work: Path) -> None:
    """mkfs.exfat, then filled through exfat-fuse (read-write) once; no mtools exist for exFAT."""
    size = max(16, int(sum(p.stat().st_size for p in tree.rglob("*") if p.is_file()) / 1e6 * 1.3) + 8)
    with open(image, "wb") as handle:
        handle.truncate(size * 1024 * 1024)
    run("mkfs.exfat", "-L", label, str(image))
    with loop_device(image, read_only=False) as devnode:
        target = work / "fill"
        target.mkdir()
        run("blockdev", "--setrw", devnode)
        run("mount.exfat-fuse", devnode, str(target))
        try:
            shutil.copytree(tree, target, dirs_exist_ok=True, copy_function=shutil.copy2)
        finally:
            run("umount", str(target))


@contextlib.contextmanager
def loop_device(image: Path, *, read_only: bool = True) -> Iterator[str]:
    devnode = run("losetup", "-f", "--show", *(["-r"] if read_only else []), str(image))
    try:
        yield devnode
    finally:
        subprocess.run(["losetup", "-d", devnode], capture_output=True)


def usb_card(devnode: str) -> BlockDevice:
    """What udev would report for a USB card reader partition (probed here with blkid)."""
    found = dict(line.split("=", 1) for line in run("blkid", "-p", "-o", "export", devnode).splitlines())
    name = Path(devnode).name
    return BlockDevice(name=name, devnode=devnode, devtype="disk", disk=name, fs_type=found["TYPE"],
                       fs_uuid=found.get("UUID", ""), label=found.get("LABEL", ""), bus="usb")


def fuse_pids(mountpoint: Path) -> list[int]:
    """The FUSE driver serving this test's mount point (found by its unique path)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if str(mountpoint).encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
    return pids


@pytest.fixture
def runtime_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "run"
    yield path
    for line in Path("/proc/mounts").read_text().splitlines():  # never leave a mount behind, even a dead one
        target = line.split()[1]
        if target.startswith(str(path) + "/"):
            subprocess.run(["umount", "-l", target], capture_output=True)


async def no_fuse_driver_left(runtime_dir: Path) -> bool:
    """A FUSE driver exits just after its unmount: give it a moment."""
    import asyncio

    for _ in range(50):
        if not fuse_pids(runtime_dir):
            return True
        await asyncio.sleep(0.1)
    return False


def build(kind: str, tree: Path, tmp_path: Path, label: str) -> Path:
    image = tmp_path / f"card-{kind}.img"
    if kind == "ext4":
        need("mkfs.ext4", "losetup", "blkid", "mount")
        ext4_image(tree, image, label)
    elif kind == "vfat":
        need("mkfs.vfat", "mmd", "mcopy", "fusefat", "losetup", "blkid")
        fat_image(tree, image, label)
    else:
        need("mkfs.exfat", "mount.exfat-fuse", "losetup", "blkid")
        if not Path("/dev/fuse").exists():
            pytest.skip("no /dev/fuse: FUSE cannot run here")
        exfat_image(tree, image, label, tmp_path)
    return image


@pytest.mark.parametrize("kind", ["ext4", "vfat", "exfat"])
async def test_real_card_is_mounted_read_only_imported_and_unmounted(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path, runtime_dir: Path, kind: str
) -> None:
    image = build(kind, camera_tree(tmp_path / "tree"), tmp_path, "CARD_" + kind.upper())
    before = image.read_bytes()
    source = FakeEventSource()
    mounter = HelperMounter(runtime_dir, data_dir=settings.data_dir)
    manager = ImportManager(services.imports, source, mounter, debounce=0.05)
    with loop_device(image) as devnode:
        card = usb_card(devnode)
        async with running(manager):
            source.insert(card)
            session = await next_session(manager)
        assert session.state == "completed", session.error
        assert session.fs_type == kind and session.label == "CARD_" + kind.upper()
        assert session.imported == 4 and session.failed == 0
        assert {n.upper() for n in asset_names(settings)} == EXPECTED
        (xmp,) = rows(settings, "SELECT sidecar_path FROM assets WHERE upper(original_file_name) = 'IMG_0001.JPG'")
        assert xmp[0]
        # unmounted and cleaned up when done; the card image is byte for byte what it was
        assert os.listdir(runtime_dir) == []
        assert await no_fuse_driver_left(runtime_dir)
    assert image.read_bytes() == before


def test_mount_is_read_only_and_safe(tmp_path: Path, runtime_dir: Path) -> None:
    image = build("ext4", camera_tree(tmp_path / "tree"), tmp_path, "SAFE")
    with loop_device(image) as devnode:
        run(*HelperMounter(runtime_dir).helper, "mount", devnode, "--runtime-dir", str(runtime_dir), "--no-holder")
        try:
            mountpoint = runtime_dir / Path(devnode).name
            options = next(line.split()[3] for line in Path("/proc/mounts").read_text().splitlines()
                           if line.split()[1] == str(mountpoint))
            assert {"ro", "nosuid", "nodev", "noexec"} <= set(options.split(","))
            with pytest.raises(OSError):
                (mountpoint / "DCIM" / "new.jpg").write_bytes(b"x")
        finally:
            run(*HelperMounter(runtime_dir).helper, "unmount", devnode, "--runtime-dir", str(runtime_dir))
        assert not mountpoint.exists()


def test_helper_refuses_what_is_not_a_card(tmp_path: Path, runtime_dir: Path) -> None:
    need("losetup")
    helper = HelperMounter(runtime_dir).helper
    not_block = subprocess.run([*helper, "mount", str(tmp_path), "--runtime-dir", str(runtime_dir)],
                               capture_output=True, text=True)
    assert not_block.returncode == 1 and "not a block device" in not_block.stderr
    blank = tmp_path / "blank.img"
    blank.write_bytes(b"\0" * 1024 * 1024)
    with loop_device(blank) as devnode:
        result = subprocess.run([*helper, "mount", devnode, "--runtime-dir", str(runtime_dir)],
                                capture_output=True, text=True)
    assert result.returncode == 1 and "no filesystem" in result.stderr


@pytest.mark.parametrize("kind", ["vfat", "exfat", "ext4"])
async def test_real_card_pulled_mid_import_resumes_on_reinsertion(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path, runtime_dir: Path, kind: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FAT/exFAT: the FUSE driver is killed (reads fail with ENOTCONN). ext4: the device is removed the way
    the unit does it (remove event, lazy unmount, loop device detached)."""
    # more files than the importer reads ahead of their commit, so the pull after the first commits lands
    # while files remain to be read
    monkeypatch.setattr(services.imports, "window", 40)
    bulk = services.imports.window + 24
    image = build(kind, camera_tree(tmp_path / "tree", bulk=bulk, bulk_size=300_000), tmp_path, "PULL")
    monkeypatch.setattr(service_module, "PROGRESS_INTERVAL", 0.0)
    source = FakeEventSource()
    manager = ImportManager(services.imports, source, HelperMounter(runtime_dir, data_dir=settings.data_dir),
                            debounce=0.05)
    pulled: list[str] = []

    with loop_device(image) as devnode:
        card = usb_card(devnode)
        mountpoint = runtime_dir / card.name

        def pull(event: Event) -> None:
            session = event.get("session")
            if pulled or not isinstance(session, dict) or session["imported"] < 6:
                return
            if kind == "ext4":
                source.pull(card)
                subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)
                subprocess.run(["losetup", "-d", devnode], capture_output=True)
                pulled.append("removed")
            else:
                for pid in fuse_pids(mountpoint):
                    os.kill(pid, signal.SIGKILL)
                    pulled.append(str(pid))

        services.imports.events.listeners.append(pull)
        async with running(manager):
            source.insert(card)
            first = await next_session(manager)
        services.imports.events.listeners.remove(pull)
    assert pulled, "the card was never pulled"
    assert first.state == "interrupted", first.error
    assert 0 < first.imported < first.found
    assert len(asset_names(settings)) == first.imported
    assert_library_consistent(settings)
    assert os.listdir(runtime_dir) == []  # the dead mount was cleaned up

    with loop_device(image) as devnode:  # the same card again, maybe as another loop device
        source = FakeEventSource()
        manager = ImportManager(services.imports, source, HelperMounter(runtime_dir, data_dir=settings.data_dir),
                                debounce=0.05)
        async with running(manager):
            source.insert(usb_card(devnode))
            second = await next_session(manager)
    assert second.state == "completed", second.error
    assert second.resumed_from == first.id and second.album_id == first.album_id
    assert first.imported + second.imported == len(asset_names(settings)) == len(EXPECTED) + bulk
    assert_library_consistent(settings)


async def test_unit_flow_helper_mounts_server_imports_and_release_unmounts(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path, runtime_dir: Path
) -> None:
    """As under systemd: the unit runs `shoebox-mount-helper mount <dev>`, the unprivileged server finds the
    manifest, imports, and asks for release; the helper's holder unmounts."""
    import asyncio

    from appliance.importer.mount import Manifest, ManifestMounter, manifest_path

    image = build("vfat", camera_tree(tmp_path / "tree"), tmp_path, "UNITFLOW")
    with loop_device(image) as devnode:
        card = usb_card(devnode)
        run(*HelperMounter(runtime_dir).helper, "mount", devnode, "--runtime-dir",
            str(runtime_dir), "--data-dir", str(settings.data_dir))
        holder = Manifest.read(manifest_path(runtime_dir, card.name)).holder_pid
        try:
            source = FakeEventSource()
            manager = ImportManager(services.imports, source, ManifestMounter(runtime_dir), debounce=0.05)
            async with running(manager):
                source.insert(card)
                session = await next_session(manager)
            assert session.state == "completed" and session.imported == 4
            for _ in range(100):  # the holder polls twice a second
                if not os.listdir(runtime_dir):
                    break
                await asyncio.sleep(0.1)
            assert os.listdir(runtime_dir) == []
            assert await no_fuse_driver_left(runtime_dir)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(holder, signal.SIGTERM)
