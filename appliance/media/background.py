"""How background tools are started: at the lowest CPU and IO priority the kernel offers.

`nice 19` alone still lets a busy decoder delay the API on a 2-core board: the scheduler gives a niced task
its slice before it notices the server woke up. `SCHED_IDLE` (chrt --idle) runs a task only when a core has
nothing else to do, and the idle IO class (ionice -c 3) does the same for the disk where the IO scheduler
honours it (BFQ; `mq-deadline` and `none` ignore it). Both come from util-linux.

A long-lived helper (exiftool -stay_open) is also tied to the server's life: `ends_with_this_process`.

Each wrapper is tried once before it is used: a sandbox that forbids changing priorities (a systemd
`SystemCallFilter` without `@resources`, a seccomp profile of a container) makes `chrt` and `ionice` exit
with an error instead of running the tool, so a wrapper that fails its trial is left out and the tool still
runs, with whatever lower priority was allowed.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess

log = logging.getLogger(__name__)

_WRAPPERS = (("chrt", "--idle", "0"), ("ionice", "-c", "3"))


@functools.cache
def background_prefix(nice: int = 19) -> tuple[str, ...]:
    """The argv prefix that starts a command as a background tool (decided once per process)."""
    prefix: list[str] = []
    for wrapper in _WRAPPERS:
        if _works(wrapper):
            prefix += wrapper
    return (*prefix, "nice", "-n", str(nice))


_DEATH_PACT = ("setpriv", "--pdeathsig", "KILL")


@functools.cache
def ends_with_this_process() -> tuple[str, ...]:
    """The argv prefix that kills a helper when the process that started it dies, even by SIGKILL
    (PR_SET_PDEATHSIG through util-linux's setpriv; it survives the exec of chrt, ionice and nice). For
    exiftool -stay_open, which keeps polling its argument pipe after the end of it: orphaned by a killed
    server, it lived on for ever. The kernel ties it to the *thread* that starts it: start it from the event
    loop's. Empty where setpriv is missing or not allowed (systemd's KillMode then still ends it)."""
    return _DEATH_PACT if _works(_DEATH_PACT) else ()


def _works(wrapper: tuple[str, ...]) -> bool:
    if shutil.which(wrapper[0]) is None:
        log.info("%s is missing: background tools run without it", wrapper[0])
        return False
    try:
        trial = subprocess.run([*wrapper, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as err:
        log.warning("%s cannot run (%s): background tools run without it", wrapper[0], err)
        return False
    if trial.returncode != 0:
        reason = trial.stderr.decode("utf-8", "replace").strip()[:200]
        log.warning("%s is not allowed here (%s): background tools run without it", " ".join(wrapper), reason)
        return False
    return True
