"""`shoebox serve` as systemd and the LAN see it: READY only once it answers, STATUS, watchdog pings,
STOPPING on SIGTERM, and the box found over mDNS."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.server_process import ServerProcess

pytestmark = pytest.mark.slow


def _messages(sock: socket.socket, until: float) -> list[str]:
    found: list[str] = []
    while time.monotonic() < until:
        try:
            found.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
    return found


def test_notify_ready_status_watchdog_and_stopping(tmp_path: Path) -> None:
    notify_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify_path))
    sock.settimeout(0.2)
    server = ServerProcess(tmp_path / "data", env={"NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "1000000"})
    try:
        server.start()  # returns once /api/server/ping answers
        messages = _messages(sock, time.monotonic() + 2.5)
        text = "\n".join(messages)
        assert "READY=1" in text
        # start-up time is asked for before READY (and again every 10 s while migrations run)
        assert text.index("EXTEND_TIMEOUT_USEC=60000000") < text.index("READY=1")
        assert "STATUS=Serving on :" in text
        assert text.count("WATCHDOG=1") >= 3  # every half second
        server.stop()
        after = "\n".join(_messages(sock, time.monotonic() + 1.0))
        assert "STOPPING=1" in after
    finally:
        server.kill()
        sock.close()


def test_ready_comes_only_after_the_port_answers(tmp_path: Path) -> None:
    notify_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify_path))
    sock.settimeout(0.05)
    server = ServerProcess(tmp_path / "data", env={"NOTIFY_SOCKET": str(notify_path)})
    import subprocess
    import sys

    from tests.server_process import REPO_ROOT

    process = subprocess.Popen(
        [sys.executable, "-m", "appliance", "serve", "--data-dir", str(server.data_dir), "--host", "127.0.0.1",
         "--port", str(server.port), "--no-mdns"],
        env={**__import__("os").environ, "PYTHONPATH": str(REPO_ROOT), "NOTIFY_SOCKET": str(notify_path)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if "READY=1" in sock.recv(4096).decode():
                    break
            except TimeoutError:
                continue
        else:
            pytest.fail("no READY=1 within 30 s")
        status, body = server.request("GET", "/api/server/ping")
        assert (status, body) == (200, {"res": "pong"})
    finally:
        process.terminate()
        process.wait(10)
        sock.close()


def test_the_box_is_found_over_mdns(tmp_path: Path) -> None:
    from zeroconf import ServiceBrowser, ServiceListener, Zeroconf

    name = f"shoebox-test-{int(time.time() * 1000) % 100000}"
    server = ServerProcess(tmp_path / "data", args=["--mdns"],
                           env={"SHOEBOX_MDNS_INTERFACES": "127.0.0.1", "SHOEBOX_BOX_NAME": name})
    found: dict[str, dict[bytes, bytes | None]] = {}

    class Listener(ServiceListener):
        def add_service(self, zc: Zeroconf, type_: str, service_name: str) -> None:
            info = zc.get_service_info(type_, service_name, timeout=3000)
            if info and service_name.startswith(name):
                found[service_name] = {**info.properties, b"port": str(info.port).encode()}

        def update_service(self, zc: Zeroconf, type_: str, service_name: str) -> None:
            self.add_service(zc, type_, service_name)

        def remove_service(self, zc: Zeroconf, type_: str, service_name: str) -> None:
            pass

    server.start()
    zc = Zeroconf(interfaces=["127.0.0.1"])
    try:
        ServiceBrowser(zc, "_immich._tcp.local.", Listener())
        deadline = time.monotonic() + 20
        while not found and time.monotonic() < deadline:
            time.sleep(0.2)
        assert found, "the server was not found on _immich._tcp"
        properties = next(iter(found.values()))
        assert properties[b"port"] == str(server.port).encode()
        assert properties[b"api"] == b"/api" and properties[b"vendor"] == b"shoebox"
    finally:
        zc.close()
        server.stop()
