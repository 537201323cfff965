"""The systemd files in systemd/ load cleanly in systemd's own tools and say what the design asks for."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
SYSTEM_UNIT_DIRS = [Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")]
STUB_BINARIES = ["usr/local/bin/shoebox", "usr/local/bin/shoebox-mount-helper"]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(
            f"{name} is not installed (Debian package 'systemd'; scripts/setup.sh --test installs it)"
        )
    return path


def _directives(unit: Path) -> dict[str, list[str]]:
    """`Section.Key` -> values, in order (keys like DeviceAllow= repeat)."""
    found: dict[str, list[str]] = {}
    section = ""
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key}", []).append(value)
    return found


@pytest.fixture
def sysroot(tmp_path: Path) -> Path:
    """A root for `systemd-analyze --root`: the host's stock units, our units, stub executables."""
    stock = next((d for d in SYSTEM_UNIT_DIRS if (d / "sysinit.target").exists()), None)
    if stock is None:
        pytest.skip("no systemd unit directory with sysinit.target on this machine")
    shutil.copytree(stock, tmp_path / "usr/lib/systemd/system", symlinks=True)
    for unit in UNITS.glob("*.service"):
        shutil.copy(unit, tmp_path / "usr/lib/systemd/system" / unit.name)
    for stub in STUB_BINARIES:
        path = tmp_path / stub
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(0o755)
    return tmp_path


@pytest.mark.parametrize("unit", ["shoebox.service", "shoebox-import@sdb1.service"])
def test_unit_passes_systemd_analyze_verify_without_warnings(sysroot: Path, unit: str) -> None:
    tool = _tool("systemd-analyze")
    result = subprocess.run(
        [tool, "verify", "--man=no", f"--root={sysroot}", unit], capture_output=True, text=True, timeout=120
    )
    # Unknown keys are only warnings (exit 0), so any line about our files fails the test too.
    ours = [line for line in (result.stdout + result.stderr).splitlines() if "shoebox" in line]
    assert result.returncode == 0 and ours == [], result.stdout + result.stderr


