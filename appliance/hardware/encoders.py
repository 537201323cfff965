"""Which H.264 encoder works here: device checks, a real test encode per candidate, a cache, a breaker.

``ffmpeg -encoders`` only says what was compiled in (Debian's ffmpeg lists nvenc, qsv, vaapi and v4l2m2m on
a box with no GPU), so it is used only to rule candidates out. Each remaining candidate of the profile's
ladder gets (1) a device-node check below the sysroot, which tells "no hardware" from "no permission", and
(2) a half-second test encode with the real ffmpeg, whose failure is classified from its exit code and
stderr. Results are cached in a JSON file keyed by a fingerprint of the hardware, the ffmpeg build, the
device nodes and our uid/groups, so start-up pays for the probe once. Software ``libx264`` is always last.

With a captured sysroot (``shoebox doctor --sysroot DIR``) the device check reads the capture, and the test
encode runs for the candidates whose nodes the capture has, against this machine's ffmpeg and /dev: a Pi
capture on an x86 box therefore reports ``h264_v4l2m2m`` as "no device" (ffmpeg finds no V4L2 encoder here),
which is true of this machine. Running ffmpeg here is the one deliberate exception to "subprocess lives
in media/": the probe is about the hardware, the production command lines stay in media/.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from appliance.hardware.probe import HardwareInfo
from appliance.hardware.profiles import SOFTWARE_ENCODER
from appliance.hardware.sysroot import Access, Sysroot

log = logging.getLogger(__name__)

CACHE_VERSION = 1
TEST_INPUT = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10"]
TEST_SECONDS = "0.5"
DEFAULT_TIMEOUT_S = 20.0
DEFAULT_RENDER_NODE = "/dev/dri/renderD128"  # the first GPU render node, when probing named none
T = TypeVar("T")
# (ffmpeg, encoder, device or None) -> argv of a short encode that exits 0 when the encoder works.
CommandBuilder = Callable[[str, str, "str | None"], list[str]]


class Status(enum.StrEnum):
    OK = "ok"
    NO_DEVICE = "no_device"  # the hardware (or its device node) is not there
    NO_PERMISSION = "no_permission"  # the node is there, we may not open it (group video/render, DeviceAllow)
    NO_DRIVER = "no_driver"  # node there, user-space driver missing or broken (libva, libmfx, CUDA)
    ENCODER_ABSENT = "encoder_absent"  # this ffmpeg was built without the encoder
    TIMEOUT = "timeout"
    NO_FFMPEG = "no_ffmpeg"
    FAILED = "failed"  # anything else; the reason carries ffmpeg's last words


@dataclass(frozen=True)
class Family:
    name: str
    device_globs: tuple[str, ...] = ()  # below the sysroot; empty = needs no device
    group: str = ""  # the group that usually grants access to the node


FAMILIES = {
    "software": Family("software"),
    "vaapi": Family("vaapi", ("dev/dri/renderD*",), "render"),
    "qsv": Family("qsv", ("dev/dri/renderD*",), "render"),
    "v4l2m2m": Family("v4l2m2m", ("dev/video*",), "video"),
    "rkmpp": Family("rkmpp", ("dev/mpp_service",), "video"),
    "nvenc": Family("nvenc", ("dev/nvidia[0-9]*",), "video"),
}


def family_of(encoder: str) -> Family:
    if encoder.startswith("lib"):
        return FAMILIES["software"]
    suffix = encoder.rsplit("_", 1)[-1]
    return FAMILIES.get(suffix, Family(suffix))


@dataclass(frozen=True)
class EncoderProbe:
    name: str
    usable: bool
    status: Status
    reason: str
    device: str | None = None
    seconds: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "usable": self.usable,
            "status": str(self.status),
            "reason": self.reason,
            "device": self.device,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class EncoderReport:
    probes: tuple[EncoderProbe, ...]
    chosen: str | None
    fingerprint: str
    ffmpeg_version: str | None
    from_cache: bool = False

    def usable(self) -> list[str]:
        return [p.name for p in self.probes if p.usable]

    def to_dict(self) -> dict[str, object]:
        return {
            "chosen": self.chosen,
            "fingerprint": self.fingerprint,
            "ffmpeg_version": self.ffmpeg_version,
            "from_cache": self.from_cache,
            "encoders": [p.to_dict() for p in self.probes],
        }


# --- classifying ffmpeg's failures --------------------------------------------------------------------

# Checked in order; the messages are those recorded on Debian 12's ffmpeg 5.1 (appliance.md §0) plus the
# usual ones from the vendor builds.
_FAILURES: tuple[tuple[Status, re.Pattern[str]], ...] = (
    (Status.ENCODER_ABSENT, re.compile(r"Unknown encoder|Encoder \S+ not found|Unrecognized option", re.I)),
    (Status.NO_PERMISSION, re.compile(r"Permission denied|Operation not permitted", re.I)),
    (
        Status.NO_DEVICE,
        re.compile(
            r"Could not find a valid device|No VA display found|No device available|No NVENC capable devices"
            r"|No such file or directory|No such device|no drm device",
            re.I,
        ),
    ),
    (
        Status.NO_DRIVER,
        re.compile(
            r"Cannot load libcuda|Could not dynamically load CUDA|va_openDriver|vaInitialize failed"
            r"|Failed to initiali[sz]e VAAPI|MFX session|libmfx|libvpl|Device creation failed"
            r"|Generic error in an external library|Failed to init MPP|mpp_create|driver",
            re.I,
        ),
    ),
)


def classify_failure(returncode: int, stderr: str) -> tuple[Status, str]:
    """What kind of failure a test encode's exit code and stderr show, and the line that shows it."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if returncode == 0:
        return Status.OK, "test encode passed"
    for status, pattern in _FAILURES:
        for line in lines:
            if pattern.search(line):
                return status, _clean(line)
    last = _clean(lines[-1]) if lines else f"ffmpeg exited with {returncode}"
    return Status.FAILED, last


