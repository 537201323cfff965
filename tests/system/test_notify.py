"""sd_notify reaches a real datagram socket, through systemd-python and through our own sender."""

from __future__ import annotations

import os
import socket

import pytest

from appliance.system.notify import Notifier, socket_address


def _has_systemd_python() -> bool:
    try:
        from systemd import daemon  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(params=["socket", "systemd-python"])
def notifier(request: pytest.FixtureRequest, notify_socket, monkeypatch: pytest.MonkeyPatch) -> Notifier:
    """A Notifier aimed at the test socket, with each of the two senders."""
    if request.param == "socket":
        return Notifier({"NOTIFY_SOCKET": notify_socket.address}, use_library=False)
    if not _has_systemd_python():
        pytest.skip("systemd-python is not installed (pip install systemd-python; needs libsystemd-dev)")
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.address)
    return Notifier()


def test_notifier_uses_the_sender_it_was_asked_for(notifier: Notifier) -> None:
    assert notifier.enabled
    assert notifier.backend in {"socket", "systemd-python"}


def test_ready_status_watchdog_and_stopping_arrive_in_order(notifier: Notifier, notify_socket) -> None:
    assert notifier.ready(status="Serving on :2283")
    assert notifier.status("3 jobs queued, thermal RUN")
    assert notifier.watchdog()
    assert notifier.stopping()

    assert notify_socket.receive() == "READY=1\nSTATUS=Serving on :2283"
    assert notify_socket.receive() == "STATUS=3 jobs queued, thermal RUN"
    assert notify_socket.receive() == "WATCHDOG=1"
    assert notify_socket.receive() == "STOPPING=1"


def test_a_newline_in_a_status_cannot_forge_another_field(notifier: Notifier, notify_socket) -> None:
    notifier.status("importing\nREADY=1")

    assert notify_socket.receive() == "STATUS=importing READY=1"


def test_extend_timeout_is_sent_in_microseconds(notifier: Notifier, notify_socket) -> None:
    notifier.extend_timeout(90)

    assert notify_socket.receive() == "EXTEND_TIMEOUT_USEC=90000000"


def test_without_notify_socket_every_call_is_a_quiet_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    for notifier in (Notifier(), Notifier({})):
        assert not notifier.enabled
        assert notifier.backend == "none"
        assert not notifier.ready()
        assert not notifier.status("x")
        assert not notifier.watchdog()
        assert not notifier.stopping()


def test_a_vanished_socket_is_logged_not_raised(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")}, use_library=False)

    assert notifier.enabled
    assert not notifier.ready()
    assert "sd_notify" in caplog.text


def test_abstract_socket_names_start_with_a_nul_byte() -> None:
    assert socket_address("@/org/freedesktop/systemd1/notify") == b"\0/org/freedesktop/systemd1/notify"
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"


def test_notifier_reads_the_real_environment_by_default(
    notify_socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.address)
    notifier = Notifier(use_library=False)

    notifier.ready()

    assert os.environ["NOTIFY_SOCKET"] == notify_socket.address  # not unset: later pings need it
    assert notify_socket.receive() == "READY=1"


def test_the_datagram_carries_our_pid_which_notify_access_main_checks(notify_socket) -> None:
    notify_socket.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    notify_socket.sock.settimeout(10)
    Notifier({"NOTIFY_SOCKET": notify_socket.address}, use_library=False).ready()

    message, ancillary, _flags, _addr = notify_socket.sock.recvmsg(4096, socket.CMSG_SPACE(12))
    assert message == b"READY=1"
    wanted = (socket.SOL_SOCKET, socket.SCM_CREDENTIALS)
    creds = [data for level, kind, data in ancillary if (level, kind) == wanted]
    assert creds and int.from_bytes(creds[0][:4], "little") == os.getpid()
