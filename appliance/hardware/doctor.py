"""``shoebox doctor``: what Shoebox detected about this box, as JSON or a readable table."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any, TextIO

from appliance.hardware.encoders import EncoderReport, detect_encoders_blocking
from appliance.hardware.monitors import HostMonitor, HostSample
from appliance.hardware.probe import HardwareInfo, probe
from appliance.hardware.sysroot import Sysroot
from appliance.hardware.throttle import ThrottleGovernor


def run_doctor(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Probe the sysroot, take one sample, probe the encoders (no cache: a doctor looks afresh), print."""
    out = out or sys.stdout
    sysroot = Sysroot(Path(getattr(args, "sysroot", None) or "/"))
    profiles = getattr(args, "profiles_dir", None)
    ffmpeg = getattr(args, "ffmpeg", None) or "ffmpeg"
    report = build_report(sysroot, Path(profiles) if profiles else None, ffmpeg)
    if getattr(args, "json", False):
        json.dump(report, out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(format_table(report))
    return 0


def build_report(
    sysroot: Sysroot, profiles_dir: Path | None = None, ffmpeg: str = "ffmpeg"
) -> dict[str, Any]:
    info = probe(sysroot, profiles_dir)
    # One sample: disk busy % needs two samples over time, so the doctor leaves it out.
    sample = HostMonitor(sysroot).sample()
    governor = ThrottleGovernor(info.profile, info.concurrency)
    governor.update(sample, now=0.0)
    encoders = detect_encoders_blocking(info, sysroot, ffmpeg=ffmpeg)
    return _assemble(sysroot, info, sample, governor, encoders, shutil.which(ffmpeg))


def _assemble(
    sysroot: Sysroot,
    info: HardwareInfo,
    sample: HostSample,
    governor: ThrottleGovernor,
    encoders: EncoderReport,
    ffmpeg_path: str | None,
) -> dict[str, Any]:
    temp = sample.temperature
    thermal = info.profile.thermal
    if temp is None:
        thermal_state = "unknown"
    elif temp.celsius >= thermal.pause_c:
        thermal_state = "pause"
    elif temp.celsius >= thermal.slow_c:
        thermal_state = "slow"
    else:
        thermal_state = "normal"
    flags = sample.throttle
    return {
        "sysroot": str(sysroot.root),
        "board": {"id": info.board_id, "model": info.model},
        "profile": info.profile.id,
        "profile_reason": info.reason,
        "arch": info.arch,
        "memory_mb": info.memory_mb,
        "memory_class": info.memory_class,
        "cpu_cores": info.cpu_cores,
        "cpu_model": info.cpu_model,
        "devices": ["/" + d for d in info.devices],
        "thermal": {
            "celsius": temp.celsius if temp else None,
            "state": thermal_state,
            "zone": temp.zone if temp else None,
            "type": temp.type if temp else None,
            "slow_c": thermal.slow_c,
            "pause_c": thermal.pause_c,
            "hysteresis_c": thermal.hysteresis_c,
        },
        "firmware_flags": None
        if flags is None
        else {
            "raw": hex(flags.raw),
            "now": flags.active(),
            "since_boot": flags.occurred(),
            "source": flags.source,
        },
        "pressure": {name: (p.to_dict() if p else None) for name, p in sample.pressure.items()},
        "memory": None
        if sample.memory is None
        else {
            "total_mb": sample.memory.total_mb,
            "available_mb": sample.memory.available_mb,
        },
        "concurrency": dict(info.concurrency),
        "encoders": [
            {"name": p.name, "usable": p.usable, "reason": p.reason, "status": str(p.status)}
            for p in encoders.probes
        ],
        "transcode": {
            "encoder": encoders.chosen,
            "ladder": list(info.encoder_ladder),
            "ffmpeg": ffmpeg_path,
            "ffmpeg_version": encoders.ffmpeg_version,
        },
        "throttle": {"state": governor.state.name, "reason": governor.reason},
    }


def format_table(report: dict[str, Any]) -> str:
    def pct(p: dict[str, Any] | None) -> str:
        if p is None:
            return "not available"
        full = p["full"]["avg10"] if p.get("full") else None
        return f"some {p['some']['avg10']:.2f}%" + (f", full {full:.2f}%" if full is not None else "")

    thermal = report["thermal"]
    temp = "not available"
    if thermal["celsius"] is not None:
        limits = f"slow at {thermal['slow_c']:g}, pause at {thermal['pause_c']:g}"
        temp = f"{thermal['celsius']:.1f} °C ({thermal['state']}; {thermal['type']}; {limits})"
    rows = [
        ("board", f"{report['board']['model']} [{report['board']['id']}]"),
        ("profile", f"{report['profile']} ({report['profile_reason']})"),
        ("cpu", f"{report['cpu_cores']} cores, {report['arch']}, {report['cpu_model']}"),
        ("memory", f"{report['memory_mb']} MB ({report['memory_class']})"),
        ("devices", ", ".join(report["devices"]) or "none"),
        ("temperature", temp),
    ]
    flags = report["firmware_flags"]
    if flags is not None:
        rows.append(("firmware", ", ".join(flags["now"]) or f"ok ({flags['raw']})"))
    for name in ("cpu", "io", "memory"):
        rows.append((f"{name} pressure", pct(report["pressure"].get(name))))
    rows.append(("concurrency", ", ".join(f"{q} {n}" for q, n in report["concurrency"].items())))
    for enc in report["encoders"]:
        mark = "usable" if enc["usable"] else enc["status"]
        rows.append((f"encoder {enc['name']}", f"{mark}: {enc['reason']}"))
    rows.append(("transcode with", str(report["transcode"]["encoder"])))
    rows.append(("throttle", f"{report['throttle']['state']}: {report['throttle']['reason']}"))
    width = max(len(k) for k, _ in rows)
    return "".join(f"{k:<{width}}  {v}\n" for k, v in rows)
