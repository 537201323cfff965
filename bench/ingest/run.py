"""Ingest benchmark: Shoebox's upload path versus `cp -r` + `sync` of the same files on the same disk.

One command:  .venv/bin/python bench/ingest/run.py [--gigabytes 1.0] [--workdir DIR]

It builds a corpus (the shared test photos plus generated large files), then in one run times:
  1. cp -r corpus + sync                      (the disk's own ceiling)
  2. a fast client: parallel streamed uploads (aiohttp, 4 at a time)
  3. the real Immich CLI 3.2.2 (immich upload --recursive)
and reports throughput, ratios, start-up time to the first pong, idle RSS and peak RSS while uploading.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
import psutil

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.server_process import ServerProcess  # noqa: E402

SHARED_PHOTOS = REPO.parent / "shared" / "testdata" / "immich-test-assets"
NODE_MODULES = REPO / ".tools" / "node" / "node_modules"
GIGABIT = 125_000_000  # bytes per second


def build_corpus(root: Path, total_bytes: int) -> tuple[list[Path], int]:
    root.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for photo in SHARED_PHOTOS.rglob("*"):
        if photo.is_file() and photo.suffix.lower() not in {".md"}:
            target = root / "photos" / photo.relative_to(SHARED_PHOTOS)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(photo, target)
            files.append(target)
    size = sum(p.stat().st_size for p in files)
    index = 0
    chunk = os.urandom(8 * 1024 * 1024)
    while size < total_bytes:
        target = root / "large" / f"clip-{index:03d}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        file_size = min(96 * 1024 * 1024, total_bytes - size + 1)
        with open(target, "wb") as handle:
            written = 0
            while written < file_size:
                piece = chunk[: file_size - written]
                handle.write(index.to_bytes(8, "big") + piece[8:])  # unique bytes per file
                written += len(piece)
        files.append(target)
        size += file_size
        index += 1
    return files, size


def time_cp(corpus: Path, dest: Path) -> float:
    subprocess.run(["sync"], check=True)
    start = time.perf_counter()
    subprocess.run(["cp", "-r", str(corpus), str(dest)], check=True)
    subprocess.run(["sync"], check=True)
    return time.perf_counter() - start


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.samples: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                rss = self.process.memory_info().rss
            except psutil.Error:
                return
            self.samples.append(rss)
            self.peak = max(self.peak, rss)
            time.sleep(0.05)


async def fast_client(url: str, key: str, files: list[Path], parallel: int = 4) -> None:
    queue: asyncio.Queue[Path] = asyncio.Queue()
    for path in files:
        queue.put_nowait(path)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            path = queue.get_nowait()
            with open(path, "rb") as handle:
                form = aiohttp.FormData()
                form.add_field("fileCreatedAt", "2024-01-01T00:00:00.000Z")
                form.add_field("fileModifiedAt", "2024-01-01T00:00:00.000Z")
                form.add_field("assetData", handle, filename=path.name, content_type="application/octet-stream")
                async with session.post(f"{url}/api/assets", data=form, headers={"x-api-key": key}) as response:
                    if response.status not in (200, 201):
                        raise RuntimeError(f"{path.name}: {response.status} {await response.text()}")

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
        await asyncio.gather(*(worker(session) for _ in range(parallel)))


def start_server(data_dir: Path) -> tuple[ServerProcess, float, int]:
    start = time.perf_counter()
    server = ServerProcess(data_dir).start()
    startup = time.perf_counter() - start
    time.sleep(1.0)
    assert server.process is not None
    idle = psutil.Process(server.process.pid).memory_info().rss
    return server, startup, idle


def run_server_case(name: str, work: Path, corpus: Path, files: list[Path], size: int) -> dict[str, float]:
    data_dir = work / f"data-{name}"
    server, startup, idle = start_server(data_dir)
    try:
        _, key = server.sign_up_admin_with_key()
        assert server.process is not None
        sampler = RssSampler(server.process.pid)
        sampler.start()
        subprocess.run(["sync"], check=True)
        start = time.perf_counter()
        if name == "fast client":
            asyncio.run(fast_client(server.url, key, files))
        else:
            env = {**os.environ, "IMMICH_CONFIG_DIR": str(work / "cli-config")}
            node = str(NODE_MODULES / ".bin" / "node")
            cli = str(NODE_MODULES / "@immich" / "cli" / "bin" / "immich")
            subprocess.run([node, cli, "login", server.url, key], env=env, check=True, capture_output=True)
            result = subprocess.run([node, cli, "upload", "--recursive", str(corpus)], env=env,
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(result.stdout + result.stderr)
        subprocess.run(["sync"], check=True)
        elapsed = time.perf_counter() - start
        sampler.stop.set()
        sampler.join()
        return {"seconds": elapsed, "mbps": size / elapsed / 1e6, "startup": startup, "idle_rss": idle / 1e6,
                "peak_rss": sampler.peak / 1e6}
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--workdir", default=None, help="folder on the disk to measure (default: a temp dir)")
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shoebox-bench-", dir=args.workdir))
    try:
        corpus = work / "corpus"
        files, size = build_corpus(corpus, int(args.gigabytes * 1e9))
        print(f"corpus: {len(files)} files, {size / 1e6:.0f} MB in {work}")
        cp_seconds = time_cp(corpus, work / "cp-copy")
        shutil.rmtree(work / "cp-copy")
        cp_mbps = size / cp_seconds / 1e6
        rows = [("cp -r + sync", cp_seconds, cp_mbps, None)]
        results = {"fast client": run_server_case("fast client", work, corpus, files, size)}
        if not args.skip_cli:
            results["immich CLI 3.2.2"] = run_server_case("cli", work, corpus, files, size)
        print()
        print(f"{'case':<22}{'seconds':>9}{'MB/s':>9}{'vs cp':>8}{'x gigabit':>11}")
        for name, seconds, mbps, _ in rows:
            print(f"{name:<22}{seconds:>9.2f}{mbps:>9.0f}{1.0:>8.2f}{mbps * 1e6 / GIGABIT:>11.1f}")
        for name, result in results.items():
            print(f"{name:<22}{result['seconds']:>9.2f}{result['mbps']:>9.0f}{result['mbps'] / cp_mbps:>8.2f}"
                  f"{result['mbps'] * 1e6 / GIGABIT:>11.1f}")
        print()
        for name, result in results.items():
            print(f"{name}: start to first pong {result['startup']:.2f} s, idle RSS {result['idle_rss']:.0f} MB, "
                  f"peak RSS while uploading {result['peak_rss']:.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
