"""The watchdog pings from the event loop: a blocked loop sends none, and they resume when it runs again."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from appliance.system.notify import Notifier
from appliance.system.watchdog import run_watchdog, watchdog_interval_from_env


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4242"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "-5"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "me"}, None),
        ({}, None),
    ],
)
def test_interval_is_half_of_watchdog_usec_for_our_pid(env: dict[str, str], expected: float | None) -> None:
    assert watchdog_interval_from_env(env, pid=4242) == expected


def test_interval_checks_the_real_pid_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval_from_env() == 1.0


async def _next_ping(notify_socket, loop: asyncio.AbstractEventLoop) -> str:
    # Read in a thread so the event loop stays free to send the pings.
    return await loop.run_in_executor(None, notify_socket.receive)


async def test_pings_stop_while_the_loop_is_blocked_and_resume_after(notify_socket) -> None:
    loop = asyncio.get_running_loop()
    notifier = Notifier({"NOTIFY_SOCKET": notify_socket.address}, use_library=False)
    interval = 0.01
    task = asyncio.create_task(run_watchdog(notifier, interval))
    try:
        for _ in range(3):
            assert await _next_ping(notify_socket, loop) == "WATCHDOG=1"

        # Block the loop the way a stuck handler would, for many intervals. Pings sent before the block
        # are drained first; a pinger on another thread would keep filling the socket meanwhile.
        notify_socket.pending()
        time.sleep(interval * 50)  # noqa: ASYNC251 - blocking the loop is the point of this test
        assert notify_socket.pending() == []

        for _ in range(3):
            assert await _next_ping(notify_socket, loop) == "WATCHDOG=1"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_an_unhealthy_server_is_not_pinged_for(notify_socket) -> None:
    loop = asyncio.get_running_loop()
    notifier = Notifier({"NOTIFY_SOCKET": notify_socket.address}, use_library=False)
    checks = 0
    state = {"healthy": False}

    def healthy() -> bool:
        nonlocal checks
        checks += 1
        return state["healthy"]

    task = asyncio.create_task(run_watchdog(notifier, 0.01, healthy=healthy))
    try:
        for _ in range(200):  # bounded wait for a few failed checks
            if checks >= 5:
                break
            await asyncio.sleep(0.01)
        assert checks >= 5
        assert notify_socket.pending() == []

        state["healthy"] = True
        assert await _next_ping(notify_socket, loop) == "WATCHDOG=1"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_non_positive_interval_is_refused() -> None:
    with pytest.raises(ValueError):
        await run_watchdog(Notifier({}), 0)
