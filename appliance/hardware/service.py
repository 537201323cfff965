"""The box's hardware at run time: what it is (probed once at start), how hot and busy it is (the
governor, sampled every few seconds), and which video encoder to use (detected in the background)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from appliance.hardware.encoders import EncoderBreaker, EncoderReport, detect_encoders
from appliance.hardware.monitors import HostMonitor
from appliance.hardware.probe import HardwareInfo, probe
from appliance.hardware.profiles import SOFTWARE_ENCODER
from appliance.hardware.sysroot import Sysroot
from appliance.hardware.throttle import ThrottleGovernor

log = logging.getLogger(__name__)


class HardwareService:
    def __init__(self, sysroot: Path, cache_dir: Path, *, ffmpeg: str = "ffmpeg", interval: float = 5.0,
                 profiles_dir: Path | None = None, background_is_idle: bool = False) -> None:
        self.sysroot = Sysroot(sysroot)
        self.cache_dir = cache_dir
        self.ffmpeg = ffmpeg
        self.interval = interval
        self.info: HardwareInfo = probe(self.sysroot, profiles_dir)
        self.governor = ThrottleGovernor(
            self.info.profile, self.info.concurrency, clock=time.monotonic, monitor=HostMonitor(self.sysroot),
            background_is_idle=background_is_idle,
        )
        self.encoders: EncoderReport | None = None
        self.breaker = EncoderBreaker([SOFTWARE_ENCODER])
        self._tasks: list[asyncio.Task[None]] = []
        self.governor.add_listener(self._log_change)

    @staticmethod
    def _log_change(old: Any, new: Any, reason: str) -> None:
        log.warning("background work %s -> %s: %s", getattr(old, "name", old), getattr(new, "name", new), reason)

    async def start(self) -> None:
        log.info("hardware: %s (%s), profile %s, %s MB, %s cores%s", self.info.model, self.info.board_id,
                 self.info.profile.id, self.info.memory_mb, self.info.cpu_cores,
                 f"; {self.info.reason}" if self.info.fallback else "")
        self._tasks.append(asyncio.create_task(self.governor.run(self.interval)))
        self._tasks.append(asyncio.create_task(self._detect()))

    async def _detect(self) -> None:
        try:
            report = await detect_encoders(self.info, self.sysroot, ffmpeg=self.ffmpeg,
                                           cache_path=self.cache_dir / "encoders.json")
        except Exception:
            log.exception("encoder detection failed; using software x264")
            return
        self.encoders = report
        self.breaker = EncoderBreaker(report.usable() or [SOFTWARE_ENCODER])
        log.info("video encoder: %s (usable: %s)", report.chosen, ", ".join(report.usable()) or "none")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def chosen_encoder(self) -> tuple[str, str | None]:
        """(encoder name, device node or None) for the next transcode: the breaker's choice."""
        name = self.breaker.choose()
        probes = self.encoders.probes if self.encoders else ()
        device = next((p.device for p in probes if p.name == name), None)
        return name, device

    def encoder_result(self, name: str, ok: bool, detail: str = "") -> None:
        """What a real transcode with `name` did: failures count toward disabling that encoder."""
        if ok:
            self.breaker.record_success(name)
        else:
            fallback = self.breaker.record_failure(name, detail)
            log.warning("hardware encode with %s failed, this job falls back to %s: %s", name, fallback, detail[-300:])

    def summary(self) -> str:
        """One line for systemd's STATUS=: the throttle state and the temperature."""
        sample = self.governor.last_sample
        temperature = f", {sample.temperature.celsius:.0f}°C" if sample and sample.temperature else ""
        return f"background work {self.governor.state.name}{temperature}"

    def concurrency_for(self, queue: str) -> int:
        return self.governor.concurrency_for(queue)

    def status(self) -> dict[str, Any]:
        sample = self.governor.last_sample
        temperature = sample.temperature.celsius if sample and sample.temperature else None
        return {
            "board": {"id": self.info.board_id, "model": self.info.model},
            "profile": self.info.profile.id,
            "memoryMb": self.info.memory_mb,
            "cpuCores": self.info.cpu_cores,
            "probeReason": self.info.reason,
            "thermal": {"celsius": temperature},
            "throttle": self.governor.status(),
            "encoders": self.encoders.to_dict() if self.encoders else None,
            "transcode": {"encoder": self.breaker.choose(), "breaker": self.breaker.status()},
        }
