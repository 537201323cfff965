"""The throttle governor: RUN / SLOW / PAUSE for background jobs, from temperature, Pi throttle flags,
PSI and disk busy %.

Only background work is governed (thumbnails, metadata, video, sidecars, library scans). API requests and
uploads are never throttled: the job scheduler asks `ThrottleGovernor.concurrency_for(queue)` before it
starts a job, and nothing on the request path consults the governor at all.

Two things keep it from flapping (HandBrake's maintainers refused pause-on-heat because temperatures bounce
back within seconds): each signal has hysteresis (it lets go only some degrees or points below the level
that triggered it), and the state only relaxes after ``min_dwell_s`` in the current state, one level at a
time (PAUSE → SLOW → RUN). Getting hotter or busier takes effect at once.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from appliance.hardware.monitors import HostMonitor, HostSample
from appliance.hardware.profiles import Profile

log = logging.getLogger(__name__)


class State(enum.IntEnum):
    RUN = 0
    SLOW = 1
    PAUSE = 2


@dataclass(frozen=True)
class Signal:
    """One source's verdict: the level it asks for and why."""

    name: str
    level: State
    detail: str


@dataclass(frozen=True)
class _Rule:
    name: str
    label: str
    unit: str
    slow_at: float | None
    pause_at: float | None
    release: float  # how far below a threshold the value must fall before the signal lets go


Listener = Callable[[State, State, str], None]


