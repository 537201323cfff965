"""capture_sysroot(): a capture of a board probes like the board itself, without its serial number."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.hardware.capture import capture_sysroot
from appliance.hardware.monitors import read_cpu_temperature, read_throttle_flags
from appliance.hardware.probe import probe
from appliance.hardware.sysroot import Sysroot

from .conftest import BOARDS, HW_PROFILES


@pytest.mark.parametrize("board", BOARDS)
def test_a_capture_probes_like_the_original(board: str, tmp_path: Path) -> None:
    original = Sysroot(HW_PROFILES / board / "sysroot")
    capture_sysroot(original, tmp_path)
    copy = Sysroot(tmp_path)
    assert probe(copy).to_dict() == probe(original).to_dict()
    assert read_cpu_temperature(copy) == read_cpu_temperature(original)
    assert copy.read_text("proc/device-tree/compatible") == original.read_text("proc/device-tree/compatible")
    flags, copied = read_throttle_flags(original), read_throttle_flags(copy)
    assert (flags and flags.raw) == (copied and copied.raw)


def test_the_pi_serial_number_is_blanked(tmp_path: Path) -> None:
    capture_sysroot(Sysroot(HW_PROFILES / "rpi-4b" / "sysroot"), tmp_path)
    cpuinfo = (tmp_path / "proc" / "cpuinfo").read_text()
    assert "Serial\t\t: 0000000000000000" in cpuinfo
    assert "e3a9b1c2" not in cpuinfo


def test_device_nodes_become_empty_markers(tmp_path: Path) -> None:
    written = capture_sysroot(Sysroot(HW_PROFILES / "rk3588" / "sysroot"), tmp_path)
    assert "dev/mpp_service" in written
    assert (tmp_path / "dev" / "mpp_service").read_bytes() == b""


def test_capturing_this_machine_does_not_fail(tmp_path: Path) -> None:
    written = capture_sysroot(Sysroot(Path("/")), tmp_path)
    assert "proc/cpuinfo" in written
    assert probe(Sysroot(tmp_path)).arch == probe(Sysroot(Path("/"))).arch
