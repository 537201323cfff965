"""Telling systemd how the service is doing: the sd_notify protocol (READY, STATUS, WATCHDOG, STOPPING).

systemd passes a datagram socket in `NOTIFY_SOCKET` (a path, or an abstract name starting with `@`).
systemd-python's `systemd.daemon.notify` is used when installed; otherwise the same few bytes are sent
here directly, which is all the protocol is. Without `NOTIFY_SOCKET` (not under systemd, or
`Type=simple`) every call is a cheap no-op. A failed send is logged, never raised: telling systemd
must not take the server down.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

SendFn = Callable[[str], bool]


def _library_send() -> SendFn | None:
    """systemd-python's notify, or None when it isn't installed."""
    try:
        # Imported as a submodule: to mypy, the repo's systemd/ folder of unit files looks like a
        # namespace package called systemd (Python itself prefers the installed regular package).
        from systemd.daemon import notify
    except ImportError:
        return None

    def send(message: str) -> bool:
        # It reads NOTIFY_SOCKET from os.environ itself; unset_environment=False keeps it for later calls.
        return bool(notify(message, unset_environment=False))

    return send


def socket_address(notify_socket: str) -> str | bytes:
    """The address to `sendto`: a filesystem path, or an abstract name (leading `@` becomes a NUL byte)."""
    if notify_socket.startswith("@"):
        return b"\0" + notify_socket[1:].encode()
    return notify_socket


def _socket_send(notify_socket: str) -> SendFn:
    address = socket_address(notify_socket)

    def send(message: str) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message.encode(), address)
        return True

    return send


class Notifier:
    """Sends sd_notify messages; a no-op when the process was not started by systemd with a notify socket.

    `env` defaults to `os.environ`. `use_library=False` forces the built-in sender (tests use it to
    check both senders against the same socket). systemd-python is only used when `env` is the real
    environment, because it reads `NOTIFY_SOCKET` from there.
    """

    def __init__(self, env: Mapping[str, str] | None = None, *, use_library: bool = True) -> None:
        real_env = env is None or env is os.environ
        environ = os.environ if env is None else env
        self._socket = environ.get("NOTIFY_SOCKET") or None
        self._send: SendFn | None = None
        self.backend = "none"
        if self._socket is None:
            return
        library = _library_send() if use_library and real_env else None
        if library is not None:
            self._send, self.backend = library, "systemd-python"
        else:
            self._send, self.backend = _socket_send(self._socket), "socket"

    @property
    def enabled(self) -> bool:
        """True when there is a notify socket to talk to."""
        return self._send is not None

    def notify(self, *fields: str) -> bool:
        """Send `KEY=value` lines as one datagram; True if it was sent."""
        if self._send is None:
            return False
        message = "\n".join(fields)
        try:
            return self._send(message)
        except OSError as err:
            log.warning("sd_notify to %s failed: %s", self._socket, err)
            return False

    def ready(self, status: str | None = None) -> bool:
        """The service is up (after migrations and the HTTP bind): systemd lets dependants start."""
        fields = ["READY=1"]
        if status is not None:
            fields.append(f"STATUS={_one_line(status)}")
        return self.notify(*fields)

    def status(self, text: str) -> bool:
        """A one-line status shown by `systemctl status`."""
        return self.notify(f"STATUS={_one_line(text)}")

    def watchdog(self) -> bool:
        """A keep-alive ping; call it from the event loop (see `appliance.system.watchdog`)."""
        return self.notify("WATCHDOG=1")

    def extend_timeout(self, seconds: float) -> bool:
        """Ask for more start-up (or stop) time, e.g. during a long migration."""
        return self.notify(f"EXTEND_TIMEOUT_USEC={max(0, int(seconds * 1_000_000))}")

    def stopping(self, status: str | None = None) -> bool:
        """The service is shutting down on purpose."""
        fields = ["STOPPING=1"]
        if status is not None:
            fields.append(f"STATUS={_one_line(status)}")
        return self.notify(*fields)


def _one_line(text: str) -> str:
    # A newline would start a new KEY=value field in the datagram.
    return " ".join(text.splitlines())
