"""Background tools (decoders, exiftool, ffmpeg) run at the lowest priority the kernel allows, and still run
where a sandbox forbids changing priorities."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.media import background, video

SHOW_PRIORITY = "import os; print(os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0))"


@pytest.fixture(autouse=True)
def fresh_decision() -> Iterator[None]:
    background.background_prefix.cache_clear()
    background.ends_with_this_process.cache_clear()
    yield
    background.background_prefix.cache_clear()
    background.ends_with_this_process.cache_clear()


def test_background_tools_run_idle_on_cpu_and_disk_at_nice_19() -> None:
    prefix = background.background_prefix()
    if prefix[:3] != ("chrt", "--idle", "0"):
        pytest.skip("chrt --idle is not allowed on this machine (see the log for why)")
    policy, nice = subprocess.run([*prefix, "python3", "-c", SHOW_PRIORITY], capture_output=True, text=True,
                                  check=True).stdout.split()
    assert int(policy) == os.SCHED_IDLE and int(nice) == 19
    io_class = subprocess.run([*prefix, "ionice"], capture_output=True, text=True, check=True).stdout
    assert io_class.strip() == "idle"


async def test_a_sandbox_that_forbids_priorities_still_runs_the_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What chrt and ionice do under a seccomp filter that denies sched_setscheduler/ioprio_set with EPERM.
    for name, message in (("chrt", "failed to set pid 0's policy"), ("ionice", "ioprio_set failed")):
        fake = tmp_path / name
        fake.write_text(f"#!/bin/sh\necho '{name}: {message}: Operation not permitted' >&2\nexit 1\n")
        fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert background.background_prefix() == ("nice", "-n", "19")
    out = await video.run_tool(["ffprobe", "-version"], time_limit=30)
    assert out.startswith(b"ffprobe version")


def test_where_setpriv_is_not_allowed_helpers_start_without_the_death_pact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "setpriv"
    fake.write_text("#!/bin/sh\necho 'setpriv: prctl failed: Operation not permitted' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert background.ends_with_this_process() == ()


def test_the_death_pact_is_setpriv_where_it_works() -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed here")
    assert background.ends_with_this_process() == ("setpriv", "--pdeathsig", "KILL")
    ask = ("import ctypes; libc = ctypes.CDLL(None); signal = ctypes.c_int(); "
           "libc.prctl(2, ctypes.byref(signal), 0, 0, 0); print(signal.value)")  # PR_GET_PDEATHSIG
    shown = subprocess.run([*background.ends_with_this_process(), *background.background_prefix(), "python3", "-c",
                            ask], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "9"  # SIGKILL, through chrt, ionice and nice too
