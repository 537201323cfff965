#!/usr/bin/env python3
"""Generate everything the Shoebox image needs besides packages: the rootfs overlay, the apt package list,
and the genimage layout, for one board. Standard library only, runs on any host (build.sh calls it first;
tests call it on x86-64 without binfmt).

    image-build/configure.py --board rpi --out build/config

Output (in --out):
    overlay/        files copied over the Debian root filesystem (static ones from image-build/files/,
                    Shoebox's systemd units, and the board's kernel command line, fstab, firmware config)
    packages.txt    Debian packages for mmdebstrap --include, one per line
    sources.txt     apt sources (one-line format), one per line
    genimage.cfg    the partition layout (boot + read-only root + data), absent for --board none
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STATIC_FILES = HERE / "files"
UNITS = REPO / "systemd"

DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_SECURITY = "http://deb.debian.org/debian-security"
RPI_ARCHIVE = "http://archive.raspberrypi.com/debian"
RPI_KEYRING = "/usr/share/keyrings/raspberrypi-archive-keyring.gpg"

# What Shoebox needs at run time (Debian's libvips decodes HEIC; python3-systemd gives journald logging and
# sd_notify without compiling systemd-python), and what the appliance layer needs.
COMMON_PACKAGES = [
    *("systemd", "systemd-sysv", "systemd-resolved", "systemd-timesyncd", "systemd-zram-generator", "udev"),
    *("dbus", "ca-certificates", "iproute2", "kmod", "util-linux", "e2fsprogs", "dosfstools"),
    *("cloud-guest-utils", "python3", "python3-venv", "python3-systemd"),
    *("libvips42", "ffmpeg", "libimage-exiftool-perl", "fuse3", "fusefat", "exfat-fuse"),
]
BOARD_PACKAGES = {
    # Raspberry Pi OS kernels and firmware: rpi-v8 for Pi 3/4/Zero 2 W, rpi-2712 for Pi 5.
    "rpi": ["raspi-firmware", "linux-image-rpi-v8", "linux-image-rpi-2712", "raspberrypi-archive-keyring"],
    "none": [],
}

# Read-only root: these need to be writable and can be forgotten at power-off.
TMPFS_MOUNTS = {
    "/tmp": "mode=1777,nosuid,nodev,size=25%",
    "/var/tmp": "mode=1777,nosuid,nodev,size=10%",
    "/var/log": "mode=0755,nosuid,nodev,noexec,size=16M",
    "/var/lib/systemd": "mode=0755,nosuid,nodev,size=8M",
    "/var/cache": "mode=0755,nosuid,nodev,size=16M",
}


@dataclass(frozen=True)
class Layout:
    """Partition sizes and fixed ids (fixed so two builds of one commit give the same image)."""

    boot_size: str = "512M"
    root_size: str = "3G"
    data_size: str = "256M"  # grown to the end of the card on first boot
    disk_signature: str = "0x5b0e5b0e"
    root_uuid: str = "5b0e5b0e-0000-4000-8000-00000000000a"
    data_uuid: str = "5b0e5b0e-0000-4000-8000-00000000000d"
    boot_volume_id: str = "5B0E5B0E"

    def partuuid(self, number: int) -> str:
        return f"{int(self.disk_signature, 16):08x}-{number:02d}"


def kernel_cmdline(layout: Layout) -> str:
    """Pi firmware cmdline.txt: a read-only root, PSI (off by default in Pi kernels), the console."""
    return " ".join(
        [
            "console=serial0,115200",
            "console=tty1",
            f"root=PARTUUID={layout.partuuid(2)}",
            "rootfstype=ext4",
            "ro",
            "rootwait",
            "fsck.repair=yes",
            "psi=1",
            "cgroup_enable=memory",
            "quiet",
        ]
    )


def fstab(board: str) -> str:
    rows = [("LABEL=rootfs", "/", "ext4", "ro,noatime,errors=remount-ro", "0", "1")]
    if board == "rpi":
        rows.append(("LABEL=bootfs", "/boot/firmware", "vfat", "ro,noatime,umask=0077", "0", "2"))
    data_options = "rw,noatime,nosuid,nodev,commit=60,x-systemd.growfs"
    rows.append(("LABEL=shoebox-data", "/var/lib/shoebox", "ext4", data_options, "0", "2"))
    rows += [("tmpfs", path, "tmpfs", options, "0", "0") for path, options in TMPFS_MOUNTS.items()]
    header = [
        "# Shoebox image. The root filesystem is read-only; what must change lives on tmpfs (forgotten",
        "# at power-off) or on the data partition, which firstboot grows to fill the card.",
    ]
    return "\n".join(header + [_columns(row) for row in rows]) + "\n"


def _columns(row: tuple[str, ...]) -> str:
    widths = (20, 18, 7, 52, 2)
    return "".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + row[-1]


def rpi_config_txt() -> str:
    return "\n".join(
        [
            "# Shoebox image: Raspberry Pi firmware settings (Pi 3, 4, 5, Zero 2 W; 64-bit only).",
            "arm_64bit=1",
            "auto_initramfs=1",
            "disable_splash=1",
            "# KMS driver: /dev/dri render nodes; 256 MB CMA for the Pi 4's V4L2 video codec.",
            "dtoverlay=vc4-kms-v3d,cma-256",
            "# The SoC's hardware watchdog, fed by systemd (RuntimeWatchdogSec=).",
            "dtparam=watchdog=on",
            "dtparam=audio=off",
            "",
            "[pi5]",
            "kernel=kernel_2712.img",
            "",
            "[all]",
            "",
        ]
    )


def genimage_cfg(layout: Layout, name: str) -> str:
    """MBR, not GPT: the Pi 3 / Zero 2 W boot ROM reads only MBR."""
    return f"""\
