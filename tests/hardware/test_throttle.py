"""The throttle governor, driven by files in a tmp sysroot and a fake clock (no sleeping, no timing)."""

from __future__ import annotations

import asyncio

import pytest

from appliance.hardware.monitors import HostMonitor, HostSample
from appliance.hardware.probe import probe
from appliance.hardware.sysroot import Sysroot
from appliance.hardware.throttle import State, ThrottleGovernor

from .conftest import psi_text, write

TEMP = "sys/class/thermal/thermal_zone0/temp"


class Box:
    """A Pi 4 sysroot whose temperature and pressure a test sets, and a governor watching it."""

    def __init__(self, sysroot: Sysroot) -> None:
        self.sysroot = sysroot
        self.now = 1000.0
        self.info = probe(sysroot)
        self.monitor = HostMonitor(sysroot, clock=lambda: self.now)
        self.governor = ThrottleGovernor(self.info.profile, self.info.concurrency, clock=lambda: self.now)
        self.changes: list[tuple[State, State]] = []
        self.governor.add_listener(lambda old, new, why: self.changes.append((old, new)))

    def set_temp(self, celsius: float) -> None:
        write(self.sysroot, TEMP, f"{int(celsius * 1000)}\n")

    def set_psi(self, resource: str, some: float, full: float = 0.0) -> None:
        write(self.sysroot, f"proc/pressure/{resource}", psi_text(some, full))

    def at(self, seconds: float) -> State:
        """Advance the clock to ``seconds`` after the start and let the governor look."""
        self.now = 1000.0 + seconds
        return self.governor.update(self.monitor.sample(), self.now)


@pytest.fixture
def box(board_sysroot) -> Box:
    return Box(board_sysroot("rpi-4b"))


def test_heat_slows_then_pauses_then_recovers_after_dwell_and_hysteresis(box: Box) -> None:
    g = box.governor
    box.set_temp(50)
    assert box.at(0) is State.RUN
    assert g.concurrency_for("thumbnailGeneration") == 2 and g.concurrency_for("videoConversion") == 1

    box.set_temp(76)  # ≥ 75: SLOW at once
    assert box.at(5) is State.SLOW
    assert g.concurrency_for("thumbnailGeneration") == 1 and g.concurrency_for("videoConversion") == 0
    assert "cpu temperature 76.0 °C ≥ 75" in g.reason

    box.set_temp(81)  # ≥ 80: PAUSE at once, no dwell needed to get more careful
    assert box.at(10) is State.PAUSE
    assert all(g.concurrency_for(q) == 0 for q in g.concurrency())

    box.set_temp(66)  # cool, but PAUSE began 10 s ago: hold
    assert box.at(20) is State.PAUSE
    assert "holding PAUSE" in g.reason and "minimum dwell" in g.reason
    assert box.at(69) is State.PAUSE

    assert box.at(70) is State.SLOW  # 60 s in PAUSE: ease off one level
    assert box.at(129) is State.SLOW
    assert box.at(130) is State.RUN  # another 60 s: full speed
    assert g.concurrency_for("thumbnailGeneration") == 2
    assert box.changes == [
        (State.RUN, State.SLOW),
        (State.SLOW, State.PAUSE),
        (State.PAUSE, State.SLOW),
        (State.SLOW, State.RUN),
    ]


def test_hysteresis_keeps_slow_until_five_degrees_below_the_threshold(box: Box) -> None:
    box.set_temp(75.5)
    assert box.at(0) is State.SLOW
    box.set_temp(71)  # below 75 but not below 70
    assert box.at(100) is State.SLOW
    assert "not yet below 70" in box.governor.reason
    box.set_temp(69.5)
    assert box.at(200) is State.RUN


def test_a_temperature_hovering_at_the_threshold_does_not_flap(box: Box) -> None:
    for step in range(60):
        box.set_temp(75.2 if step % 2 else 74.8)
        box.at(step * 5)
    assert box.changes == [(State.RUN, State.SLOW)]


def test_pause_level_heat_hovering_does_not_flap_either(box: Box) -> None:
    for step in range(60):
        box.set_temp(80.3 if step % 2 else 79.6)
        box.at(step * 5)
    assert box.changes == [(State.RUN, State.SLOW), (State.SLOW, State.PAUSE)]


def test_io_pressure_pauses_and_releases_below_its_hysteresis(box: Box) -> None:
    box.set_temp(50)
    box.set_psi("io", 45.0)
    assert box.at(0) is State.PAUSE
    assert "io pressure (some avg10) 45.0% ≥ 40%" in box.governor.reason
    box.set_psi("io", 35.0)  # below 40 but above 30: still PAUSE even after the dwell
    assert box.at(120) is State.PAUSE
    box.set_psi("io", 5.0)
    assert box.at(121) is State.SLOW
    assert box.at(181) is State.RUN


def test_cpu_pressure_slows(box: Box) -> None:
    box.set_temp(50)
    box.set_psi("cpu", 65.0)
    assert box.at(0) is State.SLOW
    assert "cpu pressure" in box.governor.reason


