"""Live readings of the host: CPU temperature, the Pi's throttle flags, PSI, disk busy % and memory.

Each reader takes a `Sysroot` and returns ``None`` (or an empty mapping) when its source is absent, as in
a container (no /sys/class/thermal), on a non-Pi kernel (no firmware flags) or on a Pi kernel booted without
``psi=1`` (no /proc/pressure). `HostMonitor.sample()` bundles them for the throttle governor.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from appliance.hardware.sysroot import Sysroot

PSI_RESOURCES = ("cpu", "io", "memory")

# Thermal zone types that measure the CPU or the SoC it sits in (cpu-thermal on a Pi, soc-thermal and
# bigcore*/littlecore* on RK3588, x86_pkg_temp on Intel); the hottest of them counts.
_CPU_ZONE = re.compile(r"cpu|soc|x86_pkg_temp|core|tcpu|package", re.IGNORECASE)
_NOT_CPU_ZONE = re.compile(r"gpu|npu|ddr|wifi|iwl|battery|nvme|pch", re.IGNORECASE)
# hwmon chips that report the CPU package when there is no thermal zone for it (AMD k10temp, Intel coretemp).
_CPU_HWMON = ("coretemp", "k10temp", "zenpower", "cpu_thermal", "soc_thermal")
# Where the Raspberry Pi firmware driver publishes get_throttled (hex, no 0x): deprecated in newer kernels
# in favour of hwmon rpi_volt, which only reports under-voltage.
_GET_THROTTLED = (
    "sys/devices/platform/soc/soc:firmware/get_throttled",
    "sys/devices/platform/*/*:firmware/get_throttled",
)
# Whole disks in /proc/diskstats (partitions, loop, ram and zram devices are left out).
_WHOLE_DISK = re.compile(r"^(sd[a-z]+|hd[a-z]+|vd[a-z]+|xvd[a-z]+|nvme\d+n\d+|mmcblk\d+)$")


@dataclass(frozen=True)
class ThermalReading:
    celsius: float
    zone: str  # thermal_zone0, or hwmon1 when read from hwmon
    type: str  # cpu-thermal, x86_pkg_temp, coretemp...
    passive_trip_c: float | None = None  # where the kernel itself starts throttling, when it says


@dataclass(frozen=True)
class ThrottleFlags:
    """The Raspberry Pi firmware's ``get_throttled`` bits (as ``vcgencmd get_throttled`` prints)."""

    raw: int
    source: str

    UNDER_VOLTAGE = 1 << 0
    FREQ_CAPPED = 1 << 1
    THROTTLED = 1 << 2
    SOFT_TEMP_LIMIT = 1 << 3
    OCCURRED_SHIFT = 16

    @property
    def under_voltage(self) -> bool:
        return bool(self.raw & self.UNDER_VOLTAGE)

    @property
    def freq_capped(self) -> bool:
        return bool(self.raw & self.FREQ_CAPPED)

    @property
    def throttled(self) -> bool:
        return bool(self.raw & self.THROTTLED)

    @property
    def soft_temp_limit(self) -> bool:
        return bool(self.raw & self.SOFT_TEMP_LIMIT)

    def active(self) -> list[str]:
        """Names of the conditions present now."""
        names = ("under-voltage", "frequency capped", "throttled", "soft temperature limit")
        return [name for bit, name in enumerate(names) if self.raw & (1 << bit)]

    def occurred(self) -> list[str]:
        """Names of the conditions that happened since boot (sticky bits 16–19)."""
        names = ("under-voltage", "frequency capped", "throttled", "soft temperature limit")
        return [name for bit, name in enumerate(names) if self.raw & (1 << (bit + self.OCCURRED_SHIFT))]


@dataclass(frozen=True)
class PsiLine:
    avg10: float
    avg60: float
    avg300: float
    total_us: int


@dataclass(frozen=True)
class Pressure:
    some: PsiLine
    full: PsiLine | None = None  # cpu "full" exists only since Linux 5.13

    def to_dict(self) -> dict[str, object]:
        def line(p: PsiLine | None) -> dict[str, float] | None:
            return None if p is None else {"avg10": p.avg10, "avg60": p.avg60, "avg300": p.avg300}

        return {"some": line(self.some), "full": line(self.full)}


@dataclass(frozen=True)
class DiskCounters:
    name: str
    reads: int
    sectors_read: int
    writes: int
    sectors_written: int
    io_ticks_ms: int  # time the device had IO in flight: the basis of "busy %"


