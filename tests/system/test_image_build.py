"""The SD-card image recipe: its generated configuration, its disk layout and its first-boot script.

The full arm64 build needs an arm64 (or binfmt) host; here the configuration step runs for real into a
tmp folder, genimage assembles a disk image from a tiny root folder, and the first-boot script runs
against a folder. An amd64 root filesystem build is the slow test at the end (SHOEBOX_IMAGE_TEST=1).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGE_BUILD = REPO / "image-build"


def configure(out: Path, board: str = "rpi", *extra: str) -> Path:
    subprocess.run(
        [sys.executable, str(IMAGE_BUILD / "configure.py"), "--board", board, "--out", str(out), *extra],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out


@pytest.fixture(scope="module")
def rpi_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return configure(tmp_path_factory.mktemp("config") / "rpi")


def _fstab(config: Path) -> dict[str, list[str]]:
    """mount point -> [device, type, options]"""
    entries = {}
    for line in (config / "overlay/etc/fstab").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            device, mountpoint, fstype, options, *_ = line.split()
            entries[mountpoint] = [device, fstype, options]
    return entries


def test_kernel_cmdline_enables_psi_and_mounts_root_read_only(rpi_config: Path) -> None:
    cmdline = (rpi_config / "overlay/boot/firmware/cmdline.txt").read_text()
    assert cmdline.count("\n") == 1  # the Pi firmware reads one line
    words = cmdline.split()
    assert "psi=1" in words
    assert "ro" in words and "rw" not in words
    root = next(w for w in words if w.startswith("root="))
    assert re.fullmatch(r"root=PARTUUID=[0-9a-f]{8}-02", root)  # no initramfs needed to find it


def test_fstab_mounts_root_read_only_data_writable_and_the_rest_on_tmpfs(rpi_config: Path) -> None:
    fstab = _fstab(rpi_config)
    assert fstab["/"][:2] == ["LABEL=rootfs", "ext4"]
    assert "ro" in fstab["/"][2].split(",")
    data = fstab["/var/lib/shoebox"]
    assert data[0] == "LABEL=shoebox-data"
    assert {"rw", "nosuid", "nodev"} <= set(data[2].split(","))
    assert "ro" in fstab["/boot/firmware"][2].split(",")
    for volatile in ("/tmp", "/var/tmp", "/var/log", "/var/lib/systemd"):
        assert fstab[volatile][:2] == ["tmpfs", "tmpfs"], volatile


def test_journal_is_volatile_and_capped(rpi_config: Path) -> None:
    conf = (rpi_config / "overlay/etc/systemd/journald.conf.d/50-shoebox.conf").read_text()
    assert "Storage=volatile" in conf
    match = re.search(r"^RuntimeMaxUse=(\d+)M$", conf, re.M)
    assert match and int(match.group(1)) <= 64


def test_swap_is_zram_not_the_sd_card(rpi_config: Path) -> None:
    conf = (rpi_config / "overlay/etc/systemd/zram-generator.conf").read_text()
    assert "[zram0]" in conf and "zram-size" in conf
    assert "systemd-zram-generator" in (rpi_config / "packages.txt").read_text().split()
    assert "swap" not in {entry[1] for entry in _fstab(rpi_config).values()}


def test_shoebox_units_and_first_boot_are_in_the_overlay(rpi_config: Path) -> None:
    overlay = rpi_config / "overlay"
    for path in [
        "usr/lib/systemd/system/shoebox.service",
        "usr/lib/systemd/system/shoebox-import@.service",
        "usr/lib/udev/rules.d/99-shoebox-import.rules",
        "usr/lib/sysusers.d/shoebox.conf",
        "usr/lib/tmpfiles.d/shoebox.conf",
        "etc/systemd/system/shoebox-firstboot.service",
    ]:
        assert (overlay / path).is_file(), path
    firstboot = overlay / "usr/lib/shoebox/firstboot"
    assert os.access(firstboot, os.X_OK)
    assert (overlay / "etc/machine-id").read_text() == ""  # every device makes its own


def test_first_boot_unit_runs_once_before_the_network_and_the_server(rpi_config: Path) -> None:
    unit = (rpi_config / "overlay/etc/systemd/system/shoebox-firstboot.service").read_text()
    assert "ConditionPathExists=!/etc/shoebox/firstboot-done" in unit
    before = re.search(r"^Before=(.*)$", unit, re.M)
    assert before and {"network-pre.target", "shoebox.service"} <= set(before.group(1).split())


def test_image_units_load_together_without_ordering_cycles(rpi_config: Path, tmp_path: Path) -> None:
    """The overlay over the host's stock units: first boot, the server and the boot target verify."""
    analyze = shutil.which("systemd-analyze")
    stock = next(
        (d for d in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if d.is_dir()), None
    )
    if analyze is None or stock is None:
        pytest.skip("systemd-analyze is not installed (Debian package 'systemd')")
    root = tmp_path / "root"
    shutil.copytree(stock, root / "usr/lib/systemd/system", symlinks=True)
    shutil.copytree(rpi_config / "overlay", root, symlinks=True, dirs_exist_ok=True)
    for stub in ("usr/local/bin/shoebox", "usr/local/bin/shoebox-mount-helper"):
        (root / stub).parent.mkdir(parents=True, exist_ok=True)
        (root / stub).write_text("#!/bin/sh\n")
        (root / stub).chmod(0o755)

    units = ["shoebox-firstboot.service", "shoebox.service", "multi-user.target"]
    result = subprocess.run(
        [analyze, "verify", "--man=no", f"--root={root}", *units], capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert "cycle" not in result.stderr and "shoebox" not in result.stderr, result.stderr


def test_packages_include_the_runtime_and_the_pi_kernels(rpi_config: Path) -> None:
    packages = set((rpi_config / "packages.txt").read_text().split())
    assert {"python3", "python3-systemd", "libvips42", "ffmpeg", "libimage-exiftool-perl"} <= packages
    assert {"linux-image-rpi-v8", "linux-image-rpi-2712", "raspi-firmware"} <= packages
    assert not packages & {"openssh-server", "sudo", "avahi-daemon"}  # no logins; we answer mDNS ourselves


def test_the_generic_root_has_no_kernel_and_no_disk_layout(tmp_path: Path) -> None:
    config = configure(tmp_path / "none", "none")
    packages = set((config / "packages.txt").read_text().split())
    assert not any(p.startswith(("linux-image", "raspi")) for p in packages)
    assert not (config / "genimage.cfg").exists()
    assert "/boot/firmware" not in _fstab(config)


def test_two_runs_give_identical_configuration(tmp_path: Path) -> None:
    def snapshot(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    assert snapshot(configure(tmp_path / "a")) == snapshot(configure(tmp_path / "b"))


def test_requirements_lock_pins_every_runtime_dependency() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pinned = {}
    for line in (IMAGE_BUILD / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            pinned[re.sub(r"[-_.]+", "-", name).lower()] = version
    for requirement in project["dependencies"]:
        name = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]
        assert re.sub(r"[-_.]+", "-", name).lower() in pinned, f"{name}: run image-build/lock.sh"


def test_genimage_lays_out_boot_root_and_data_partitions(tmp_path: Path) -> None:
    for tool in ("genimage", "mkdosfs", "mcopy", "mke2fs", "sfdisk"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian: genimage dosfstools mtools e2fsprogs fdisk)")
    config = configure(
        tmp_path / "config", "rpi", "--boot-size", "16M", "--root-size", "16M", "--data-size", "8M"
    )
    rootfs = tmp_path / "rootfs"
    shutil.copytree(config / "overlay", rootfs, symlinks=True)
    (rootfs / "var/lib/shoebox").mkdir(parents=True)
    (rootfs / "var/lib/shoebox/marker").write_text("data partition\n")

    subprocess.run(
        [
            "genimage",
            "--config",
            str(config / "genimage.cfg"),
            "--rootpath",
            str(rootfs),
            "--tmppath",
            str(tmp_path / "tmp"),
            "--inputpath",
            str(tmp_path / "images"),
            "--outputpath",
            str(tmp_path / "images"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )

    image = tmp_path / "images/shoebox-rpi-arm64.img"
    table = json.loads(
        subprocess.run(["sfdisk", "--json", str(image)], check=True, capture_output=True).stdout
    )
    table = table["partitiontable"]
    assert table["label"] == "dos"
    assert [p["type"] for p in table["partitions"]] == ["c", "83", "83"]
    assert table["partitions"][0].get("bootable") is True
    cmdline = (config / "overlay/boot/firmware/cmdline.txt").read_text()
    assert f"root=PARTUUID={int(table['id'], 16):08x}-02" in cmdline
    # The data partition holds what was below /var/lib/shoebox, and only that.
    data = tmp_path / "images/data.ext4"
    listing = subprocess.run(
        ["debugfs", "-R", "ls -p /", str(data)], capture_output=True, text=True, check=True
    )
    assert "marker" in listing.stdout
    label = subprocess.run(["e2label", str(data)], capture_output=True, text=True, check=True).stdout.strip()
    assert label == "shoebox-data"
    root_listing = subprocess.run(
        ["debugfs", "-R", "ls -p /var/lib/shoebox", str(tmp_path / "images/rootfs.ext4")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "marker" not in root_listing.stdout


def test_first_boot_gives_the_device_a_name_a_setup_code_and_an_id(tmp_path: Path) -> None:
    sysroot = tmp_path / "sysroot"
    (sysroot / "etc").mkdir(parents=True)
    (sysroot / "etc/hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\tshoebox\n")
    env = {"PATH": os.environ["PATH"], "SHOEBOX_SYSROOT": str(sysroot)}
    script = IMAGE_BUILD / "files/usr/lib/shoebox/firstboot"

    first = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60, check=True)

    hostname = (sysroot / "etc/hostname").read_text().strip()
    assert re.fullmatch(r"shoebox-[0-9a-f]{4}", hostname)
    assert f"127.0.1.1\t{hostname}" in (sysroot / "etc/hosts").read_text()
    code = (sysroot / "var/lib/shoebox/setup-code").read_text()
    assert re.fullmatch(r"[0-9A-F]{5}-[0-9A-F]{5}", code)
    assert code in first.stdout and "http://shoebox.local:2283" in first.stdout
    assert (sysroot / "var/lib/shoebox/setup-code").stat().st_mode & 0o077 == 0
    assert re.fullmatch(r"[0-9a-f-]{36}\n", (sysroot / "var/lib/shoebox/install-id").read_text())
    assert (sysroot / "etc/shoebox/firstboot-done").is_file()

    # A second run (data partition re-created) keeps secrets that exist; the host name may change.
    subprocess.run([str(script)], env=env, capture_output=True, timeout=60, check=True)
    assert (sysroot / "var/lib/shoebox/setup-code").read_text() == code


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_amd64_root_filesystem_installs_shoebox_offline_and_runs_it(tmp_path: Path) -> None:
    """build.sh for real (mmdebstrap, Debian mirror, the wheelhouse), minus kernel and disk image."""
    if os.environ.get("SHOEBOX_IMAGE_TEST") != "1":
        pytest.skip(
            "builds a Debian root filesystem (several minutes, needs the Debian mirror): "
            "set SHOEBOX_IMAGE_TEST=1 to run it"
        )
    if os.geteuid() != 0 or shutil.which("mmdebstrap") is None:
        pytest.skip("needs root and Debian's mmdebstrap (apt-get install mmdebstrap)")
    work = tmp_path / "work"
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(
        [
            str(IMAGE_BUILD / "build.sh"),
            "--board",
            "none",
            "--arch",
            "amd64",
            "--rootfs-only",
            "--work",
            str(work),
        ],
        check=True,
        env=env,
        timeout=1800,
    )
    rootfs = work / "rootfs"

    def in_root(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["chroot", str(rootfs), "/usr/bin/env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", *command],
            capture_output=True,
            text=True,
            timeout=300,
        )

    help_text = in_root("shoebox", "--help")
    assert help_text.returncode == 0, help_text.stderr
    assert "serve" in help_text.stdout
    doctor = in_root("shoebox", "doctor", "--sysroot", "/")
    # `shoebox doctor` is written in a parallel branch; until it lands only --help is checked.
    if "No module named 'appliance.hardware.doctor'" not in doctor.stderr:
        assert doctor.returncode == 0, doctor.stderr
    journal = in_root("/opt/shoebox/bin/python", "-c", "import systemd.journal, pyvips, zeroconf")
    assert journal.returncode == 0, journal.stderr

    passwd = (rootfs / "etc/passwd").read_text()
    assert re.search(r"^shoebox:x:\d+:\d+:.*:/var/lib/shoebox:/usr/sbin/nologin$", passwd, re.M)
    shadow = (rootfs / "etc/shadow").read_text()
    assert re.search(r"^root:[!*]", shadow, re.M)  # locked: no default password
    assert (rootfs / "etc/machine-id").read_text() == ""
    wants = rootfs / "etc/systemd/system"
    # Absolute links into the image's /usr/lib and /etc: check where they point, not the host's files.
    enabled = wants / "multi-user.target.wants/shoebox.service"
    assert os.readlink(enabled).removeprefix("/usr") == "/lib/systemd/system/shoebox.service"
    assert (wants / "sysinit.target.wants/shoebox-firstboot.service").is_symlink()
    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={rootfs}", "shoebox.service"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stderr
    # The wheelhouse is kept, so the next build can run offline.
    assert any(p.name.startswith("shoebox-") for p in (work / "wheelhouse").glob("*.whl"))
