"""The system package as the server uses it, in a real child process, with this test playing systemd:
it sets NOTIFY_SOCKET / WATCHDOG_USEC / WATCHDOG_PID, reads the datagrams with the sender's credentials,
and sends the signals. The child blocks its event loop on SIGUSR1 and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import asyncio, logging, signal, time
    from appliance.system.logging import setup_logging
    from appliance.system.notify import Notifier
    from appliance.system.watchdog import run_watchdog, watchdog_interval_from_env

    async def main() -> None:
        setup_logging("info")
        notifier = Notifier()
        interval = watchdog_interval_from_env()
        assert interval is not None, "no watchdog interval"
        loop = asyncio.get_running_loop()
        stop, block = asyncio.Event(), asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, block.set)
        pinger = asyncio.create_task(run_watchdog(notifier, interval))
        notifier.ready(status=f"backend {notifier.backend}")
        logging.getLogger("child").info("ready")
        while not stop.is_set():
            waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(block.wait())]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            if block.is_set():
                block.clear()
                notifier.status("blocking")
                time.sleep(40 * interval)  # a stuck handler
                notifier.status("unblocked")
        notifier.stopping()
        pinger.cancel()

    asyncio.run(main())
    """
)


class FakeSystemd:
    def __init__(self, sock: socket.socket, child: subprocess.Popen[str]) -> None:
        self.sock, self.child = sock, child

    def next_message(self) -> tuple[str, int]:
        """The next datagram and the pid the kernel says sent it (what NotifyAccess=main checks)."""
        data, ancillary, _flags, _addr = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        creds = [
            d for level, kind, d in ancillary if (level, kind) == (socket.SOL_SOCKET, socket.SCM_CREDENTIALS)
        ]
        return data.decode(), int.from_bytes(creds[0][:4], "little")

    def wait_for(self, wanted: str, limit: int = 1000) -> list[str]:
        """Messages up to and including `wanted` (bounded by `limit` messages)."""
        seen = []
        for _ in range(limit):
            message, pid = self.next_message()
            assert pid == self.child.pid, f"{message!r} came from pid {pid}, not the main process"
            seen.append(message)
            if message == wanted or message.startswith(wanted + "\n"):
                return seen
        raise AssertionError(f"no {wanted!r} in {limit} messages")


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    sock.settimeout(30)  # a bound on waiting, not an assertion about speed
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "NOTIFY_SOCKET": str(tmp_path / "notify"),
        "WATCHDOG_USEC": "100000",  # pings every 50 ms
    }
    # WATCHDOG_PID must be the service's own pid: the shell's, which exec hands to Python.
    command = f'WATCHDOG_PID=$$ exec "{sys.executable}" "{script}"'
    child = subprocess.Popen(["/bin/sh", "-c", command], env=env, stderr=subprocess.PIPE, text=True)
    try:
        yield FakeSystemd(sock, child)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
        sock.close()


def test_ready_then_pings_that_stop_while_the_loop_is_stuck_then_stopping(systemd: FakeSystemd) -> None:
    startup = systemd.wait_for("READY=1")
    assert startup[-1].startswith("READY=1\nSTATUS=backend ")

    pings = systemd.wait_for("WATCHDOG=1") + systemd.wait_for("WATCHDOG=1")
    assert pings.count("WATCHDOG=1") >= 2

    systemd.child.send_signal(signal.SIGUSR1)
    systemd.wait_for("STATUS=blocking")
    # Everything the child sends while its loop is stuck comes before "unblocked": no ping among it.
    message, _pid = systemd.next_message()
    assert message == "STATUS=unblocked"
    assert systemd.wait_for("WATCHDOG=1")[-1] == "WATCHDOG=1"  # and the pings come back

    systemd.child.send_signal(signal.SIGTERM)
    systemd.wait_for("STOPPING=1")
    _out, err = systemd.child.communicate(timeout=30)
    assert systemd.child.returncode == 0, err
    assert "INFO child: ready" in err  # not under the journal: stderr with timestamps


def test_the_systemd_python_backend_is_used_when_installed(systemd: FakeSystemd) -> None:
    pytest.importorskip("systemd.daemon", reason="systemd-python is not installed")
    ready = systemd.wait_for("READY=1")[-1]
    assert ready == "READY=1\nSTATUS=backend systemd-python"