class ThrottleGovernor:
    """Decides how much background work may run. Feed it samples with `update` (or let `run` do it)."""

    def __init__(
        self,
        profile: Profile,
        concurrency: Mapping[str, int] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        monitor: HostMonitor | None = None,
        min_dwell_s: float | None = None,
        background_is_idle: bool = False,
    ) -> None:
        """`background_is_idle`: background tools run under SCHED_IDLE, so they only ever take CPU time nobody
        else wants. CPU pressure then measures mostly Shoebox's own backlog waiting for a core (on a 2-core
        box a thumbnail backlog alone passes 60%), and slowing down for it would only stall that backlog; a
        busy box starves idle-class work by itself. Temperature, memory and IO still throttle."""
        self.profile = profile
        self._concurrency = dict(concurrency) if concurrency is not None else dict(profile.concurrency)
        self._clock = clock
        self._monitor = monitor
        self.min_dwell_s = profile.thermal.min_dwell_s if min_dwell_s is None else min_dwell_s
        self.state = State.RUN
        self.reason = "not measured yet"
        self.since: float | None = None
        self.signals: list[Signal] = []
        self.last_sample: HostSample | None = None
        self._latched: dict[str, State] = {}
        self._listeners: list[Listener] = []
        self._rules = [r for r in _rules(profile) if not (background_is_idle and r.name == "cpu_pressure")]

    # --- what the job scheduler asks -------------------------------------------------------------

    def concurrency_for(self, queue: str) -> int:
        """Workers allowed for ``queue`` now: the profile's number in RUN, fewer in SLOW, 0 in PAUSE."""
        run = self._concurrency.get(queue, self.profile.run_concurrency(queue))
        if self.state is State.PAUSE:
            return 0
        if self.state is State.SLOW:
            return min(run, self.profile.slow_concurrency_for(queue))
        return run

    def concurrency(self) -> dict[str, int]:
        return {queue: self.concurrency_for(queue) for queue in self._concurrency}

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(old, new, reason)`` on every state change (e.g. to wake the scheduler)."""
        self._listeners.append(listener)

    def status(self) -> dict[str, object]:
        return {
            "state": self.state.name,
            "reason": self.reason,
            "signals": [{"name": s.name, "level": s.level.name, "detail": s.detail} for s in self.signals],
            "concurrency": self.concurrency(),
        }

    # --- feeding it --------------------------------------------------------------------------------

    def update(self, sample: HostSample, now: float | None = None) -> State:
        """Take one sample taken at ``now`` (monotonic seconds) and return the new state."""
        now = self._clock() if now is None else now
        if self.since is None:
            self.since = now
        self.last_sample = sample
        self.signals = self._evaluate(sample)
        target = max((s.level for s in self.signals), default=State.RUN)
        why = self._describe(target, sample)
        if target > self.state:
            self._change(target, now, why)
        elif target < self.state:
            waited = now - self.since
            if waited >= self.min_dwell_s:
                self._change(State(self.state - 1), now, f"easing off: {why}")
            else:
                left = self.min_dwell_s - waited
                self.reason = f"holding {self.state.name} {left:.0f} s more (minimum dwell): {why}"
        else:
            self.reason = why
        return self.state

    async def run(self, interval: float = 5.0) -> None:
        """Sample the host every ``interval`` seconds until cancelled (a ``cleanup_ctx`` task)."""
        if self._monitor is None:
            raise RuntimeError("ThrottleGovernor.run needs a HostMonitor")
        while True:
            # Reads a handful of small /proc and /sys files: microseconds, fine on the event loop.
            try:
                sample = self._monitor.sample()
            except Exception:  # a surprise in a kernel file must not end throttling for good
                log.exception("could not sample the host; keeping %s", self.state.name)
            else:
                self.update(sample, self._clock())
            await asyncio.sleep(interval)

    # --- inside ------------------------------------------------------------------------------------

    def _change(self, new: State, now: float, why: str) -> None:
        old = self.state
        self.state, self.since, self.reason = new, now, why
        (log.warning if new > old else log.info)("background work %s → %s: %s", old.name, new.name, why)
        for listener in self._listeners:
            try:
                listener(old, new, why)
            except Exception:  # a broken listener must not stop the governor
                log.exception("throttle listener failed")

    def _evaluate(self, sample: HostSample) -> list[Signal]:
        values: dict[str, float | None] = {
            "temperature": sample.temperature.celsius if sample.temperature else None,
            "cpu_pressure": sample.psi("cpu"),
            "memory_pressure": sample.psi("memory"),
            "memory_full_pressure": sample.psi("memory", "full"),
            "io_pressure": sample.psi("io"),
            "io_full_pressure": sample.psi("io", "full"),
            "disk_busy": sample.disk_busy_pct,
        }
        signals = [self._latch(rule, values[rule.name]) for rule in self._rules]
        flags = sample.throttle
        if flags is not None and flags.under_voltage:
            why = "under-voltage: writes risk corruption, check the power supply"
            signals.append(Signal("firmware", State.PAUSE, why))
        elif flags is not None and (flags.throttled or flags.freq_capped or flags.soft_temp_limit):
            signals.append(Signal("firmware", State.SLOW, "firmware reports " + ", ".join(flags.active())))
        return [s for s in signals if s.level > State.RUN]

    def _latch(self, rule: _Rule, value: float | None) -> Signal:
        held = self._latched.get(rule.name, State.RUN)
        if value is None:
            self._latched[rule.name] = State.RUN  # source gone: it no longer holds anything
            return Signal(rule.name, State.RUN, "not measured")
        shown = f"{rule.label} {value:.1f}{rule.unit}"
        if rule.pause_at is not None and value >= rule.pause_at:
            level, detail = State.PAUSE, f"{shown} ≥ {rule.pause_at:g}{rule.unit}"
        elif held is State.PAUSE and rule.pause_at is not None and value > rule.pause_at - rule.release:
            level, detail = State.PAUSE, f"{shown} not yet below {rule.pause_at - rule.release:g}{rule.unit}"
        elif rule.slow_at is not None and value >= rule.slow_at:
            level, detail = State.SLOW, f"{shown} ≥ {rule.slow_at:g}{rule.unit}"
        elif held >= State.SLOW and rule.slow_at is not None and value > rule.slow_at - rule.release:
            level, detail = State.SLOW, f"{shown} not yet below {rule.slow_at - rule.release:g}{rule.unit}"
        else:
            level, detail = State.RUN, shown
        self._latched[rule.name] = level
        return Signal(rule.name, level, detail)

    def _describe(self, target: State, sample: HostSample) -> str:
        if target > State.RUN:
            return "; ".join(s.detail for s in self.signals if s.level == target)
        missing = []
        if sample.temperature is None:
            missing.append("temperature")
        if all(sample.pressure.get(r) is None for r in ("cpu", "io", "memory")):
            missing.append("pressure (PSI)")
        if sample.disk_busy_pct is None:
            missing.append("disk busy")
        text = "normal"
        if sample.temperature is not None:
            text += f": cpu {sample.temperature.celsius:.1f} °C"
        if missing:
            text += "; not measured: " + ", ".join(missing)
        return text


def _rules(profile: Profile) -> list[_Rule]:
    t, p = profile.thermal, profile.pressure
    gap = p.hysteresis
    return [
        _Rule("temperature", "cpu temperature", " °C", t.slow_c, t.pause_c, t.hysteresis_c),
        _Rule("cpu_pressure", "cpu pressure (some avg10)", "%", p.cpu_some_slow, None, gap),
        _Rule("memory_pressure", "memory pressure (some avg10)", "%", p.memory_some_slow, None, gap),
        _Rule("memory_full_pressure", "memory pressure (full avg10)", "%", None, p.memory_full_pause, gap),
        _Rule("io_pressure", "io pressure (some avg10)", "%", None, p.io_some_pause, gap),
        _Rule("io_full_pressure", "io pressure (full avg10)", "%", None, p.io_full_pause, gap),
        _Rule("disk_busy", "disk busy", "%", None, p.disk_busy_pause, gap),
    ]
