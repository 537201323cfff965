"""Sysroot: reads below a root, never raises for missing files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.hardware.sysroot import Access, Sysroot


def test_missing_files_give_none(tmp_path: Path) -> None:
    root = Sysroot(tmp_path)
    assert root.read_text("proc/cpuinfo") is None
    assert root.read_line("/proc/meminfo") is None
    assert root.read_int("sys/class/thermal/thermal_zone0/temp") is None
    assert root.glob("dev/video*") == []
    assert root.listdir("sys/class/thermal") == []
    assert root.access("dev/dri/renderD128") is Access.MISSING


def test_device_tree_strings_lose_their_nul(tmp_path: Path) -> None:
    (tmp_path / "proc" / "device-tree").mkdir(parents=True)
    (tmp_path / "proc" / "device-tree" / "model").write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\x00")
    assert Sysroot(tmp_path).read_line("proc/device-tree/model") == "Raspberry Pi 5 Model B Rev 1.0"


def test_reading_a_folder_or_bad_number_gives_none(tmp_path: Path) -> None:
    (tmp_path / "temp").mkdir()
    (tmp_path / "n").write_text("hot\n")
    root = Sysroot(tmp_path)
    assert root.read_text("temp") is None
    assert root.read_int("n") is None
    assert root.read_int("n", base=16) is None


def test_glob_sorts_numbers_naturally(tmp_path: Path) -> None:
    (tmp_path / "dev").mkdir()
    for n in (10, 2, 11, 1):
        (tmp_path / "dev" / f"video{n}").touch()
    assert Sysroot(tmp_path).glob("dev/video*") == ["dev/video1", "dev/video2", "dev/video10", "dev/video11"]


def test_host_paths_are_absolute_whatever_the_root(tmp_path: Path) -> None:
    assert Sysroot(tmp_path).host_path("dev/dri/renderD128") == "/dev/dri/renderD128"
    assert Sysroot(Path("/")).is_host and not Sysroot(tmp_path).is_host


def test_a_node_we_cannot_open_is_no_permission(tmp_path: Path) -> None:
    if os.getuid() == 0:
        pytest.skip("running as root: every node is accessible, so no-permission cannot be shown here")
    node = tmp_path / "dev" / "dri" / "renderD128"
    node.parent.mkdir(parents=True)
    node.touch()
    node.chmod(0o000)
    assert Sysroot(tmp_path).access("dev/dri/renderD128") is Access.NO_PERMISSION
