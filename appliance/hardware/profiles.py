"""Board profiles: loading ``hw-profiles/<board>/profile.toml`` into typed objects.

Where profiles live (`profiles_dir()`): in a checkout, ``hw-profiles/`` next to the ``appliance`` package
(each board a folder with ``profile.toml`` and a captured ``sysroot/``); in an installed wheel, the package
data folder ``appliance/hardware/profiles/`` whose ``<board>.toml`` files are symlinks into ``hw-profiles/``
in git and real files in the wheel (setuptools copies the link targets). `load_profiles()` reads both layouts.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Immich's queue names for the background work Shoebox does.
QUEUES = ("thumbnailGeneration", "metadataExtraction", "videoConversion", "sidecar", "library")
SOFTWARE_ENCODER = "libx264"

_PACKAGE_PROFILES = Path(__file__).resolve().parent / "profiles"
_REPO_PROFILES = Path(__file__).resolve().parent.parent.parent / "hw-profiles"


class ProfileError(ValueError):
    """A profile file is missing a field or has a wrong type."""


@dataclass(frozen=True)
class MatchRules:
    """What identifies a board. Any one rule matching (and the architecture fitting) selects it."""

    arch: tuple[str, ...] = ()
    device_tree_model: tuple[str, ...] = ()  # substrings of /proc/device-tree/model
    device_tree_compatible: tuple[str, ...] = ()  # exact entries of /proc/device-tree/compatible
    dmi_product: tuple[str, ...] = ()  # substrings of /sys/class/dmi/id/product_name
    dmi_board: tuple[str, ...] = ()  # substrings of /sys/class/dmi/id/board_name
    cpu_model: tuple[str, ...] = ()  # substrings of "model name" in /proc/cpuinfo


@dataclass(frozen=True)
class MemoryPolicy:
    memory_class: str  # the class the concurrency numbers were tuned for
    reserve_mb: int  # kept for the server, SQLite and the page cache
    per_job_mb: int  # budget per background worker


@dataclass(frozen=True)
class ThermalPolicy:
    slow_c: float
    pause_c: float
    hysteresis_c: float
    min_dwell_s: float

    @property
    def resume_run_c(self) -> float:
        """Below this (after the dwell) a SLOW box may run at full speed again."""
        return self.slow_c - self.hysteresis_c

    @property
    def resume_slow_c(self) -> float:
        """Below this (after the dwell) a PAUSEd box may go back to SLOW."""
        return self.pause_c - self.hysteresis_c


@dataclass(frozen=True)
class PressurePolicy:
    """PSI ``avg10`` percentages and disk busy % that slow or pause background work."""

    cpu_some_slow: float = 60.0
    memory_some_slow: float = 20.0
    memory_full_pause: float = 10.0
    io_some_pause: float = 40.0
    io_full_pause: float = 10.0
    disk_busy_pause: float = 80.0
    hysteresis: float = 10.0  # percentage points below the threshold before a signal lets go


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    generic: bool
    match: MatchRules
    memory: MemoryPolicy
    concurrency: Mapping[str, int]
    slow_concurrency: Mapping[str, int]
    thermal: ThermalPolicy
    pressure: PressurePolicy
    encoders: tuple[str, ...]
    vips_novector: bool = False
    priority: int = 0
    source: Path | None = field(default=None, compare=False)

    def run_concurrency(self, queue: str) -> int:
        return int(self.concurrency.get(queue, 1))

    def slow_concurrency_for(self, queue: str) -> int:
        run = self.run_concurrency(queue)
        return min(run, int(self.slow_concurrency.get(queue, min(run, 1))))


def profiles_dir() -> Path:
    """``hw-profiles/`` of the checkout when there is one, else the profiles shipped in the package."""
    if _REPO_PROFILES.is_dir():
        return _REPO_PROFILES
    return _PACKAGE_PROFILES


def profile_files(directory: Path) -> list[Path]:
    """Profile files in either layout: ``<board>/profile.toml`` or ``<board>.toml``."""
    files = sorted(directory.glob("*/profile.toml"))
    if not files:
        files = sorted(p for p in directory.glob("*.toml") if p.is_file())
    return files


def load_profiles(directory: Path | None = None) -> list[Profile]:
    """Every readable profile in ``directory``; broken files are logged and skipped."""
    directory = directory or profiles_dir()
    profiles = []
    for path in profile_files(directory):
        try:
            profiles.append(load_profile(path))
        except (OSError, tomllib.TOMLDecodeError, ProfileError) as err:
            log.warning("skipping board profile %s: %s", path, err)
    return profiles


def load_profile(path: Path) -> Profile:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return parse_profile(data, source=path)


def parse_profile(data: Mapping[str, Any], source: Path | None = None) -> Profile:
    try:
        match = data.get("match", {})
        memory = data["memory"]
        conc = data["concurrency"]
        thermal = data["thermal"]
        pressure = data.get("pressure", {})
        transcode = data["transcode"]
        return Profile(
            id=str(data["id"]),
            name=str(data["name"]),
            generic=bool(data.get("generic", False)),
            priority=int(data.get("priority", 0)),
            match=MatchRules(**{k: tuple(str(v) for v in match.get(k, ())) for k in _MATCH_KEYS}),
            memory=MemoryPolicy(
                memory_class=str(memory["class"]),
                reserve_mb=int(memory["reserve_mb"]),
                per_job_mb=int(memory["per_job_mb"]),
            ),
            concurrency={k: int(v) for k, v in conc.items() if not isinstance(v, dict)},
            slow_concurrency={k: int(v) for k, v in conc.get("slow", {}).items()},
            thermal=ThermalPolicy(
                slow_c=float(thermal["slow_c"]),
                pause_c=float(thermal["pause_c"]),
                hysteresis_c=float(thermal["hysteresis_c"]),
                min_dwell_s=float(thermal["min_dwell_s"]),
            ),
            pressure=PressurePolicy(**{k: float(v) for k, v in pressure.items()}),
            encoders=tuple(str(e) for e in transcode["encoders"]),
            vips_novector=bool(data.get("media", {}).get("vips_novector", False)),
            source=source,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ProfileError(f"bad profile: {err!r}") from err


_MATCH_KEYS = ("arch", "device_tree_model", "device_tree_compatible", "dmi_product", "dmi_board", "cpu_model")


# The profile used when no profile files can be found at all: one worker per queue, software video.
FALLBACK_PROFILE = Profile(
    id="generic",
    name="Unknown machine (built-in defaults)",
    generic=True,
    match=MatchRules(),
    memory=MemoryPolicy(memory_class="small", reserve_mb=300, per_job_mb=250),
    concurrency={q: 1 for q in QUEUES},
    slow_concurrency={q: (0 if q == "videoConversion" else 1) for q in QUEUES},
    thermal=ThermalPolicy(slow_c=75.0, pause_c=85.0, hysteresis_c=5.0, min_dwell_s=60.0),
    pressure=PressurePolicy(),
    encoders=(SOFTWARE_ENCODER,),
)