def test_verify_catches_a_missing_executable(sysroot: Path) -> None:
    """The check above would notice a broken ExecStart=: without the stub, verify fails."""
    tool = _tool("systemd-analyze")
    (sysroot / "usr/local/bin/shoebox").unlink()
    result = subprocess.run(
        [tool, "verify", "--man=no", f"--root={sysroot}", "shoebox.service"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "/usr/local/bin/shoebox" in result.stderr


def test_service_sandbox_scores_ok_in_systemd_analyze_security(sysroot: Path) -> None:
    tool = _tool("systemd-analyze")
    result = subprocess.run(
        [tool, "security", "--offline=yes", f"--root={sysroot}", "--no-pager", "shoebox.service"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    match = re.search(
        r"Overall exposure level for shoebox\.service: ([0-9.]+)", result.stdout + result.stderr
    )
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 4.0  # "OK" or better (design R-SYS-2)


def test_service_is_a_notify_service_with_watchdog_and_restart() -> None:
    unit = _directives(UNITS / "shoebox.service")
    assert unit["Service.Type"] == ["notify"]
    assert unit["Service.NotifyAccess"] == ["main"]
    assert int(unit["Service.WatchdogSec"][0]) > 0
    assert unit["Service.Restart"] == ["on-failure"]
    assert unit["Unit.StartLimitIntervalSec"] == ["0"]  # an appliance keeps trying; nobody resets it
    exec_start = unit["Service.ExecStart"][0].split()
    assert exec_start[:2] == ["/usr/local/bin/shoebox", "serve"]
    assert exec_start[exec_start.index("--data-dir") + 1] == "/var/lib/shoebox"


def test_service_runs_unprivileged_with_access_to_render_and_video_nodes_only() -> None:
    unit = _directives(UNITS / "shoebox.service")
    assert unit["Service.User"] == ["shoebox"]
    assert set(unit["Service.SupplementaryGroups"][0].split()) == {"video", "render"}
    assert unit["Service.DevicePolicy"] == ["closed"]
    assert sorted(unit["Service.DeviceAllow"]) == ["char-drm rw", "char-video4linux rw"]
    assert unit["Service.ProtectSystem"] == ["strict"]
    assert unit["Service.ReadWritePaths"] == ["/var/lib/shoebox", "-/run/shoebox-import"]
    assert unit["Service.StateDirectory"] == ["shoebox"]
    assert unit["Service.PrivateTmp"] == ["yes"]
    assert unit["Service.NoNewPrivileges"] == ["yes"]
    assert unit["Service.CapabilityBoundingSet"] == [""]
    assert set(unit["Service.RestrictAddressFamilies"][0].split()) == {
        "AF_UNIX",
        "AF_INET",
        "AF_INET6",
        "AF_NETLINK",
    }
    assert "Service.PrivateDevices" not in unit  # it would hide /dev/dri


def test_import_helper_unit_mounts_in_the_host_namespace() -> None:
    """Any option that makes a private mount namespace would hide the card's mount from the server."""
    unit = _directives(UNITS / "shoebox-import@.service")
    namespacing = {
        "ProtectSystem",
        "ProtectHome",
        "PrivateTmp",
        "PrivateDevices",
        "ReadWritePaths",
        "ReadOnlyPaths",
        "InaccessiblePaths",
        "TemporaryFileSystem",
        "BindPaths",
        "MountFlags",
    }
    assert not {key.split(".", 1)[1] for key in unit} & namespacing
    assert unit["Unit.BindsTo"] == ["dev-%i.device"]
    assert unit["Service.Type"] == ["oneshot"]
    assert unit["Service.RemainAfterExit"] == ["yes"]
    assert unit["Service.ExecStart"][0].split()[:2] == ["/usr/local/bin/shoebox-mount-helper", "mount"]


def test_sysusers_and_tmpfiles_create_the_user_and_an_owned_data_folder(tmp_path: Path) -> None:
    sysusers, tmpfiles = _tool("systemd-sysusers"), _tool("systemd-tmpfiles")
    root = tmp_path
    (root / "etc").mkdir()
    (root / "var/lib").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\nvideo:x:44:\n")
    for kind in ("sysusers.d", "tmpfiles.d"):
        target = root / "usr/lib" / kind
        target.mkdir(parents=True)
        shutil.copy(UNITS / kind / "shoebox.conf", target / "shoebox.conf")

    subprocess.run([sysusers, f"--root={root}"], check=True, capture_output=True, timeout=60)
    subprocess.run([tmpfiles, "--create", f"--root={root}"], check=True, capture_output=True, timeout=60)

    users = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    groups = {line.split(":")[0]: line.split(":") for line in (root / "etc/group").read_text().splitlines()}
    shoebox = users["shoebox"]
    assert shoebox[5:] == ["/var/lib/shoebox", "/usr/sbin/nologin"]
    assert "shoebox" in groups["video"][3].split(",")
    assert "shoebox" in groups["render"][3].split(",")
    data = (root / "var/lib/shoebox").stat()
    assert (data.st_uid, data.st_gid, data.st_mode & 0o777) == (int(shoebox[2]), int(shoebox[3]), 0o750)
    assert (root / "run/shoebox-import").is_dir()


def _syscalls(names: str, tool: str) -> set[str]:
    """Expand syscall names and @groups with systemd's own tables."""
    found: set[str] = set()
    for name in names.split():
        if not name.startswith("@"):
            found.add(name)
            continue
        listing = subprocess.run([tool, "syscall-filter", name], capture_output=True, text=True, check=True)
        for line in listing.stdout.splitlines()[1:]:
            entry = line.strip()
            if entry and not entry.startswith("#"):
                found |= _syscalls(entry, tool) if entry.startswith("@") else {entry}
    return found


def test_the_syscall_filter_lets_background_work_lower_its_priority_and_nothing_more() -> None:
    """Decoders, exiftool and ffmpeg are started under nice/chrt --idle/ionice (media/background.py) and the
    decoders cap their address space; under the unit's filter those calls must work. Later assignments add to or
    remove from the allow list in order, as systemd merges them."""
    tool = _tool("systemd-analyze")
    allowed: set[str] = set()
    for value in _directives(UNITS / "shoebox.service")["Service.SystemCallFilter"]:
        if value.startswith("~"):
            allowed -= _syscalls(value[1:], tool)
        else:
            allowed |= _syscalls(value, tool)
    assert {"setpriority", "sched_setscheduler", "ioprio_set", "prlimit64"} <= allowed
    assert not {"reboot", "mount", "setuid", "sched_setaffinity", "init_module", "swapon"} & allowed
