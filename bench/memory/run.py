"""Peak memory of a whole Shoebox server (API process + decode workers + exiftool + ffmpeg) while it
ingests and processes a batch of uploads: the shared photos, generated 24 MP JPEGs, a motion photo and a
video. Prints the peak RSS of the process tree and how long the backlog took.

Usage: python bench/memory/run.py  (uses a fresh data folder in /tmp, a free port, and stops the server)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
import psutil
import pyvips

ROOT = Path(__file__).resolve().parent.parent.parent
ASSETS = next(p / "shared/testdata/immich-test-assets" for p in (ROOT.parent, ROOT.parent.parent)
              if (p / "shared/testdata/immich-test-assets").is_dir())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def corpus(work: Path) -> list[Path]:
    files = sorted(p for p in ASSETS.rglob("*") if p.suffix.lower() != ".md" and p.is_file())
    if os.environ.get("BENCH_SKIP_HDR"):  # the two full-frame 16/10-bit HDR files (JXL, AVIF)
        files = [p for p in files if "HDR" not in p.name]
    base = pyvips.Image.new_from_file(str(ASSETS / "albums/text/craft-beer.jpg"))
    for i in range(4):
        path = work / f"big-{i}.jpg"
        (base.resize(6000 / base.width, vscale=4000 / base.height) + i).cast("uchar").jpegsave(str(path), Q=90)
        files.append(path)
    clip = work / "clip.mov"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=1920x1080:rate=30:duration=5", "-c:v", "libx265", "-preset", "ultrafast",
                    "-x265-params", "log-level=error", str(clip)], check=True)
    files.append(clip)
    return files


async def drive(base: str, files: list[Path]) -> float:
    async with aiohttp.ClientSession() as http:
        await http.post(f"{base}/api/auth/admin-sign-up", json={"email": "a@b.c", "name": "A", "password": "pw123456"})
        credentials = {"email": "a@b.c", "password": "pw123456"}
        login = await (await http.post(f"{base}/api/auth/login", json=credentials)).json()
        headers = {"Authorization": f"Bearer {login['accessToken']}"}
        started = time.perf_counter()
        idle_since: float | None = None
        for n, path in enumerate(files):
            form = aiohttp.FormData()
            for key, value in (("deviceAssetId", f"m{n}"), ("deviceId", "bench"),
                               ("fileCreatedAt", "2024-01-01T00:00:00Z"), ("fileModifiedAt", "2024-01-01T00:00:00Z")):
                form.add_field(key, value)
            form.add_field("assetData", path.read_bytes(), filename=path.name)
            async with http.post(f"{base}/api/assets", data=form, headers=headers) as reply:
                assert reply.status in (200, 201), await reply.text()
        while True:
            counts = await (await http.get(f"{base}/api/jobs", headers=headers)).json()
            # The hardware governor may hold video back on a busy box (SLOW/PAUSE): give it a while, then
            # report the still images and say what was left.
            patience = 900 if os.environ.get("BENCH_WAIT_VIDEO") else 60
            images_done = not any(q["jobCounts"]["active"] + q["jobCounts"]["waiting"]
                                  for n, q in counts.items() if n != "videoConversion")
            busy = sum(q["jobCounts"]["active"] + q["jobCounts"]["waiting"] + q["jobCounts"]["delayed"]
                       for q in counts.values())
            if images_done and idle_since is None:
                idle_since = time.perf_counter()
                print(f"metadata + thumbnails of every upload done after {idle_since - started:.1f} s")
            waited = time.perf_counter() - (idle_since or time.perf_counter())
            if not busy or waited > patience:
                if busy:
                    left = {n: q["jobCounts"] for n, q in counts.items() if q["jobCounts"]["waiting"]}
                    print(f"gave up waiting; still queued: {left}")
                failed = {name: q["jobCounts"]["failed"] for name, q in counts.items() if q["jobCounts"]["failed"]}
                print(f"failed jobs: {failed or 'none'}")
                return time.perf_counter() - started
            await asyncio.sleep(0.5)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = corpus(work)
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen(
            [sys.executable, "-m", "appliance", "serve", "--data-dir", str(work / "data"), "--port", str(port),
             "--host", "127.0.0.1", "--no-mdns", "--log-level", "warning"], env=env)
        peak = {"tree": 0, "api": 0, "pss": 0}
        kinds: dict[str, int] = {}
        stop = threading.Event()

        def sample() -> None:
            root = psutil.Process(server.pid)
            while not stop.is_set():
                try:
                    tree = [root, *root.children(recursive=True)]
                    infos = [(p, p.memory_full_info()) for p in tree]
                    peak["tree"] = max(peak["tree"], sum(i.rss for _, i in infos))
                    peak["pss"] = max(peak["pss"], sum(i.pss for _, i in infos))
                    peak["api"] = max(peak["api"], infos[0][1].rss)
                    for proc, info in infos[1:]:
                        cmd = " ".join(proc.cmdline())
                        kind = ("decode worker" if "appliance.jobs.worker" in cmd else
                                "exiftool" if "exiftool" in cmd else "ffmpeg" if "ffmpeg" in cmd else
                                "ffprobe" if "ffprobe" in cmd else proc.name())
                        kinds[kind] = max(kinds.get(kind, 0), info.rss)
                except psutil.Error:
                    pass
                time.sleep(0.1)

        thread = threading.Thread(target=sample, daemon=True)
        try:
            for _ in range(200):
                with socket.socket() as sock:
                    if sock.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.1)
            thread.start()
            seconds = asyncio.run(drive(f"http://127.0.0.1:{port}", files))
        finally:
            stop.set()
            server.send_signal(signal.SIGTERM)
            server.wait(30)
        print(f"{len(files)} uploads (incl. 4x 24 MP JPEG, HEIC, AVIF, JXL, a motion photo, a 5 s 1080p HEVC clip)"
              f" processed in {seconds:.1f} s")
        print(f"peak of the whole server tree: RSS {peak['tree'] / 2**20:.0f} MiB (shared pages counted per"
              f" process), PSS {peak['pss'] / 2**20:.0f} MiB; API process RSS {peak['api'] / 2**20:.0f} MiB")
        print("peak RSS per child: " + ", ".join(f"{k} {v / 2**20:.0f} MiB" for k, v in sorted(kinds.items())))


if __name__ == "__main__":
    main()
