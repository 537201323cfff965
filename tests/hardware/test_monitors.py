"""Monitors: temperature, firmware flags, PSI and disk busy from captured and hand-made sysroots."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.hardware.monitors import (
    HostMonitor,
    disk_busy_percent,
    is_whole_disk,
    parse_diskstats,
    parse_pressure,
    read_cpu_temperature,
    read_cpu_times,
    read_memory,
    read_pressure,
    read_throttle_flags,
)
from appliance.hardware.sysroot import Sysroot

from .conftest import HW_PROFILES, write


def test_pi_temperature_comes_from_cpu_thermal() -> None:
    reading = read_cpu_temperature(Sysroot(HW_PROFILES / "rpi-4b" / "sysroot"))
    assert reading is not None
    assert (reading.celsius, reading.type, reading.zone) == (52.582, "cpu-thermal", "thermal_zone0")


def test_n100_uses_the_package_zone_and_ignores_zero_passive_trips() -> None:
    reading = read_cpu_temperature(Sysroot(HW_PROFILES / "intel-n100" / "sysroot"))
    assert reading is not None
    assert (reading.type, reading.celsius, reading.passive_trip_c) == ("x86_pkg_temp", 44.0, None)


def test_rk3588_takes_the_hottest_cpu_zone() -> None:
    reading = read_cpu_temperature(Sysroot(HW_PROFILES / "rk3588" / "sysroot"))
    assert reading is not None
    assert (reading.type, reading.celsius) == ("bigcore1-thermal", 47.153)


def test_hwmon_is_used_when_there_is_no_thermal_zone(tmp_path: Path) -> None:
    root = Sysroot(tmp_path)
    write(root, "sys/class/hwmon/hwmon0/name", "nvme\n")
    write(root, "sys/class/hwmon/hwmon0/temp1_input", "38850\n")
    write(root, "sys/class/hwmon/hwmon3/name", "k10temp\n")
    write(root, "sys/class/hwmon/hwmon3/temp1_input", "61125\n")
    reading = read_cpu_temperature(root)
    assert reading is not None and (reading.type, reading.celsius) == ("k10temp", 61.125)


def test_no_sensors_at_all_gives_none(tmp_path: Path) -> None:
    assert read_cpu_temperature(Sysroot(tmp_path)) is None
    assert read_throttle_flags(Sysroot(tmp_path)) is None
    assert read_pressure(Sysroot(tmp_path)) == {"cpu": None, "io": None, "memory": None}
    assert read_memory(Sysroot(tmp_path)) is None
    assert read_cpu_times(Sysroot(tmp_path)) is None


def test_bogus_temperatures_are_ignored(tmp_path: Path) -> None:
    root = Sysroot(tmp_path)
    write(root, "sys/class/thermal/thermal_zone0/type", "cpu-thermal\n")
    write(root, "sys/class/thermal/thermal_zone0/temp", "-274000\n")
    assert read_cpu_temperature(root) is None


@pytest.mark.parametrize(
    ("raw", "now", "since_boot"),
    [
        ("0\n", [], []),
        ("50005\n", ["under-voltage", "throttled"], ["under-voltage", "throttled"]),
        ("80000\n", [], ["soft temperature limit"]),
        ("e0008\n", ["soft temperature limit"], ["frequency capped", "throttled", "soft temperature limit"]),
    ],
)
def test_get_throttled_bits_are_decoded(
    tmp_path: Path, raw: str, now: list[str], since_boot: list[str]
) -> None:
    root = Sysroot(tmp_path)
    write(root, "sys/devices/platform/soc/soc:firmware/get_throttled", raw)
    flags = read_throttle_flags(root)
    assert flags is not None
    assert (flags.active(), flags.occurred()) == (now, since_boot)


def test_newer_kernels_give_under_voltage_through_hwmon(tmp_path: Path) -> None:
    root = Sysroot(tmp_path)
    write(root, "sys/class/hwmon/hwmon1/name", "rpi_volt\n")
    write(root, "sys/class/hwmon/hwmon1/in0_lcrit_alarm", "1\n")
    flags = read_throttle_flags(root)
    assert flags is not None and flags.under_voltage and flags.source.endswith("in0_lcrit_alarm")


def test_pressure_lines_are_parsed_and_cpu_full_may_be_missing() -> None:
    p = parse_pressure("some avg10=12.50 avg60=3.00 avg300=1.00 total=998877\n")
    assert p is not None and p.some.avg10 == 12.5 and p.full is None
    assert parse_pressure("nonsense\n") is None


def test_captured_pressure_is_read() -> None:
    pressure = read_pressure(Sysroot(HW_PROFILES / "rpi-4b" / "sysroot"))
    io = pressure["io"]
    assert io is not None and io.some.avg10 == 1.18 and io.full is not None


def test_disk_busy_is_io_ticks_over_wall_time() -> None:
    line = "179 0 mmcblk0 100 0 800 50 10 0 80 20 0 {ticks} 70 0 0 0 0 0 0\n"
    before = parse_diskstats(line.format(ticks=1000))
    after = parse_diskstats(line.format(ticks=5500))
    assert disk_busy_percent(before, after, 5.0) == {"mmcblk0": 90.0}
    assert disk_busy_percent(after, before, 5.0) == {}  # counters went backwards: re-plugged
    assert disk_busy_percent(before, after, 0) == {}


@pytest.mark.parametrize(
    ("name", "whole"),
    [
        ("sda", True),
        ("sda1", False),
        ("nvme0n1", True),
        ("nvme0n1p2", False),
        ("mmcblk0", True),
        ("mmcblk0p2", False),
        ("loop3", False),
        ("zram0", False),
        ("ram0", False),
        ("vda", True),
    ],
)
def test_only_whole_disks_count(name: str, whole: bool) -> None:
    assert is_whole_disk(name) is whole


def test_host_monitor_reports_the_busiest_disk_from_the_second_sample(board_sysroot) -> None:
    sysroot = board_sysroot("rpi-4b")
    now = [100.0]
    monitor = HostMonitor(sysroot, clock=lambda: now[0])
    first = monitor.sample()
    assert first.disk_busy_pct is None
    stats = sysroot.path("proc/diskstats")
    stats.write_text(stats.read_text().replace(" 190220 ", " 198220 "))  # sda: +8 s of IO in 10 s
    now[0] = 110.0
    second = monitor.sample()
    assert (second.busiest_disk, second.disk_busy_pct) == ("sda", 80.0)
    assert second.temperature is not None and second.memory is not None


def test_host_monitor_can_watch_only_the_data_disk(board_sysroot) -> None:
    sysroot = board_sysroot("rpi-4b")
    now = [0.0]
    monitor = HostMonitor(sysroot, clock=lambda: now[0], disks=["mmcblk0"])
    monitor.sample()
    now[0] = 10.0
    sample = monitor.sample()
    assert (sample.busiest_disk, sample.disk_busy_pct) == ("mmcblk0", 0.0)


def test_memory_and_cpu_times_are_read(tmp_path: Path) -> None:
    root = Sysroot(tmp_path)
    write(
        root, "proc/meminfo", "MemTotal:        3885396 kB\nMemFree:  100 kB\nMemAvailable:    3402180 kB\n"
    )
    write(root, "proc/stat", "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n")
    memory = read_memory(root)
    assert memory is not None and (memory.total_mb, memory.available_mb) == (3794, 3322)
    times = read_cpu_times(root)
    assert times is not None and (times.busy, times.total) == (150, 1000)
