"""`shoebox serve` as a real subprocess on a free loopback port, for tests that need the whole program
(real clients, kill -9)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=lambda: ["--no-mdns"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> ServerProcess:
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **self.env}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "appliance", "serve", "--data-dir", str(self.data_dir),
                 "--host", "127.0.0.1", "--port", str(self.port), *self.args],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if self.request("GET", "/api/server/ping")[1] == {"res": "pong"}:
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not answer within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def request(self, method: str, path: str, payload: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read()
                return response.status, json.loads(body) if body else None
        except urllib.error.HTTPError as err:
            body = err.read()
            return err.code, json.loads(body) if body else None

    def sign_up_admin_with_key(self, permissions: list[str] | None = None) -> tuple[str, str]:
        """(access token, API key secret) of a freshly signed-up admin."""
        self.request("POST", "/api/auth/admin-sign-up",
                     {"email": "admin@example.com", "name": "Admin", "password": "admin-password"})
        _, login = self.request("POST", "/api/auth/login",
                                {"email": "admin@example.com", "password": "admin-password"})
        token = login["accessToken"]
        _, key = self.request("POST", "/api/api-keys", {"name": "cli", "permissions": permissions or ["all"]},
                              {"Authorization": f"Bearer {token}"})
        return token, key["secret"]
