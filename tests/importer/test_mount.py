"""Mount commands as a pure function of what the machine has; the server's side waits for the manifest."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from appliance.importer.devices import BlockDevice
from appliance.importer.mount import Manifest, ManifestMounter, MountError, manifest_path, plan_mount

HAS_ALL = {"fusefat", "mount.exfat-fuse", "ntfs-3g"}.__contains__


def which(name: str) -> str | None:
    return f"/usr/bin/{name}" if HAS_ALL(name) else None


@pytest.mark.parametrize(
    ("fs", "kernel", "driver", "argv"),
    [
        ("ext4", {"ext4"}, "kernel", ["mount", "-t", "ext4", "-o", "ro,nosuid,nodev,noexec,noatime,noload"]),
        ("ext3", {"ext4"}, "kernel", ["mount", "-t", "ext4", "-o", "ro,nosuid,nodev,noexec,noatime,noload"]),
        ("vfat", {"vfat"}, "kernel",
         ["mount", "-t", "vfat", "-o", "ro,nosuid,nodev,noexec,noatime,uid=990,gid=990,fmask=0333,dmask=0222"]),
        ("vfat", {"ext4"}, "fuse", ["fusefat", "-o", "ro,nosuid,nodev,noexec,noatime,allow_other,uid=990,gid=990,"
                                    "umask=0222"]),
        ("exfat", {"ext4"}, "fuse", ["mount.exfat-fuse", "-o", "ro,nosuid,nodev,noexec,noatime,uid=990,gid=990,"
                                     "umask=0222"]),
        ("ntfs", {"ext4"}, "fuse", ["ntfs-3g", "-o", "ro,nosuid,nodev,noexec,noatime,uid=990,gid=990,umask=0222"]),
    ],
)
def test_kernel_driver_where_it_exists_fuse_where_not(fs: str, kernel: set[str], driver: str, argv: list[str]) -> None:
    plan = plan_mount(fs, "/dev/sdb1", "/run/shoebox-import/sdb1", kernel_filesystems=kernel, uid=990, gid=990,
                      which=which)
    assert plan.driver == driver
    assert plan.argv == [*argv, "/dev/sdb1", "/run/shoebox-import/sdb1"]


def test_no_driver_at_all_is_a_clear_error() -> None:
    with pytest.raises(MountError, match="no kernel driver and no FUSE driver"):
        plan_mount("exfat", "/dev/sdb1", "/mnt", kernel_filesystems={"ext4"}, which=lambda _: None)


async def test_server_picks_up_the_helpers_manifest_and_asks_for_release(tmp_path: Path) -> None:
    mounter = ManifestMounter(tmp_path, timeout=5, poll=0.02)
    device = BlockDevice(name="sdb1")
    waiting = asyncio.create_task(mounter.acquire(device))
    await asyncio.sleep(0.1)
    assert not waiting.done()  # the helper has not reported yet
    (tmp_path / "sdb1").mkdir()
    (tmp_path / "sdb1.ctl").mkdir()
    Manifest(name="sdb1", devnode="/dev/sdb1", mountpoint=str(tmp_path / "sdb1"), fs_type="vfat", fs_uuid="AB-CD",
             label="CARD", driver="fuse", mounted_at="now", release_dir=str(tmp_path / "sdb1.ctl"),
             ).write(manifest_path(tmp_path, "sdb1"))
    mounted = await asyncio.wait_for(waiting, 5)
    assert mounted.path == tmp_path / "sdb1" and mounted.manifest.label == "CARD"
    await mounted.release()
    assert (tmp_path / "sdb1.ctl" / "release").exists()


async def test_server_gives_up_when_the_helper_never_mounts(tmp_path: Path) -> None:
    with pytest.raises(MountError, match="shoebox-import@sdz1.service"):
        await ManifestMounter(tmp_path, timeout=0.1, poll=0.02).acquire(BlockDevice(name="sdz1"))
