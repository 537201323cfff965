"""The systemd watchdog: how often to ping, and the asyncio task that pings.

The pings come from a task on the server's event loop, not from a thread, on purpose: if the loop is
stuck (a blocking call, a deadlock) the pings stop and systemd restarts the service after
`WatchdogSec=`. A thread would keep pinging for a server that no longer answers.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from typing import Protocol

log = logging.getLogger(__name__)


class Pinger(Protocol):
    def watchdog(self) -> bool: ...


def watchdog_interval_from_env(env: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """Seconds between pings (half of `WATCHDOG_USEC`), or None when no watchdog is asked for.

    systemd sets `WATCHDOG_USEC` and, since 209, `WATCHDOG_PID`; a PID that is not ours means the
    variables were inherited from a parent and are not meant for this process (sd_watchdog_enabled(3)).
    """
    environ = os.environ if env is None else env
    raw_usec = environ.get("WATCHDOG_USEC")
    if not raw_usec:
        return None
    try:
        usec = int(raw_usec)
    except ValueError:
        log.warning("ignoring WATCHDOG_USEC=%r: not an integer", raw_usec)
        return None
    if usec <= 0:
        return None
    raw_pid = environ.get("WATCHDOG_PID")
    if raw_pid:
        try:
            owner = int(raw_pid)
        except ValueError:
            log.warning("ignoring the watchdog: WATCHDOG_PID=%r is not a number", raw_pid)
            return None
        if owner != (os.getpid() if pid is None else pid):
            return None
    return usec / 2 / 1_000_000


async def run_watchdog(notifier: Pinger, interval: float, healthy: Callable[[], bool] | None = None) -> None:
    """Ping every `interval` seconds until cancelled; skip a ping while `healthy()` says False.

    Start it with `asyncio.create_task(run_watchdog(notifier, interval))` once the server is ready
    and cancel it on shutdown.
    """
    if interval <= 0:
        raise ValueError(f"watchdog interval must be positive, got {interval}")
    log.debug("watchdog pings every %.1f s", interval)
    while True:
        if healthy is None or healthy():
            notifier.watchdog()
        else:
            log.warning("skipping a watchdog ping: the health check failed")
        await asyncio.sleep(interval)
