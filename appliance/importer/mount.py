"""Mounting cards read-only, and how the unprivileged server gets hold of a mounted card.

The privileged side (`appliance.importer.helper`, run as root by `shoebox-import@<dev>.service`) mounts
`/dev/<dev>` under `<runtime dir>/<dev>` and then writes `<runtime dir>/<dev>.json` (the manifest) with
what it mounted; removing the manifest is the last thing it does on unmount. The server only reads
manifests (`ManifestMounter`), and asks for an unmount by creating `<runtime dir>/<dev>.ctl/release`
(a folder the helper hands to the server's user), which the helper's small holder process watches.
So the server never needs a privilege, a socket to root, or the network.

Mount choices: ext2/3/4 with `ro,noload` (no journal replay: plain `ro` still writes to an ext4 that
was not cleanly unmounted); FAT/exFAT/NTFS through the kernel driver when the kernel has it, else FUSE
(`fusefat`, `exfat-fuse`, `ntfs-3g`); always `ro,nosuid,nodev,noexec,noatime`, and the block device is
set read-only first (`blockdev --setro`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from appliance.importer.devices import BlockDevice

log = logging.getLogger(__name__)

DEFAULT_RUNTIME_DIR = Path("/run/shoebox-import")
SAFE = "ro,nosuid,nodev,noexec,noatime"
EXT = frozenset({"ext2", "ext3", "ext4"})
KERNEL_NAMES = {"vfat": "vfat", "exfat": "exfat", "ntfs": "ntfs3", "ntfs3": "ntfs3", "hfsplus": "hfsplus",
                "btrfs": "btrfs", "xfs": "xfs", "ext2": "ext4", "ext3": "ext4", "ext4": "ext4"}
FUSE_DRIVERS = {"vfat": "fusefat", "exfat": "mount.exfat-fuse", "ntfs": "ntfs-3g", "ntfs3": "ntfs-3g"}


@dataclass(frozen=True)
class MountPlan:
    driver: str  # kernel | fuse
    argv: list[str]


def plan_mount(fs_type: str, devnode: str, target: str, *, kernel_filesystems: set[str],
               uid: int | None = None, gid: int | None = None,
               which: Callable[[str], str | None] = shutil.which) -> MountPlan:
    """The mount command for a filesystem: a pure function of what the machine has."""
    fs = fs_type.lower()
    owner = [f"uid={uid}", f"gid={gid}"] if uid is not None and gid is not None else []
    kernel = KERNEL_NAMES.get(fs)
    if fs in EXT and kernel in kernel_filesystems:
        return MountPlan("kernel", ["mount", "-t", kernel, "-o", f"{SAFE},noload", devnode, target])
    if kernel is not None and kernel in kernel_filesystems and fs not in EXT:
        options = [SAFE]
        if fs in ("vfat", "exfat", "ntfs", "ntfs3"):
            options += [*owner, "fmask=0333", "dmask=0222"]
        if fs == "xfs":
            options.append("norecovery")
        return MountPlan("kernel", ["mount", "-t", kernel, "-o", ",".join(options), devnode, target])
    fuse = FUSE_DRIVERS.get(fs)
    if fuse is not None and which(fuse):
        options = [SAFE, "allow_other", *owner, "umask=0222"] if fs == "vfat" else [SAFE, *owner, "umask=0222"]
        return MountPlan("fuse", [fuse, "-o", ",".join(options), devnode, target])
    raise MountError(f"cannot mount {fs_type or 'an unknown filesystem'}: no kernel driver and no FUSE driver")


class MountError(Exception):
    pass


@dataclass
class Manifest:
    """What the helper mounted, written to `<runtime dir>/<name>.json` once the mount is ready."""

    name: str
    devnode: str
    mountpoint: str
    fs_type: str
    fs_uuid: str
    label: str
    driver: str
    mounted_at: str
    release_dir: str = ""
    holder_pid: int = 0
    restore_rw: bool = False

    def device(self) -> BlockDevice:
        return BlockDevice(name=self.name, devnode=self.devnode, fs_type=self.fs_type, fs_uuid=self.fs_uuid,
                           label=self.label)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        data = json.loads(path.read_text())
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**known)

    def write(self, path: Path) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=1))
        os.replace(temporary, path)


def manifest_path(runtime_dir: Path, name: str) -> Path:
    return runtime_dir / f"{name}.json"


@dataclass
class MountedSource:
    """A mounted card as the importer sees it; `release()` asks for the unmount."""

    path: Path
    manifest: Manifest
    _release: Callable[[], Any] | None = None

    async def release(self) -> None:
        if self._release is not None:
            result = self._release()
            if asyncio.iscoroutine(result):
                await result


class Mounter(Protocol):
    async def acquire(self, device: BlockDevice) -> MountedSource: ...


class ManifestMounter:
    """The server's side: wait for the helper's manifest for this device, unprivileged."""

    def __init__(self, runtime_dir: Path = DEFAULT_RUNTIME_DIR, *, timeout: float = 30.0, poll: float = 0.25) -> None:
        self.runtime_dir = runtime_dir
        self.timeout = timeout
        self.poll = poll

    async def acquire(self, device: BlockDevice) -> MountedSource:
        path = manifest_path(self.runtime_dir, device.name)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            with contextlib.suppress(FileNotFoundError, ValueError):
                manifest = Manifest.read(path)
                return MountedSource(Path(manifest.mountpoint), manifest,
                                     functools.partial(self._request_release, manifest))
            if loop.time() > deadline:
                raise MountError(f"{device.name} was not mounted by shoebox-import@{device.name}.service within "
                                 f"{self.timeout:.0f} s (no {path})")
            await asyncio.sleep(self.poll)

    @staticmethod
    def _request_release(manifest: Manifest) -> None:
        if not manifest.release_dir:
            return
        try:
            (Path(manifest.release_dir) / "release").touch()
        except OSError as err:
            log.info("could not ask for %s to be unmounted (%s); it will be when removed", manifest.name, err)


class HelperMounter:
    """For a root process (tests, `shoebox import` run as root): run the helper directly."""

    def __init__(self, runtime_dir: Path, *, data_dir: Path | None = None, helper: list[str] | None = None,
                 hold: bool = False) -> None:
        import sys

        self.runtime_dir = runtime_dir
        self.data_dir = data_dir
        self.helper = helper or [sys.executable, "-m", "appliance.importer.helper"]
        self.hold = hold

    def _argv(self, action: str, device: BlockDevice) -> list[str]:
        argv = [*self.helper, action, device.devnode or device.name, "--runtime-dir", str(self.runtime_dir)]
        if self.data_dir is not None and action == "mount":
            argv += ["--data-dir", str(self.data_dir)]
        if action == "mount" and not self.hold:
            argv.append("--no-holder")
        return argv

    async def _run(self, argv: list[str]) -> None:
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise MountError(f"{' '.join(argv[-4:])} failed ({process.returncode}): {output.decode().strip()}")

    async def acquire(self, device: BlockDevice) -> MountedSource:
        await self._run(self._argv("mount", device))
        manifest = Manifest.read(manifest_path(self.runtime_dir, Path(device.devnode or device.name).name))
        return MountedSource(Path(manifest.mountpoint), manifest, lambda: self._run(self._argv("unmount", device)))


class FolderMounter:
    """A fake for tests: "mounts" a device by handing out a folder, with the manifest the helper would write."""

    def __init__(self, cards: dict[str, Path] | None = None) -> None:
        self.cards = dict(cards or {})
        self.released: list[str] = []

    async def acquire(self, device: BlockDevice) -> MountedSource:
        folder = self.cards.get(device.name)
        if folder is None:
            raise MountError(f"no card folder for {device.name}")
        manifest = Manifest(name=device.name, devnode=device.devnode, mountpoint=str(folder),
                            fs_type=device.fs_type, fs_uuid=device.fs_uuid, label=device.label, driver="folder",
                            mounted_at="")
        return MountedSource(folder, manifest, functools.partial(self.released.append, device.name))