# Shoebox image layout, for genimage (run by build.sh with --rootpath at the built root filesystem).
image bootfs.vfat {{
    vfat {{
        label = "bootfs"
        extraargs = "-i {layout.boot_volume_id}"
    }}
    size = {layout.boot_size}
    mountpoint = "/boot/firmware"
}}

image data.ext4 {{
    ext4 {{
        label = "shoebox-data"
        use-mke2fs = true
        extraargs = "-U {layout.data_uuid} -E hash_seed={layout.data_uuid}"
    }}
    size = {layout.data_size}
    mountpoint = "/var/lib/shoebox"
}}

image rootfs.ext4 {{
    ext4 {{
        label = "rootfs"
        use-mke2fs = true
        extraargs = "-U {layout.root_uuid} -E hash_seed={layout.root_uuid}"
    }}
    size = {layout.root_size}
}}

image {name} {{
    hdimage {{
        partition-table-type = "mbr"
        disk-signature = {layout.disk_signature}
    }}
    partition boot {{
        partition-type = 0xC
        bootable = true
        image = "bootfs.vfat"
    }}
    partition rootfs {{
        partition-type = 0x83
        image = "rootfs.ext4"
    }}
    partition data {{
        partition-type = 0x83
        image = "data.ext4"
    }}
}}
"""


def sources(board: str, suite: str) -> list[str]:
    components = "main non-free-firmware"
    lines = [
        f"deb {DEBIAN_MIRROR} {suite} {components}",
        f"deb {DEBIAN_MIRROR} {suite}-updates {components}",
        f"deb {DEBIAN_SECURITY} {suite}-security {components}",
    ]
    if board == "rpi":
        lines.append(f"deb [signed-by={RPI_KEYRING}] {RPI_ARCHIVE} {suite} main")
    return lines


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def _install_shoebox_units(overlay: Path) -> None:
    """Shoebox's own systemd files, where a Debian package would put them."""
    lib = overlay / "usr/lib"
    for unit in sorted(UNITS.glob("*.service")):
        _copy(unit, lib / "systemd/system" / unit.name)
    for rules in sorted(UNITS.glob("*.rules")):
        _copy(rules, lib / "udev/rules.d" / rules.name)
    for kind in ("sysusers.d", "tmpfiles.d"):
        for conf in sorted((UNITS / kind).glob("*.conf")):
            _copy(conf, lib / kind / conf.name)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def generate(out: Path, board: str, suite: str = "bookworm", layout: Layout | None = None) -> Path:
    """Write the configuration for `board` into `out` (replacing what was there); return `out`."""
    if board not in BOARD_PACKAGES:
        raise ValueError(f"unknown board {board!r}; choose from {', '.join(BOARD_PACKAGES)}")
    layout = layout or Layout()
    if out.exists():
        shutil.rmtree(out)
    overlay = out / "overlay"
    shutil.copytree(STATIC_FILES, overlay, symlinks=True)
    _install_shoebox_units(overlay)
    _write(overlay / "etc/fstab", fstab(board))
    # The image carries no identity: firstboot creates the machine id and the host name.
    _write(overlay / "etc/machine-id", "")
    _write(overlay / "etc/hostname", "shoebox\n")
    if board == "rpi":
        _write(overlay / "boot/firmware/cmdline.txt", kernel_cmdline(layout) + "\n")
        _write(overlay / "boot/firmware/config.txt", rpi_config_txt())
        # Debian's raspi-firmware rebuilds cmdline.txt on kernel updates from these.
        _write(overlay / "etc/default/raspi-extra-cmdline", "psi=1 cgroup_enable=memory ro\n")
        _write(out / "genimage.cfg", genimage_cfg(layout, f"shoebox-{board}-arm64.img"))
    packages = COMMON_PACKAGES + BOARD_PACKAGES[board]
    _write(out / "packages.txt", "\n".join(packages) + "\n")
    _write(out / "sources.txt", "\n".join(sources(board, suite)) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--board", default="rpi", choices=sorted(BOARD_PACKAGES))
    parser.add_argument("--suite", default="bookworm")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--boot-size", default=Layout.boot_size)
    parser.add_argument("--root-size", default=Layout.root_size)
    parser.add_argument("--data-size", default=Layout.data_size)
    args = parser.parse_args(argv)
    layout = Layout(boot_size=args.boot_size, root_size=args.root_size, data_size=args.data_size)
    generate(args.out, args.board, args.suite, layout)
    print(f"configure: wrote {args.board} configuration to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