def _clean(line: str) -> str:
    """Drop the ``[h264_v4l2m2m @ 0x55d…]`` prefix: it changes every run."""
    return re.sub(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*", "", line)[:300]


# --- devices ------------------------------------------------------------------------------------------


def find_device(sysroot: Sysroot, encoder: str) -> tuple[str | None, Status | None, str]:
    """The device node ``encoder`` would use: (relative path, failure status or None, explanation)."""
    family = family_of(encoder)
    if not family.device_globs:
        return None, None, "software"
    nodes = [n for pattern in family.device_globs for n in sysroot.glob(pattern)]
    if family.name == "v4l2m2m":
        nodes = _v4l2_encoders(sysroot, nodes)
    if not nodes:
        wanted = ", ".join("/" + g for g in family.device_globs)
        return None, Status.NO_DEVICE, f"no {family.name} device node ({wanted})"
    for node in nodes:
        if sysroot.access(node) is Access.OK:
            return node, None, f"/{node}"
    node = nodes[0]
    return (
        node,
        Status.NO_PERMISSION,
        (
            f"/{node} exists but uid {os.getuid()} cannot open it read-write: add the service user to group "
            f"'{family.group}' (and allow the node in the unit's DeviceAllow=)"
        ),
    )


def _v4l2_encoders(sysroot: Sysroot, nodes: list[str]) -> list[str]:
    """V4L2 nodes whose driver name says encoder (bcm2835-codec-encode); all of them if names are unknown."""
    named = {n: sysroot.read_line(f"sys/class/video4linux/{n.rsplit('/', 1)[-1]}/name") for n in nodes}
    if not any(named.values()):
        return nodes
    return [n for n, name in named.items() if name and "enc" in name and "image" not in name]


# --- running ffmpeg -----------------------------------------------------------------------------------


def hw_device_args(encoder: str, device: str | None) -> list[str]:
    """How ffmpeg opens the GPU for ``encoder`` (VAAPI, Quick Sync), the same in the trial encode and in real
    transcodes, so a trial that passes proves the arguments the jobs use. Empty for other families."""
    family = family_of(encoder).name
    node = device or DEFAULT_RENDER_NODE
    if family == "vaapi":
        return ["-init_hw_device", f"vaapi=va:{node}", "-filter_hw_device", "va"]
    if family == "qsv":
        return ["-init_hw_device", f"qsv=hw,child_device={node}", "-filter_hw_device", "hw"]
    return []


def trial_encode_command(ffmpeg: str, encoder: str, device: str | None) -> list[str]:
    """The test encode for ``encoder``: 5 frames of testsrc2 through the encoder's usual upload path."""
    family = family_of(encoder).name
    head = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error"]
    tail = ["-t", TEST_SECONDS, "-f", "null", "-"]
    if family == "vaapi":
        return head + [*hw_device_args(encoder, device), *TEST_INPUT, "-vf", "format=nv12,hwupload",
                       "-c:v", encoder, *tail]
    if family == "qsv":
        return head + [*hw_device_args(encoder, device), *TEST_INPUT, "-vf",
                       "format=nv12,hwupload=extra_hw_frames=64", "-c:v", encoder, *tail]
    if family == "v4l2m2m":
        return head + [*TEST_INPUT, "-pix_fmt", "yuv420p", "-b:v", "1M", "-c:v", encoder, *tail]
    if family == "rkmpp":
        return head + [*TEST_INPUT, "-pix_fmt", "nv12", "-c:v", encoder, *tail]
    if family == "software":
        return head + [*TEST_INPUT, "-c:v", encoder, "-preset", "ultrafast", "-crf", "23", *tail]
    return head + [*TEST_INPUT, "-c:v", encoder, *tail]


def ffmpeg_version(ffmpeg: str) -> str | None:
    """The first line of ``ffmpeg -version``, or None when there is no working ffmpeg."""
    try:
        done = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    first = done.stdout.strip().split("\n", 1)[0].strip()
    return first if done.returncode == 0 and first else None


def list_encoders(ffmpeg: str) -> set[str] | None:
    """Encoder names ffmpeg was built with (only ever used to rule candidates out); None if unknown."""
    try:
        done = subprocess.run(
            [ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    names = set(re.findall(r"^\s*[VAS][\w.]{5}\s+(\S+)", done.stdout, re.MULTILINE))
    return names if done.returncode == 0 and names else None


def run_trial_encode(
    ffmpeg: str,
    encoder: str,
    device: str | None,
    timeout: float,
    command: CommandBuilder | None = None,
) -> EncoderProbe:
    cmd = (command or trial_encode_command)(ffmpeg, encoder, device)
    started = time.monotonic()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return EncoderProbe(encoder, False, Status.TIMEOUT, f"test encode took over {timeout:g} s", device)
    except OSError as err:
        return EncoderProbe(encoder, False, Status.NO_FFMPEG, f"cannot run {ffmpeg}: {err}", device)
    seconds = round(time.monotonic() - started, 3)
    status, reason = classify_failure(done.returncode, done.stderr)
    return EncoderProbe(encoder, status is Status.OK, status, reason, device, seconds)


# --- detection ----------------------------------------------------------------------------------------


def candidates(ladder: Sequence[str]) -> list[str]:
    """The ladder without duplicates, with software x264 last."""
    names = [name for i, name in enumerate(ladder) if name not in ladder[:i] and name != SOFTWARE_ENCODER]
    return names + [SOFTWARE_ENCODER]


def fingerprint(info: HardwareInfo, version: str | None, ffmpeg: str, ladder: Sequence[str]) -> str:
    """Changes whenever a re-probe could give another answer: hardware, ffmpeg build, nodes, our groups."""
    data = {
        "v": CACHE_VERSION,
        "board": info.board_id,
        "profile": info.profile.id,
        "model": info.model,
        "arch": info.arch,
        "ffmpeg": version,
        "ffmpeg_path": ffmpeg,
        "devices": sorted(info.devices),
        "ladder": list(ladder),
        "uid": os.getuid(),
        "groups": sorted(os.getgroups()),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def detect_encoders_blocking(
    info: HardwareInfo,
    sysroot: Sysroot,
    *,
    ffmpeg: str = "ffmpeg",
    cache_path: Path | None = None,
    ladder: Sequence[str] | None = None,
    encode_timeout: float = DEFAULT_TIMEOUT_S,
    command: CommandBuilder | None = None,
) -> EncoderReport:
    """Probe the profile's encoder ladder (or ``ladder``) and choose the first usable encoder.

    ``ffmpeg`` is a path or a name looked up on PATH. With ``cache_path``, a previous result with the same
    fingerprint is returned without running anything but ``ffmpeg -version``. ``command`` replaces the
    built-in test encode (`trial_encode_command`), e.g. with media's production pipeline on a short clip.
    """
    names = candidates(ladder if ladder is not None else info.encoder_ladder)
    binary = shutil.which(ffmpeg) or ffmpeg
    version = ffmpeg_version(binary)
    key = fingerprint(info, version, binary, names)
    if cache_path is not None:
        cached = _load_cache(cache_path, key)
        if cached is not None:
            log.info("encoders: %s (cached, fingerprint %s)", cached.chosen, key)
            return cached
    if version is None:
        why = f"no working ffmpeg at {ffmpeg!r}"
        probes = tuple(EncoderProbe(n, False, Status.NO_FFMPEG, why) for n in names)
        return EncoderReport(probes, None, key, None)
    built = list_encoders(binary)
    probes = tuple(_probe_one(binary, name, sysroot, built, encode_timeout, command) for name in names)
    chosen = next((p.name for p in probes if p.usable), None)
    report = EncoderReport(probes, chosen, key, version)
    for probe in probes:
        log.info("encoder %s: %s (%s)", probe.name, probe.status, probe.reason)
    log.info("encoders: using %s (%s)", chosen, version)
    if cache_path is not None and _worth_caching(report):
        _save_cache(cache_path, report)
    return report


async def detect_encoders(
    info: HardwareInfo,
    sysroot: Sysroot,
    *,
    ffmpeg: str = "ffmpeg",
    cache_path: Path | None = None,
    ladder: Sequence[str] | None = None,
    encode_timeout: float = DEFAULT_TIMEOUT_S,
    command: CommandBuilder | None = None,
) -> EncoderReport:
    """`detect_encoders_blocking` in a worker thread (for start-up inside the event loop)."""
    return await asyncio.to_thread(
        detect_encoders_blocking,
        info,
        sysroot,
        ffmpeg=ffmpeg,
        cache_path=cache_path,
        ladder=ladder,
        encode_timeout=encode_timeout,
        command=command,
    )


def _probe_one(
    ffmpeg: str,
    name: str,
    sysroot: Sysroot,
    built: set[str] | None,
    timeout: float,
    command: CommandBuilder | None,
) -> EncoderProbe:
    if built is not None and name not in built:
        why = "not built into this ffmpeg (ffmpeg -encoders)"
        return EncoderProbe(name, False, Status.ENCODER_ABSENT, why)
    node, failure, detail = find_device(sysroot, name)
    if failure is not None:
        return EncoderProbe(name, False, failure, detail, "/" + node if node else None)
    device = sysroot.host_path(node) if node else None
    result = run_trial_encode(ffmpeg, name, device, timeout, command)
    if node and not sysroot.is_host:
        # The node came from a captured sysroot, the test encode ran against this machine's /dev.
        reason = f"{result.reason} (tested on this machine, not the captured board)"
        return dataclasses.replace(result, reason=reason)
    return result


def _worth_caching(report: EncoderReport) -> bool:
    """A timeout may be a busy box and "nothing usable" a broken install: probe again next start."""
    return report.chosen is not None and all(p.status is not Status.TIMEOUT for p in report.probes)


def _load_cache(path: Path, key: str) -> EncoderReport | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != CACHE_VERSION or data.get("fingerprint") != key:
            return None
        probes = tuple(
            EncoderProbe(
                name=p["name"],
                usable=bool(p["usable"]),
                status=Status(p["status"]),
                reason=p["reason"],
                device=p.get("device"),
                seconds=p.get("seconds"),
            )
            for p in data["probes"]
        )
        return EncoderReport(probes, data.get("chosen"), key, data.get("ffmpeg_version"), from_cache=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save_cache(path: Path, report: EncoderReport) -> None:
    data = {
        "version": CACHE_VERSION,
        "fingerprint": report.fingerprint,
        "ffmpeg_version": report.ffmpeg_version,
        "chosen": report.chosen,
        "probes": [{**asdict(p), "status": str(p.status)} for p in report.probes],
    }
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, path)  # a cache: regenerated if lost, so no fsync
    except OSError as err:
        log.warning("could not write the encoder cache %s: %s", path, err)


# --- at run time --------------------------------------------------------------------------------------


@dataclass
class _Health:
    consecutive_failures: int = 0
    last_error: str = ""
    disabled_reason: str | None = None


class EncoderBreaker:
    """Per-encoder circuit breaker: a failing hardware encode falls back to software for that job, and
    ``threshold`` failures in a row disable the encoder until `reset` (after a re-probe or restart)."""

    def __init__(
        self, usable: Sequence[str], *, software: str = SOFTWARE_ENCODER, threshold: int = 3
    ) -> None:
        self.usable = tuple(usable)  # usable encoders in preference order (EncoderReport.usable())
        self.software = software
        self.threshold = threshold
        self._health: dict[str, _Health] = {}

    def choose(self) -> str:
        """The encoder for the next job: the first usable one not disabled, else software."""
        for name in self.usable:
            if name != self.software and not self.is_disabled(name):
                return name
        return self.software

    def record_success(self, encoder: str) -> None:
        health = self._health.setdefault(encoder, _Health())
        health.consecutive_failures = 0

    def record_failure(self, encoder: str, error: str) -> str:
        """Note a failed encode; returns the encoder to retry this job with (software)."""
        if encoder == self.software:
            return self.software  # nothing to fall back to; the job itself fails
        health = self._health.setdefault(encoder, _Health())
        health.consecutive_failures += 1
        health.last_error = error.strip().splitlines()[-1][:300] if error.strip() else "unknown error"
        log.warning(
            "encoder %s failed (%d in a row): %s", encoder, health.consecutive_failures, health.last_error
        )
        if health.disabled_reason is None and health.consecutive_failures >= self.threshold:
            health.disabled_reason = (
                f"disabled after {health.consecutive_failures} failures in a row; last: {health.last_error}"
            )
            log.error("encoder %s %s; using %s", encoder, health.disabled_reason, self.choose())
        return self.software

    def is_disabled(self, encoder: str) -> bool:
        health = self._health.get(encoder)
        return health is not None and health.disabled_reason is not None

    def disabled(self) -> dict[str, str]:
        return {name: h.disabled_reason for name, h in self._health.items() if h.disabled_reason is not None}

    def reset(self, encoder: str | None = None) -> None:
        if encoder is None:
            self._health.clear()
        else:
            self._health.pop(encoder, None)

    def status(self) -> dict[str, object]:
        return {
            "encoder": self.choose(),
            "disabled": self.disabled(),
            "failures": {
                n: h.consecutive_failures for n, h in self._health.items() if h.consecutive_failures
            },
        }

    async def encode(self, attempt: Callable[[str], Awaitable[T]]) -> T:
        """Run ``attempt(encoder)`` with the chosen encoder; on a hardware failure retry once in software.

        ``attempt`` raises on failure (its message is recorded); a software failure propagates.
        """
        encoder = self.choose()
        try:
            result = await attempt(encoder)
        except Exception as err:
            if encoder == self.software:
                raise
            fallback = self.record_failure(encoder, str(err) or type(err).__name__)
            return await attempt(fallback)
        self.record_success(encoder)
        return result
