"""Prometheus host metrics: temperature, throttle state, CPU, memory, pressure, disk IO and free space.

A custom collector reads the sysroot at scrape time (a few small files), so nothing polls in between.
Register it on the `CollectorRegistry` the server's ``/metrics`` handler exposes:
``register_host_metrics(registry, sysroot, governor=..., breaker=..., data_dir=...)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from appliance.hardware.encoders import EncoderBreaker
from appliance.hardware.monitors import (
    CpuTimes,
    is_whole_disk,
    read_cpu_temperature,
    read_cpu_times,
    read_diskstats,
    read_memory,
    read_pressure,
    read_throttle_flags,
)
from appliance.hardware.sysroot import Sysroot
from appliance.hardware.throttle import State, ThrottleGovernor

SECTOR_BYTES = 512  # /proc/diskstats counts 512-byte sectors whatever the device's sector size


class HostCollector(Collector):
    def __init__(
        self,
        sysroot: Sysroot,
        *,
        governor: ThrottleGovernor | None = None,
        breaker: EncoderBreaker | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.sysroot = sysroot
        self.governor = governor
        self.breaker = breaker
        self.data_dir = data_dir
        self._last_cpu: CpuTimes | None = None

    def collect(self) -> Iterator[Metric]:
        yield from self._temperature()
        yield from self._throttle()
        yield from self._cpu()
        yield from self._memory()
        yield from self._pressure()
        yield from self._disks()
        yield from self._free_space()
        yield from self._encoders()

    def _temperature(self) -> Iterator[Metric]:
        reading = read_cpu_temperature(self.sysroot)
        if reading is None:
            return
        g = GaugeMetricFamily(
            "shoebox_host_temperature_celsius", "CPU/SoC temperature", labels=["zone", "type"]
        )
        g.add_metric([reading.zone, reading.type], reading.celsius)
        yield g

    def _throttle(self) -> Iterator[Metric]:
        if self.governor is not None:
            g = GaugeMetricFamily(
                "shoebox_host_throttle_state",
                "Background work state (1 for the current one)",
                labels=["state"],
            )
            for state in State:
                g.add_metric([state.name], 1.0 if self.governor.state is state else 0.0)
            yield g
        flags = read_throttle_flags(self.sysroot)
        if flags is not None:
            f = GaugeMetricFamily(
                "shoebox_host_firmware_flag", "Raspberry Pi firmware throttle flags now", labels=["flag"]
            )
            active = set(flags.active())
            for name in ("under-voltage", "frequency capped", "throttled", "soft temperature limit"):
                f.add_metric([name], 1.0 if name in active else 0.0)
            yield f

    def _cpu(self) -> Iterator[Metric]:
        times = read_cpu_times(self.sysroot)
        if times is None:
            return
        before, self._last_cpu = self._last_cpu, times
        busy, total = times.busy, times.total
        if before is not None and times.total > before.total:
            busy, total = times.busy - before.busy, times.total - before.total
        yield GaugeMetricFamily(
            "shoebox_host_cpu_usage_ratio",
            "CPU busy share since the last scrape",
            value=busy / total if total else 0.0,
        )

    def _memory(self) -> Iterator[Metric]:
        memory = read_memory(self.sysroot)
        if memory is None:
            return
        yield GaugeMetricFamily("shoebox_host_memory_total_bytes", "MemTotal", value=memory.total_mb * 2**20)
        yield GaugeMetricFamily(
            "shoebox_host_memory_available_bytes", "MemAvailable", value=memory.available_mb * 2**20
        )

    def _pressure(self) -> Iterator[Metric]:
        pressure = read_pressure(self.sysroot)
        if all(p is None for p in pressure.values()):
            return
        g = GaugeMetricFamily(
            "shoebox_host_pressure_ratio", "PSI avg10 share of time stalled", labels=["resource", "kind"]
        )
        for resource, p in pressure.items():
            if p is None:
                continue
            g.add_metric([resource, "some"], p.some.avg10 / 100)
            if p.full is not None:
                g.add_metric([resource, "full"], p.full.avg10 / 100)
        yield g

    def _disks(self) -> Iterator[Metric]:
        disks = {n: d for n, d in read_diskstats(self.sysroot).items() if is_whole_disk(n)}
        if not disks:
            return
        read = CounterMetricFamily("shoebox_host_disk_read_bytes", "Bytes read per disk", labels=["disk"])
        written = CounterMetricFamily(
            "shoebox_host_disk_written_bytes", "Bytes written per disk", labels=["disk"]
        )
        busy = CounterMetricFamily(
            "shoebox_host_disk_busy_seconds", "Time with IO in flight", labels=["disk"]
        )
        for name, d in disks.items():
            read.add_metric([name], d.sectors_read * SECTOR_BYTES)
            written.add_metric([name], d.sectors_written * SECTOR_BYTES)
            busy.add_metric([name], d.io_ticks_ms / 1000)
        yield from (read, written, busy)

    def _free_space(self) -> Iterator[Metric]:
        if self.data_dir is None:
            return
        try:
            st = os.statvfs(self.data_dir)
        except OSError:
            return
        free = GaugeMetricFamily(
            "shoebox_host_disk_free_bytes", "Free space for the data dir", labels=["path"]
        )
        free.add_metric([str(self.data_dir)], st.f_bavail * st.f_frsize)
        size = GaugeMetricFamily(
            "shoebox_host_disk_size_bytes", "Size of the data dir's filesystem", labels=["path"]
        )
        size.add_metric([str(self.data_dir)], st.f_blocks * st.f_frsize)
        yield from (free, size)

    def _encoders(self) -> Iterator[Metric]:
        if self.breaker is None:
            return
        g = GaugeMetricFamily(
            "shoebox_encoder_disabled", "1 when the breaker disabled an encoder", labels=["encoder"]
        )
        disabled = self.breaker.disabled()
        for name in self.breaker.usable:
            g.add_metric([name], 1.0 if name in disabled else 0.0)
        yield g


def register_host_metrics(
    registry: CollectorRegistry,
    sysroot: Sysroot,
    *,
    governor: ThrottleGovernor | None = None,
    breaker: EncoderBreaker | None = None,
    data_dir: Path | None = None,
) -> HostCollector:
    collector = HostCollector(sysroot, governor=governor, breaker=breaker, data_dir=data_dir)
    registry.register(collector)
    return collector
