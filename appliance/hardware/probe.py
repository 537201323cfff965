"""Which box is this? `probe(sysroot)` reads the identifying kernel files and picks a board profile."""

from __future__ import annotations

import logging
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from appliance.hardware.profiles import FALLBACK_PROFILE, Profile, load_profiles
from appliance.hardware.sysroot import Sysroot

log = logging.getLogger(__name__)

# Device nodes that matter for video encoding, as globs below the sysroot.
DEVICE_GLOBS = (
    "dev/dri/renderD*",
    "dev/video1[0-9]",
    "dev/video3[0-9]",
    "dev/mpp_service",
    "dev/rga",
    "dev/nvidia[0-9]",
    "dev/dma_heap/*",
)

# How strongly each kind of rule identifies a board; the best-scoring profile wins.
_SCORES = {
    "device_tree_model": 100,
    "dmi_product": 80,
    "dmi_board": 80,
    "device_tree_compatible": 60,
    "cpu_model": 40,
}


@dataclass(frozen=True)
class Facts:
    """What the kernel says about the machine; every field may be missing."""

    arch: str | None = None
    device_tree_model: str | None = None
    device_tree_compatible: tuple[str, ...] = ()
    dmi_vendor: str | None = None
    dmi_product: str | None = None
    dmi_board: str | None = None
    cpu_model: str | None = None
    cpu_cores: int | None = None
    memory_mb: int | None = None
    devices: tuple[str, ...] = ()


@dataclass(frozen=True)
class HardwareInfo:
    board_id: str
    model: str
    profile: Profile
    memory_mb: int | None
    memory_class: str
    cpu_cores: int | None
    cpu_model: str | None
    arch: str | None
    devices: tuple[str, ...]
    reason: str  # why this profile: what matched, or why we fell back to a generic one
    fallback: bool  # True when no board-specific profile matched
    concurrency: Mapping[str, int] = field(default_factory=dict)  # per queue, capped by memory

    @property
    def encoder_ladder(self) -> tuple[str, ...]:
        return self.profile.encoders

    def to_dict(self) -> dict[str, object]:
        return {
            "board": {"id": self.board_id, "model": self.model},
            "profile": self.profile.id,
            "memory_mb": self.memory_mb,
            "memory_class": self.memory_class,
            "cpu_cores": self.cpu_cores,
            "cpu_model": self.cpu_model,
            "arch": self.arch,
            "devices": ["/" + d for d in self.devices],
            "reason": self.reason,
            "fallback": self.fallback,
            "concurrency": dict(self.concurrency),
        }


def probe(sysroot: Sysroot, profiles_dir: Path | None = None) -> HardwareInfo:
    """Identify the board below ``sysroot`` and choose its profile; never raises for missing files."""
    facts = read_facts(sysroot)
    profiles = load_profiles(profiles_dir)
    profile, reason, fallback = choose_profile(facts, profiles)
    if not sysroot.exists("."):
        reason = f"sysroot {sysroot.root} does not exist; {reason}"
    memory_class = classify_memory(facts.memory_mb)
    info = HardwareInfo(
        board_id="unknown" if fallback else profile.id,
        model=describe_model(facts),
        profile=profile,
        memory_mb=facts.memory_mb,
        memory_class=memory_class,
        cpu_cores=facts.cpu_cores,
        cpu_model=facts.cpu_model,
        arch=facts.arch,
        devices=facts.devices,
        reason=reason,
        fallback=fallback,
        concurrency=effective_concurrency(profile, facts.memory_mb),
    )
    log.info("hardware: %s (%s), profile %s: %s", info.model, info.arch, profile.id, reason)
    return info