@dataclass(frozen=True)
class MemoryReading:
    total_mb: int
    available_mb: int


@dataclass(frozen=True)
class CpuTimes:
    busy: int
    total: int


@dataclass(frozen=True)
class HostSample:
    """One look at the host; any part may be missing."""

    temperature: ThermalReading | None = None
    throttle: ThrottleFlags | None = None
    pressure: Mapping[str, Pressure | None] = field(default_factory=dict)
    disk_busy_pct: float | None = None
    busiest_disk: str | None = None
    memory: MemoryReading | None = None

    def psi(self, resource: str, kind: str = "some") -> float | None:
        """``avg10`` of ``some`` or ``full`` pressure for cpu, io or memory; None if unknown."""
        pressure = self.pressure.get(resource)
        if pressure is None:
            return None
        line = pressure.some if kind == "some" else pressure.full
        return None if line is None else line.avg10


def read_cpu_temperature(sysroot: Sysroot) -> ThermalReading | None:
    """The hottest CPU/SoC thermal zone, else a CPU hwmon chip, else thermal_zone0; None when none."""
    readings: list[ThermalReading] = []
    fallback: ThermalReading | None = None
    for zone in sysroot.glob("sys/class/thermal/thermal_zone*"):
        reading = _read_zone(sysroot, zone)
        if reading is None:
            continue
        if fallback is None:
            fallback = reading
        if _CPU_ZONE.search(reading.type) and not _NOT_CPU_ZONE.search(reading.type):
            readings.append(reading)
    if readings:
        return max(readings, key=lambda r: r.celsius)
    hwmon = _read_cpu_hwmon(sysroot)
    return hwmon if hwmon is not None else fallback


def _read_zone(sysroot: Sysroot, zone: str) -> ThermalReading | None:
    millis = sysroot.read_int(f"{zone}/temp")
    if millis is None or not -40_000 <= millis <= 150_000:
        return None
    passive = None
    for trip_type in sysroot.glob(f"{zone}/trip_point_*_type"):
        if sysroot.read_line(trip_type) != "passive":
            continue
        trip = sysroot.read_int(trip_type.replace("_type", "_temp"))
        # x86_pkg_temp reports passive trips of 0: ignore anything that is not a plausible limit.
        if trip is not None and 40_000 <= trip <= 130_000:
            passive = trip / 1000 if passive is None else min(passive, trip / 1000)
    return ThermalReading(
        celsius=millis / 1000,
        zone=zone.rsplit("/", 1)[-1],
        type=sysroot.read_line(f"{zone}/type") or "unknown",
        passive_trip_c=passive,
    )


def _read_cpu_hwmon(sysroot: Sysroot) -> ThermalReading | None:
    for hwmon in sysroot.glob("sys/class/hwmon/hwmon*"):
        name = sysroot.read_line(f"{hwmon}/name")
        if name not in _CPU_HWMON:
            continue
        millis = sysroot.read_int(f"{hwmon}/temp1_input")
        if millis is not None and -40_000 <= millis <= 150_000:
            return ThermalReading(celsius=millis / 1000, zone=hwmon.rsplit("/", 1)[-1], type=name or "hwmon")
    return None


def read_throttle_flags(sysroot: Sysroot) -> ThrottleFlags | None:
    """The Pi firmware's throttle bits; from hwmon ``rpi_volt`` (under-voltage only) on newer kernels."""
    for pattern in _GET_THROTTLED:
        for rel in sysroot.glob(pattern):
            value = sysroot.read_int(rel, base=16)
            if value is not None:
                return ThrottleFlags(raw=value, source="/" + rel)
    for hwmon in sysroot.glob("sys/class/hwmon/hwmon*"):
        if sysroot.read_line(f"{hwmon}/name") != "rpi_volt":
            continue
        alarm = sysroot.read_int(f"{hwmon}/in0_lcrit_alarm")
        if alarm is not None:
            raw = ThrottleFlags.UNDER_VOLTAGE if alarm else 0
            return ThrottleFlags(raw=raw, source=f"/{hwmon}/in0_lcrit_alarm")
    return None


def parse_pressure(text: str) -> Pressure | None:
    lines: dict[str, PsiLine] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        values = dict(part.split("=", 1) for part in rest.split() if "=" in part)
        try:
            lines[kind] = PsiLine(
                avg10=float(values["avg10"]),
                avg60=float(values["avg60"]),
                avg300=float(values["avg300"]),
                total_us=int(values["total"]),
            )
        except (KeyError, ValueError):
            continue
    if "some" not in lines:
        return None
    return Pressure(some=lines["some"], full=lines.get("full"))


