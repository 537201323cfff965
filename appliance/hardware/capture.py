"""Capturing a board's identifying kernel files into a folder, for ``hw-profiles/<board>/sysroot``.

Run on the new board: ``python -c "from pathlib import Path; from appliance.hardware.capture import
capture_sysroot; from appliance.hardware.sysroot import Sysroot; capture_sysroot(Sysroot(), Path('out'))"``.
Device nodes become empty marker files; serial numbers are blanked (a capture is meant to be committed).
"""

from __future__ import annotations

import re
from pathlib import Path

from appliance.hardware.probe import DEVICE_GLOBS
from appliance.hardware.sysroot import Sysroot

# Files copied as they are (globs below the sysroot). DMI serials and UUIDs are deliberately absent.
FILES = (
    "proc/device-tree/model",
    "proc/device-tree/compatible",
    "proc/cpuinfo",
    "proc/meminfo",
    "proc/sys/kernel/arch",
    "proc/pressure/cpu",
    "proc/pressure/io",
    "proc/pressure/memory",
    "proc/diskstats",
    "sys/devices/system/cpu/online",
    "sys/class/dmi/id/sys_vendor",
    "sys/class/dmi/id/product_name",
    "sys/class/dmi/id/product_family",
    "sys/class/dmi/id/product_version",
    "sys/class/dmi/id/board_vendor",
    "sys/class/dmi/id/board_name",
    "sys/class/dmi/id/board_version",
    "sys/class/dmi/id/bios_vendor",
    "sys/class/dmi/id/bios_version",
    "sys/class/dmi/id/bios_date",
    "sys/class/dmi/id/chassis_type",
    "sys/class/thermal/thermal_zone*/type",
    "sys/class/thermal/thermal_zone*/temp",
    "sys/class/thermal/thermal_zone*/mode",
    "sys/class/thermal/thermal_zone*/policy",
    "sys/class/thermal/thermal_zone*/trip_point_*_temp",
    "sys/class/thermal/thermal_zone*/trip_point_*_type",
    "sys/class/thermal/thermal_zone*/trip_point_*_hyst",
    "sys/class/hwmon/hwmon*/name",
    "sys/class/hwmon/hwmon*/temp1_input",
    "sys/class/hwmon/hwmon*/in0_lcrit_alarm",
    "sys/devices/platform/soc/soc:firmware/get_throttled",
    "sys/devices/platform/*/*:firmware/get_throttled",
    "sys/class/video4linux/video*/name",
)
MARKERS = (*DEVICE_GLOBS, "dev/video*", "dev/dri/card*")
_SERIAL = re.compile(r"^(Serial\s*:\s*)(\S+)$", re.MULTILINE)


def capture_sysroot(sysroot: Sysroot, dest: Path) -> list[str]:
    """Copy the identifying files of ``sysroot`` below ``dest``; returns the relative paths written."""
    written: list[str] = []
    for pattern in FILES:
        for rel in sysroot.glob(pattern):
            if rel in written:
                continue
            data = _read(sysroot, rel)
            if data is None:
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written.append(rel)
    for pattern in MARKERS:
        for rel in sysroot.glob(pattern):
            if rel in written:
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
            written.append(rel)
    return written


def _read(sysroot: Sysroot, rel: str) -> bytes | None:
    if rel.startswith("proc/device-tree/"):
        text = sysroot.read_text(rel)  # NULs became line ends: restore them
        return None if text is None else text.replace("\n", "\x00").encode()
    text = sysroot.read_text(rel)
    if text is None:
        return None
    if rel == "proc/cpuinfo":
        text = _SERIAL.sub(lambda m: m.group(1) + "0" * len(m.group(2)), text)
    return text.encode()
