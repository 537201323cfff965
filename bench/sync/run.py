"""First full sync of a large library through the real server over HTTP.

    .venv/bin/python bench/sync/run.py [--assets 100000] [--keep DIR]

Writes N synthetic assets (with EXIF rows) straight into a fresh SQLite database, starts `shoebox serve`
on it in a child process, and asks for the mobile app's full type list. Prints the time to the first
line (goal < 200 ms), the total time and line rate, and the server's peak RSS above idle while
streaming (goal < 100 MB whatever the library size). Immich itself can't run here; its figures are not
measured side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from appliance.ids import uuid7  # noqa: E402
from appliance.storage.db import Database  # noqa: E402

APP_TYPES = [
    "AuthUsersV1", "UsersV1", "AssetsV2", "AssetExifsV1", "AssetEditsV1", "AssetMetadataV1", "PartnersV1",
    "PartnerAssetsV2", "PartnerAssetExifsV1", "AlbumsV2", "AlbumUsersV1", "AlbumAssetsV2", "AlbumAssetExifsV1",
    "AlbumToAssetsV1", "MemoriesV1", "MemoryToAssetsV1", "StacksV1", "PartnerStacksV1", "UserMetadataV1",
    "PeopleV1", "AssetFacesV2", "AssetOcrV1",
]


def populate(data_dir: Path, count: int) -> str:
    """A user, a session and `count` assets with EXIF; returns the session token."""
    db_path = data_dir / "shoebox.db"

    async def migrate() -> None:
        db = Database(db_path)
        await db.open()
        await db.close()

    asyncio.run(migrate())
    import sqlite3

    conn = sqlite3.connect(db_path)
    now = "2026-01-01T00:00:00.000Z"
    user_id = str(uuid.uuid4())
    token = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO users (id, email, name, password_hash, is_admin, profile_changed_at, created_at, updated_at,"
        " update_id) VALUES (?, 'bench@example.com', 'Bench', '', 1, ?, ?, ?, ?)",
        (user_id, now, now, now, uuid7()),
    )
    conn.execute(
        "INSERT INTO sessions (id, user_id, token_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        (str(uuid.uuid4()), user_id, hashlib.sha256(token.encode()).hexdigest(), now, now),
    )
    batch = 5000
    for start in range(0, count, batch):
        assets, exifs = [], []
        for n in range(start, min(count, start + batch)):
            asset_id = str(uuid.uuid4())
            update_id = uuid7()
            taken = f"20{10 + n % 15:02d}-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:00.000Z"
            assets.append((asset_id, user_id, "IMAGE", f"library/{user_id}/{asset_id}.jpg", f"IMG_{n:06d}.jpg",
                           "image/jpeg", os.urandom(20), 2_500_000, taken, taken, taken, now, now, 4032, 3024,
                           os.urandom(25), update_id))
            exifs.append((asset_id, "Canon", "EOS R6", 4032, 3024, 2_500_000, taken, 48.85, 2.35, "Paris",
                          "France", update_id))
        conn.executemany(
            "INSERT INTO assets (id, owner_id, type, original_path, original_file_name, original_mime_type,"
            " checksum, file_size, file_created_at, file_modified_at, local_date_time, created_at, updated_at,"
            " width, height, thumbhash, update_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", assets)
        conn.executemany(
            "INSERT INTO asset_exif (asset_id, make, model, exif_image_width, exif_image_height, file_size_in_byte,"
            " date_time_original, latitude, longitude, city, country, update_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            exifs)
        conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return token


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            values[line.split(":")[0]] = int(line.split()[1])
    return values["VmRSS"], values["VmHWM"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited during start")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/server/ping")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def stream_once(port: int, token: str) -> dict[str, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = json.dumps({"types": APP_TYPES})
    started = time.perf_counter()
    conn.request("POST", "/api/sync/stream", body=body, headers={
        "Content-Type": "application/json", "Accept": "application/jsonlines+json", "x-immich-user-token": token})
    response = conn.getresponse()
    assert response.status == 200, response.read()
    first_line = None
    lines = 0
    tail = b""
    while chunk := response.read1(256 * 1024):
        if first_line is None and b"\n" in chunk:
            first_line = time.perf_counter() - started
        lines += chunk.count(b"\n")
        tail = (tail + chunk)[-4096:]
    total = time.perf_counter() - started
    last = json.loads(tail.rstrip(b"\n").rsplit(b"\n", 1)[-1])
    assert last["type"] == "SyncCompleteV1", last
    return {"first": first_line or total, "total": total, "lines": lines}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--keep", help="use (and keep) this data folder")
    args = parser.parse_args()
    data_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="shoebox-sync-bench-"))
    try:
        started = time.perf_counter()
        token = populate(data_dir, args.assets)
        print(f"library: {args.assets} assets + EXIF written in {time.perf_counter() - started:.1f} s")
        port = free_port()
        env = {**os.environ, "SHOEBOX_JOBS_ENABLED": "false", "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "appliance", "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1",
             "--port", str(port), "--no-mdns", "--log-level", "warning"], env=env, cwd=ROOT)
        try:
            wait_ready(port, proc)
            idle, _ = rss_kib(proc.pid)
            peak = [idle]
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], rss_kib(proc.pid)[0])
                    time.sleep(0.005)

            sampler = threading.Thread(target=sample)
            sampler.start()
            runs = [stream_once(port, token) for _ in range(2)]
            done.set()
            sampler.join()
            _, hwm = rss_kib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        for label, run in zip(("cold", "warm"), runs, strict=True):
            print(f"full sync ({label}): {int(run['lines'])} lines, first line {run['first'] * 1000:.0f} ms"
                  f" (goal < 200 ms), total {run['total']:.2f} s, {run['lines'] / run['total']:.0f} lines/s")
        print(f"machine load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
              " (other work shares these cores; times are wall-clock)")
        print(f"server RSS: idle {idle / 1024:.1f} MB, peak while streaming {peak[0] / 1024:.1f} MB,"
              f" peak above idle {(peak[0] - idle) / 1024:.1f} MB (goal < 100 MB); VmHWM {hwm / 1024:.1f} MB")
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