def read_pressure(sysroot: Sysroot) -> dict[str, Pressure | None]:
    """PSI for cpu, io and memory; each None when /proc/pressure is absent (no ``psi=1``)."""
    result: dict[str, Pressure | None] = {}
    for resource in PSI_RESOURCES:
        text = sysroot.read_text(f"proc/pressure/{resource}")
        result[resource] = parse_pressure(text) if text else None
    return result


def parse_diskstats(text: str) -> dict[str, DiskCounters]:
    disks: dict[str, DiskCounters] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 14:
            continue
        try:
            stats = [int(v) for v in parts[3:14]]
        except ValueError:
            continue
        disks[parts[2]] = DiskCounters(
            name=parts[2],
            reads=stats[0],
            sectors_read=stats[2],
            writes=stats[4],
            sectors_written=stats[6],
            io_ticks_ms=stats[9],
        )
    return disks


def read_diskstats(sysroot: Sysroot) -> dict[str, DiskCounters]:
    return parse_diskstats(sysroot.read_text("proc/diskstats") or "")


def is_whole_disk(name: str) -> bool:
    return bool(_WHOLE_DISK.match(name))


def disk_busy_percent(
    before: Mapping[str, DiskCounters], after: Mapping[str, DiskCounters], seconds: float
) -> dict[str, float]:
    """Busy % per disk between two /proc/diskstats samples ``seconds`` apart (what iostat calls %util)."""
    if seconds <= 0:
        return {}
    busy: dict[str, float] = {}
    for name, now in after.items():
        then = before.get(name)
        if then is None or now.io_ticks_ms < then.io_ticks_ms:
            continue  # new disk, or counters reset (device re-plugged)
        busy[name] = min(100.0, (now.io_ticks_ms - then.io_ticks_ms) / (seconds * 10.0))
    return busy


def read_memory(sysroot: Sysroot) -> MemoryReading | None:
    text = sysroot.read_text("proc/meminfo") or ""
    values = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+):\s+(\d+)\s*kB", text, re.MULTILINE)}
    if "MemTotal" not in values:
        return None
    available = values.get("MemAvailable", values.get("MemFree", 0))
    return MemoryReading(total_mb=values["MemTotal"] // 1024, available_mb=available // 1024)


def read_cpu_times(sysroot: Sysroot) -> CpuTimes | None:
    """Aggregate jiffies from the ``cpu`` line of /proc/stat (busy = total − idle − iowait)."""
    lines = (sysroot.read_text("proc/stat") or "").splitlines()
    line = next((text for text in lines if text.startswith("cpu ")), None)
    if line is None:
        return None
    try:
        values = [int(v) for v in line.split()[1:]]
    except ValueError:
        return None
    total = sum(values[:8])  # guest time is already counted in user
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return CpuTimes(busy=total - idle, total=total)


class HostMonitor:
    """Takes `HostSample`s; disk busy % needs two samples, so the first one has none."""

    def __init__(
        self,
        sysroot: Sysroot,
        clock: Callable[[], float] = time.monotonic,
        disks: Sequence[str] | None = None,
    ) -> None:
        self.sysroot = sysroot
        self._clock = clock
        self._disks = tuple(disks) if disks else None  # e.g. ("mmcblk0",): the data disk; default all
        self._last_disks: dict[str, DiskCounters] | None = None
        self._last_time = 0.0

    def sample(self) -> HostSample:
        busy, busiest = self._disk_busy()
        return HostSample(
            temperature=read_cpu_temperature(self.sysroot),
            throttle=read_throttle_flags(self.sysroot),
            pressure=read_pressure(self.sysroot),
            disk_busy_pct=busy,
            busiest_disk=busiest,
            memory=read_memory(self.sysroot),
        )

    def _disk_busy(self) -> tuple[float | None, str | None]:
        now = self._clock()
        disks = {
            name: counters
            for name, counters in read_diskstats(self.sysroot).items()
            if (name in self._disks if self._disks else is_whole_disk(name))
        }
        before, then = self._last_disks, self._last_time
        self._last_disks, self._last_time = disks, now
        if before is None or not disks:
            return None, None
        busy = disk_busy_percent(before, disks, now - then)
        if not busy:
            return None, None
        name = max(busy, key=lambda n: busy[n])
        return busy[name], name