def test_cpu_pressure_is_left_to_the_scheduler_when_background_work_runs_idle(box: Box) -> None:
    # decoders under SCHED_IDLE: CPU pressure is mostly their own backlog, and a busy box starves them anyway
    box.governor = ThrottleGovernor(box.info.profile, box.info.concurrency, clock=lambda: box.now,
                                    background_is_idle=True)
    box.set_temp(50)
    box.set_psi("cpu", 95.0)
    assert box.at(0) is State.RUN
    box.set_psi("io", 50.0, 20.0)  # the disk and the heat still count
    assert box.at(1) is State.PAUSE


def test_memory_full_pressure_pauses(box: Box) -> None:
    box.set_temp(50)
    box.set_psi("memory", 30.0, full=12.0)
    assert box.at(0) is State.PAUSE


def test_a_busy_disk_pauses(box: Box) -> None:
    box.set_temp(50)
    assert box.at(0) is State.RUN
    stats = box.sysroot.path("proc/diskstats")
    stats.write_text(stats.read_text().replace(" 71830 ", " 80830 "))  # mmcblk0: 9 s of IO in 10 s
    assert box.at(10) is State.PAUSE
    assert "disk busy 90.0%" in box.governor.reason


@pytest.mark.parametrize(
    ("raw", "state"),
    [("0", State.RUN), ("50000", State.RUN), ("4", State.SLOW), ("8", State.SLOW), ("50005", State.PAUSE)],
)
def test_firmware_flags(box: Box, raw: str, state: State) -> None:
    box.set_temp(50)
    write(box.sysroot, "sys/devices/platform/soc/soc:firmware/get_throttled", raw + "\n")
    assert box.at(0) is state


def test_missing_sources_mean_run_with_the_gaps_named(tmp_path) -> None:
    info = probe(Sysroot(tmp_path))
    governor = ThrottleGovernor(info.profile, info.concurrency, clock=lambda: 0.0)
    assert governor.update(HostMonitor(Sysroot(tmp_path)).sample(), 0.0) is State.RUN
    assert "not measured: temperature, pressure (PSI), disk busy" in governor.reason


def test_a_sensor_that_disappears_lets_go(box: Box) -> None:
    box.set_temp(90)
    assert box.at(0) is State.PAUSE
    box.sysroot.path(TEMP).unlink()
    assert box.at(60) is State.SLOW
    assert box.at(120) is State.RUN


def test_unknown_queues_get_one_worker_and_pause_too(box: Box) -> None:
    box.set_temp(50)
    box.at(0)
    assert box.governor.concurrency_for("backgroundTask") == 1
    box.set_temp(85)
    box.at(1)
    assert box.governor.concurrency_for("backgroundTask") == 0


def test_a_broken_listener_does_not_stop_the_governor(box: Box) -> None:
    def broken(old: State, new: State, why: str) -> None:
        raise RuntimeError("boom")

    box.governor.add_listener(broken)
    box.set_temp(77)
    assert box.at(0) is State.SLOW
    assert box.changes == [(State.RUN, State.SLOW)]


def test_status_names_state_reason_signals_and_concurrency(box: Box) -> None:
    box.set_temp(77)
    box.at(0)
    status = box.governor.status()
    assert status["state"] == "SLOW"
    assert status["signals"] == [
        {"name": "temperature", "level": "SLOW", "detail": "cpu temperature 77.0 °C ≥ 75 °C"}
    ]
    assert status["concurrency"] == {
        "thumbnailGeneration": 1,
        "metadataExtraction": 1,
        "videoConversion": 0,
        "sidecar": 1,
        "library": 1,
    }


async def test_run_samples_the_host_until_cancelled(box: Box) -> None:
    box.set_temp(82)
    governor = ThrottleGovernor(
        box.info.profile, box.info.concurrency, monitor=box.monitor, clock=lambda: box.now
    )
    paused = asyncio.Event()
    governor.add_listener(lambda old, new, why: paused.set() if new is State.PAUSE else None)
    task = asyncio.create_task(governor.run(interval=0))
    await paused.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert governor.state is State.PAUSE


async def test_run_needs_a_monitor(box: Box) -> None:
    with pytest.raises(RuntimeError):
        await box.governor.run(interval=0)


def test_update_takes_a_plain_sample(box: Box) -> None:
    assert box.governor.update(HostSample(), 0.0) is State.RUN


async def test_run_survives_a_failing_sample(box: Box) -> None:
    class Flaky:
        calls = 0

        def sample(self) -> HostSample:
            self.calls += 1
            if self.calls == 1:
                raise ValueError("odd kernel file")
            return box.monitor.sample()

    box.set_temp(90)
    governor = ThrottleGovernor(box.info.profile, monitor=Flaky(), clock=lambda: box.now)  # type: ignore[arg-type]
    paused = asyncio.Event()
    governor.add_listener(lambda old, new, why: paused.set())
    task = asyncio.create_task(governor.run(interval=0))
    await paused.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert governor.state is State.PAUSE
