"""kill -9 in the middle of concurrent uploads never leaves a row without its complete file, a stray file,
or a damaged database."""

from __future__ import annotations

import hashlib
import random
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.server_process import ServerProcess

pytestmark = pytest.mark.slow


def multipart(data: bytes, filename: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in (("fileCreatedAt", "2024-01-01T00:00:00.000Z"), ("fileModifiedAt", "2024-01-01T00:00:00.000Z")):
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n".encode())
    parts.append(
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"assetData\"; filename=\"{filename}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def uploader(url: str, key: str, seed: int, stop: threading.Event, created: list[str]) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        data = rng.randbytes(rng.randint(200_000, 3_000_000))
        body, content_type = multipart(data, f"{seed}-{rng.randint(0, 10**9)}.jpg")
        request = urllib.request.Request(f"{url}/api/assets", data=body, method="POST",
                                         headers={"x-api-key": key, "Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                if response.status == 201:
                    created.append(hashlib.sha1(data).hexdigest())
        except (urllib.error.URLError, ConnectionError, OSError):
            return  # the server died under us: that is the point


def check_library(data_dir: Path) -> int:
    """Everything the database says exists does, byte for byte; nothing else is in the library."""
    db = sqlite3.connect(data_dir / "shoebox.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT original_path, checksum, file_size FROM assets").fetchall()
        intents = db.execute("SELECT count(*) FROM upload_intents").fetchone()[0]
    finally:
        db.close()
    assert intents == 0
    on_disk = {p.relative_to(data_dir).as_posix() for p in (data_dir / "library").rglob("*") if p.is_file()}
    for path, checksum, size in rows:
        content = (data_dir / path).read_bytes()
        assert len(content) == size and hashlib.sha1(content).digest() == bytes(checksum), path
    assert on_disk == {row[0] for row in rows}, "files in the library without an asset row"
    assert list((data_dir / "upload-tmp").iterdir()) == []
    return len(rows)


def test_kill_9_during_concurrent_uploads_leaves_a_consistent_library(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir).start()
    _, key = server.sign_up_admin_with_key()
    acknowledged: list[str] = []
    try:
        for round_number, delay in enumerate((1.0, 1.7, 0.6)):
            stop = threading.Event()
            threads = [threading.Thread(target=uploader, args=(server.url, key, round_number * 10 + n, stop,
                                                                acknowledged)) for n in range(4)]
            for thread in threads:
                thread.start()
            time.sleep(delay)
            server.kill()
            stop.set()
            for thread in threads:
                thread.join(15)
            server = ServerProcess(data_dir, port=server.port).start()  # recovery runs at start
            server.stop()
            count = check_library(data_dir)
            assert count >= 1
            server = ServerProcess(data_dir, port=server.port).start()
        # every upload the server acknowledged with 201 survived the crashes
        db = sqlite3.connect(data_dir / "shoebox.db")
        stored = {bytes(row[0]).hex() for row in db.execute("SELECT checksum FROM assets")}
        db.close()
        assert set(acknowledged) <= stored
    finally:
        server.stop()