def read_facts(sysroot: Sysroot) -> Facts:
    cpuinfo_text = sysroot.read_text("proc/cpuinfo") or ""
    cpuinfo = parse_cpuinfo(cpuinfo_text)
    dt_model = sysroot.read_line("proc/device-tree/model") or cpuinfo.get("Model")
    compatible = sysroot.read_text("proc/device-tree/compatible") or ""
    devices: list[str] = []
    for pattern in DEVICE_GLOBS:
        devices.extend(sysroot.glob(pattern))
    return Facts(
        arch=read_arch(sysroot, cpuinfo),
        device_tree_model=dt_model,
        device_tree_compatible=tuple(c.strip() for c in compatible.split("\n") if c.strip()),
        dmi_vendor=sysroot.read_line("sys/class/dmi/id/sys_vendor"),
        dmi_product=sysroot.read_line("sys/class/dmi/id/product_name"),
        dmi_board=sysroot.read_line("sys/class/dmi/id/board_name"),
        cpu_model=cpuinfo.get("model name") or arm_cores(cpuinfo_text) or cpuinfo.get("Hardware"),
        cpu_cores=read_cpu_cores(sysroot, cpuinfo),
        memory_mb=read_memory_mb(sysroot),
        devices=tuple(devices),
    )


def parse_cpuinfo(text: str) -> dict[str, str]:
    """First value of each key, plus ``_processors``: how many ``processor`` entries there are."""
    values: dict[str, str] = {}
    processors = 0
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip()
        if key == "processor":
            processors += 1
        values.setdefault(key, value.strip())
    values["_processors"] = str(processors)
    return values


# "CPU part" of Arm's own cores in /proc/cpuinfo (implementer 0x41).
_ARM_PARTS = {
    "0xd03": "Cortex-A53",
    "0xd04": "Cortex-A35",
    "0xd05": "Cortex-A55",
    "0xd07": "Cortex-A57",
    "0xd08": "Cortex-A72",
    "0xd09": "Cortex-A73",
    "0xd0b": "Cortex-A76",
    "0xd0c": "Neoverse-N1",
    "0xd41": "Cortex-A78",
}


def arm_cores(cpuinfo: str) -> str | None:
    """``4x Cortex-A55 + 4x Cortex-A76`` from the per-core ``CPU part`` lines; None if not Arm."""
    counts: dict[str, int] = {}
    for part in re.findall(r"^CPU part\s*:\s*(0x[0-9a-f]+)", cpuinfo, re.MULTILINE):
        name = _ARM_PARTS.get(part, f"Arm part {part}")
        counts[name] = counts.get(name, 0) + 1
    return " + ".join(f"{n}x {name}" for name, n in counts.items()) or None


def read_arch(sysroot: Sysroot, cpuinfo: Mapping[str, str]) -> str | None:
    """``uname -m`` of the sysroot: /proc/sys/kernel/arch (Linux ≥ 6.1), else guessed from cpuinfo."""
    arch = sysroot.read_line("proc/sys/kernel/arch")
    if arch:
        return arch
    cpu_arch = cpuinfo.get("CPU architecture")
    if cpu_arch == "8":
        return "aarch64"
    if cpu_arch == "7":
        return "armv7l"
    flags = cpuinfo.get("flags", "").split()
    if "lm" in flags:
        return "x86_64"
    if flags:
        return "i686"
    return None


def read_cpu_cores(sysroot: Sysroot, cpuinfo: Mapping[str, str]) -> int | None:
    online = sysroot.read_line("sys/devices/system/cpu/online")
    if online:
        count = parse_cpu_list(online)
        if count:
            return count
    processors = int(cpuinfo.get("_processors", "0"))
    return processors or None


def parse_cpu_list(text: str) -> int:
    """``0-3,6`` → 5. Returns 0 when the text is not a CPU list."""
    count = 0
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            count += (int(hi) - int(lo) + 1) if sep else (1 if int(lo) >= 0 else 0)
        except ValueError:
            return 0
    return count


def read_memory_mb(sysroot: Sysroot) -> int | None:
    text = sysroot.read_text("proc/meminfo") or ""
    match = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.MULTILINE)
    return int(match.group(1)) // 1024 if match else None


def classify_memory(memory_mb: int | None) -> str:
    """tiny (512 MB boards), small (1–2 GB), medium (4 GB), large (8 GB and up); MemTotal is below nominal."""
    if memory_mb is None:
        return "unknown"
    if memory_mb < 768:
        return "tiny"
    if memory_mb < 2560:
        return "small"
    if memory_mb < 6144:
        return "medium"
    return "large"


