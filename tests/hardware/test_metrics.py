"""Host metrics in a CollectorRegistry, read from a captured sysroot."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from appliance.hardware.encoders import EncoderBreaker
from appliance.hardware.metrics import register_host_metrics
from appliance.hardware.monitors import HostMonitor
from appliance.hardware.probe import probe
from appliance.hardware.sysroot import Sysroot
from appliance.hardware.throttle import ThrottleGovernor

from .conftest import HW_PROFILES, write


def test_host_metrics_of_a_pi4(board_sysroot, tmp_path: Path) -> None:
    sysroot = board_sysroot("rpi-4b")
    write(sysroot, "proc/stat", "cpu  100 0 50 800 50 0 0 0 0 0\n")
    info = probe(sysroot)
    governor = ThrottleGovernor(info.profile, info.concurrency)
    write(sysroot, "sys/class/thermal/thermal_zone0/temp", "77000\n")
    governor.update(HostMonitor(sysroot).sample(), 0.0)
    breaker = EncoderBreaker(["h264_v4l2m2m", "libx264"], threshold=1)
    breaker.record_failure("h264_v4l2m2m", "boom")
    registry = CollectorRegistry()
    register_host_metrics(registry, sysroot, governor=governor, breaker=breaker, data_dir=tmp_path)

    text = generate_latest(registry).decode()
    assert 'shoebox_host_temperature_celsius{type="cpu-thermal",zone="thermal_zone0"} 77.0' in text
    assert 'shoebox_host_throttle_state{state="SLOW"} 1.0' in text
    assert 'shoebox_host_throttle_state{state="RUN"} 0.0' in text
    assert 'shoebox_host_firmware_flag{flag="under-voltage"} 0.0' in text
    assert "shoebox_host_cpu_usage_ratio 0.15" in text
    assert "shoebox_host_memory_total_bytes 3.978297344e+09" in text
    assert 'shoebox_host_pressure_ratio{kind="some",resource="io"} 0.0118' in text
    assert 'shoebox_host_disk_read_bytes_total{disk="sda"} 9.6360448e+08' in text
    assert 'shoebox_host_disk_read_bytes_total{disk="sda1"}' not in text
    assert "shoebox_host_disk_free_bytes{path=" in text
    assert 'shoebox_encoder_disabled{encoder="h264_v4l2m2m"} 1.0' in text

    write(sysroot, "proc/stat", "cpu  150 0 100 850 50 0 0 0 0 0\n")  # +100 busy of +150 jiffies
    assert "shoebox_host_cpu_usage_ratio 0.6666" in generate_latest(registry).decode()


def test_a_container_without_sensors_exports_what_it_can(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    register_host_metrics(registry, Sysroot(tmp_path))
    text = generate_latest(registry).decode()
    assert "temperature" not in text and "pressure" not in text
    assert text == ""


def test_captured_n100_exports_package_temperature() -> None:
    registry = CollectorRegistry()
    register_host_metrics(registry, Sysroot(HW_PROFILES / "intel-n100" / "sysroot"))
    assert 'type="x86_pkg_temp"' in generate_latest(registry).decode()
