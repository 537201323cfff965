"""How background tools are started: at the lowest CPU and IO priority the kernel offers.

`nice 19` alone still lets a busy decoder delay the API on a 2-core board: the scheduler gives a niced task
its slice before it notices the server woke up. `SCHED_IDLE` (chrt --idle) runs a task only when a core has
nothing else to do, and the idle IO class (ionice -c 3) does the same for the disk where the IO scheduler
honours it (BFQ; `mq-deadline` and `none` ignore it). Both come from util-linux; where either is missing,
the tool still runs, niced.
"""

from __future__ import annotations

import functools
import shutil


@functools.cache
def background_prefix(nice: int = 19) -> tuple[str, ...]:
    """The argv prefix that starts a command as a background tool."""
    prefix: list[str] = []
    if shutil.which("chrt"):
        prefix += ["chrt", "--idle", "0"]
    if shutil.which("ionice"):
        prefix += ["ionice", "-c", "3"]
    return (*prefix, "nice", "-n", str(nice))