def effective_concurrency(profile: Profile, memory_mb: int | None) -> dict[str, int]:
    """The profile's per-queue concurrency, capped so the workers fit in memory (never above 1 when tiny)."""
    cap = 1_000
    if memory_mb is not None:
        cap = max(1, (memory_mb - profile.memory.reserve_mb) // max(1, profile.memory.per_job_mb))
        if classify_memory(memory_mb) == "tiny":
            cap = 1
    return {queue: min(value, cap) for queue, value in profile.concurrency.items()}


def describe_model(facts: Facts) -> str:
    if facts.device_tree_model:
        return facts.device_tree_model
    dmi = " ".join(p for p in (facts.dmi_vendor, facts.dmi_product) if p and not _placeholder(p))
    if dmi and facts.cpu_model:
        return f"{dmi} ({facts.cpu_model})"
    return dmi or facts.cpu_model or "unknown"


def _placeholder(value: str) -> bool:
    """DMI strings that vendors leave unset."""
    return value.strip().lower() in {"default string", "to be filled by o.e.m.", "system product name", ""}


def choose_profile(facts: Facts, profiles: list[Profile]) -> tuple[Profile, str, bool]:
    """The best matching specific profile, else the generic one for the architecture."""
    best: tuple[int, int, str, Profile, str] | None = None
    for profile in profiles:
        if profile.generic or not _arch_fits(profile, facts.arch):
            continue
        score, why = score_profile(profile, facts)
        if score and (best is None or (score, profile.priority) > (best[0], best[1])):
            best = (score, profile.priority, profile.id, profile, why)
    if best is not None:
        return best[3], f"matched {best[4]}", False
    return _generic(facts, profiles)


def score_profile(profile: Profile, facts: Facts) -> tuple[int, str]:
    """The strongest rule of ``profile`` that ``facts`` satisfy, as (score, description)."""
    rules = profile.match
    candidates: list[tuple[int, str]] = []
    model = facts.device_tree_model
    for needle in rules.device_tree_model:
        if model and needle in model:
            candidates.append((_SCORES["device_tree_model"], f"device-tree model {model!r}"))
    for needle in rules.device_tree_compatible:
        if needle in facts.device_tree_compatible:
            candidates.append((_SCORES["device_tree_compatible"], f"device-tree compatible {needle!r}"))
    for needle in rules.dmi_product:
        if facts.dmi_product and needle in facts.dmi_product:
            candidates.append((_SCORES["dmi_product"], f"DMI product {facts.dmi_product!r}"))
    for needle in rules.dmi_board:
        if facts.dmi_board and needle in facts.dmi_board:
            candidates.append((_SCORES["dmi_board"], f"DMI board {facts.dmi_board!r}"))
    for needle in rules.cpu_model:
        if facts.cpu_model and needle in facts.cpu_model:
            candidates.append((_SCORES["cpu_model"], f"CPU {facts.cpu_model!r}"))
    return max(candidates, default=(0, ""))


def _arch_fits(profile: Profile, arch: str | None) -> bool:
    return not profile.match.arch or arch is None or arch in profile.match.arch


def _generic(facts: Facts, profiles: list[Profile]) -> tuple[Profile, str, bool]:
    seen = describe_model(facts)
    why = f"no board profile matched {seen!r}" if seen != "unknown" else "nothing identifies the board"
    arch = facts.arch
    if arch is None:
        # Broken or partial sysroot: assume the machine we run on, and say so.
        arch = platform.machine()
        why += f" (architecture unreadable, assuming this machine's {arch})"
    missing = [
        name
        for name, value in (
            ("/proc/cpuinfo", facts.cpu_model or facts.arch),
            ("/proc/meminfo", facts.memory_mb),
        )
        if value is None
    ]
    if missing:
        why += "; missing or unreadable: " + ", ".join(missing)
    for profile in profiles:
        if profile.generic and arch in profile.match.arch:
            return profile, f"{why}; using {profile.id}", True
    return FALLBACK_PROFILE, f"{why}; no generic profile for {arch}, using built-in defaults", True
