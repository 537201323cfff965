"""`shoebox-mount-helper`: the only privileged part of importing. Run as root by
`shoebox-import@<dev>.service` (started by the udev rule when a card appears, stopped when it goes):

    shoebox-mount-helper mount sdb1      # ExecStart: refuse system disks, setro, mount, write the manifest
    shoebox-mount-helper unmount sdb1    # ExecStop: unmount (lazily if busy), remove manifest and folders

It never writes to the card: the block device is made read-only before the mount, and the mount is
`ro,nosuid,nodev,noexec,noatime` (+ `noload` for ext*). After mounting it leaves a tiny holder process
(in the unit's cgroup, like a FUSE driver) that unmounts as soon as the server asks (`<dev>.ctl/release`)
or the device node disappears, so a finished card is not left mounted.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import pwd
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from appliance.importer.devices import FILESYSTEMS
from appliance.importer.mount import DEFAULT_RUNTIME_DIR, Manifest, MountError, manifest_path, plan_mount

log = logging.getLogger("shoebox-mount-helper")

GUARD_PATHS = ("/", "/boot", "/boot/firmware", "/var/lib/shoebox")
HOLD_POLL = 0.5


def _devnode(name: str) -> str:
    return name if name.startswith("/") else f"/dev/{name}"


def _kernel_filesystems() -> set[str]:
    try:
        lines = Path("/proc/filesystems").read_text().splitlines()
    except OSError:
        return set()
    return {line.split()[-1] for line in lines if line.strip()}


def _disk_of(number: int) -> int:
    """The whole disk's device number for a partition's (itself for a disk), via /sys/dev/block."""
    sys_path = Path(f"/sys/dev/block/{os.major(number)}:{os.minor(number)}")
    with contextlib.suppress(OSError):
        real = sys_path.resolve()
        if (real / "partition").exists():
            major, minor = (real.parent / "dev").read_text().strip().split(":")
            return os.makedev(int(major), int(minor))
    return number


def refuse_system_device(devnode: str, guard_paths: Sequence[str]) -> None:
    """Raise if `devnode` is (on the same disk as) the root, boot or data filesystem."""
    info = os.stat(devnode)
    if not stat.S_ISBLK(info.st_mode):
        raise MountError(f"{devnode} is not a block device")
    ours = {info.st_rdev, _disk_of(info.st_rdev)}
    for path in guard_paths:
        with contextlib.suppress(OSError):
            number = os.stat(path).st_dev
            if os.major(number) != 0 and ours & {number, _disk_of(number)}:
                raise MountError(f"refusing {devnode}: it holds {path}")


def probe(devnode: str) -> dict[str, str]:
    """Filesystem type, UUID and label straight from the device (udev may not have run, e.g. in a container)."""
    result = subprocess.run(["blkid", "-p", "-o", "export", devnode], capture_output=True, text=True)
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    if not values.get("TYPE"):
        raise MountError(f"{devnode} has no filesystem blkid recognises")
    return values


def _owner(data_dir: Path | None, owner: str | None) -> tuple[int | None, int | None]:
    if owner:
        entry = pwd.getpwnam(owner)
        return entry.pw_uid, entry.pw_gid
    if data_dir is not None:
        with contextlib.suppress(OSError):
            info = os.stat(data_dir)
            return info.st_uid, info.st_gid
    return None, None


def do_mount(name: str, runtime_dir: Path, *, data_dir: Path | None, owner: str | None, holder: bool) -> Manifest:
    devnode = _devnode(name)
    name = Path(devnode).name
    manifest_file = manifest_path(runtime_dir, name)
    mountpoint = runtime_dir / name
    if manifest_file.exists() and is_mounted(mountpoint):
        return Manifest.read(manifest_file)  # already mounted: starting the unit twice is harmless
    guards = [*GUARD_PATHS, *([str(data_dir)] if data_dir else [])]
    refuse_system_device(devnode, guards)
    found = probe(devnode)
    fs_type = found.get("TYPE", "")
    if fs_type not in FILESYSTEMS:
        raise MountError(f"{devnode}: {fs_type} is not a filesystem Shoebox imports from")
    was_ro = subprocess.run(["blockdev", "--getro", devnode], capture_output=True, text=True).stdout.strip() == "1"
    subprocess.run(["blockdev", "--setro", devnode], capture_output=True)  # best effort: loop devices may refuse
    runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
    mountpoint.mkdir(exist_ok=True, mode=0o755)
    uid, gid = _owner(data_dir, owner)
    plan = plan_mount(fs_type, devnode, str(mountpoint), kernel_filesystems=_kernel_filesystems(), uid=uid, gid=gid)
    result = subprocess.run(plan.argv, capture_output=True, text=True)
    if result.returncode != 0 or not is_mounted(mountpoint):
        with contextlib.suppress(OSError):
            mountpoint.rmdir()
        raise MountError(f"{' '.join(plan.argv)} failed: {(result.stderr or result.stdout).strip()}")
    release_dir = runtime_dir / f"{name}.ctl"
    release_dir.mkdir(exist_ok=True, mode=0o700)
    if uid is not None and gid is not None:
        os.chown(release_dir, uid, gid)
    manifest = Manifest(
        name=name, devnode=devnode, mountpoint=str(mountpoint), fs_type=fs_type, fs_uuid=found.get("UUID", ""),
        label=found.get("LABEL", ""), driver=plan.driver, mounted_at=datetime.now(UTC).isoformat(),
        release_dir=str(release_dir), restore_rw=not was_ro,
    )
    if holder:
        manifest.holder_pid = _spawn_holder(name, runtime_dir)
    manifest.write(manifest_file)  # last: its presence means "ready"
    log.info("mounted %s (%s %s, label %r) at %s via %s", devnode, fs_type, manifest.fs_uuid, manifest.label,
             mountpoint, plan.driver)
    return manifest


def _spawn_holder(name: str, runtime_dir: Path) -> int:
    process = subprocess.Popen(
        [sys.executable, "-m", "appliance.importer.helper", "hold", name, "--runtime-dir", str(runtime_dir)],
        # no inherited pipes: whoever ran `mount` (systemd, a test) must see it finish
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    return process.pid


def is_mounted(path: Path) -> bool:
    """From the mount table, not `os.path.ismount`: a dead FUSE mount fails stat() with ENOTCONN."""
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return os.path.ismount(path)
    wanted = str(path)
    for line in lines:
        fields = line.split()
        if len(fields) > 1 and fields[1].replace("\\040", " ").replace("\\011", "\t") == wanted:
            return True
    return False


def _unmount_path(mountpoint: Path) -> None:
    for argv in (["umount", str(mountpoint)], ["umount", "-l", str(mountpoint)],
                 ["fusermount", "-u", "-z", str(mountpoint)]):
        if not is_mounted(mountpoint):
            break
        subprocess.run(argv, capture_output=True)


def do_unmount(name: str, runtime_dir: Path, *, from_holder: bool = False) -> None:
    """Idempotent: unmount, then remove the manifest, the mount point and the release folder."""
    name = Path(name).name
    manifest_file = manifest_path(runtime_dir, name)
    manifest: Manifest | None = None
    with contextlib.suppress(OSError, ValueError):
        manifest = Manifest.read(manifest_file)
    mountpoint = runtime_dir / name
    manifest_file.unlink(missing_ok=True)  # first: the server must not start on a card going away
    _unmount_path(mountpoint)
    with contextlib.suppress(OSError):
        mountpoint.rmdir()
    if manifest is not None and manifest.restore_rw and os.path.exists(manifest.devnode):
        # the device outlives the mount (a loop device, a card left in): give it back as we found it
        subprocess.run(["blockdev", "--setrw", manifest.devnode], capture_output=True)
    release_dir = runtime_dir / f"{name}.ctl"
    with contextlib.suppress(OSError):
        (release_dir / "release").unlink(missing_ok=True)
        release_dir.rmdir()
    if manifest is not None and manifest.holder_pid and not from_holder:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(manifest.holder_pid, signal.SIGTERM)
    log.info("unmounted %s", name)


def hold(name: str, runtime_dir: Path) -> None:
    """Wait until the server releases the card, the device goes, or we are told to stop; then unmount."""
    stopping = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    manifest_file = manifest_path(runtime_dir, name)
    release = runtime_dir / f"{name}.ctl" / "release"
    mountpoint = runtime_dir / name
    devnode = _devnode(name)
    started = time.monotonic()
    while not stopping:
        time.sleep(HOLD_POLL)
        if release.exists() or not os.path.exists(devnode):
            break
        if time.monotonic() - started > 5 and not manifest_file.exists() and not is_mounted(mountpoint):
            return  # someone else (ExecStop) already unmounted
    do_unmount(name, runtime_dir, from_holder=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shoebox-mount-helper", description="mount a card read-only for Shoebox")
    sub = parser.add_subparsers(dest="action", required=True)
    for action in ("mount", "unmount", "hold"):
        command = sub.add_parser(action)
        command.add_argument("device", help="kernel name (sdb1) or device node (/dev/sdb1)")
        command.add_argument("--runtime-dir", type=Path, default=DEFAULT_RUNTIME_DIR)
        if action == "mount":
            command.add_argument("--data-dir", type=Path, default=Path("/var/lib/shoebox"),
                                 help="Shoebox's data folder: its disk is never mounted, its owner gets the files")
            command.add_argument("--owner", help="user who may read the mounted files (default: data folder's owner)")
            command.add_argument("--no-holder", dest="holder", action="store_false",
                                 help="do not leave a process that unmounts on release (the caller unmounts)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        if args.action == "mount":
            do_mount(args.device, args.runtime_dir, data_dir=args.data_dir, owner=args.owner, holder=args.holder)
        elif args.action == "unmount":
            do_unmount(args.device, args.runtime_dir)
        else:
            hold(args.device, args.runtime_dir)
    except (MountError, OSError, KeyError) as err:
        log.error("%s %s: %s", args.action, args.device, err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
