"""Ingest benchmark: Shoebox's upload path versus `cp -r` + `sync` of the same files on the same disk.

One command:  .venv/bin/python bench/ingest/run.py [--gigabytes 1.0] [--workdir DIR]

It builds a corpus (the shared test photos plus generated large files), then in one run times:
  1. cp -r corpus + sync                      (the disk's own ceiling)
  2. a fast client: 4 parallel keep-alive uploads, the file bytes sent with sendfile (the goal's client: like
     a client on another machine, it leaves this machine's cores to the server)
  3. the same uploads through aiohttp's client (a Python client that competes with the server for the CPU)
  4. the real Immich CLI 3.2.2 (immich upload --recursive)
and reports throughput, ratios, the server process's CPU seconds per GB (steadier than MB/s on a shared
machine), start-up time to the first pong (the package byte-compiled first, as installed), idle RSS and
peak RSS while uploading.
Each server case checks afterwards that every distinct file became an asset.
On a VM whose balloon hands freed memory back to its host, or whose kernel drops page cache it thinks idle
(DAMON), the run pauses both (bench/host.py); `--host-memory-as-is` leaves them on.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import aiohttp
import psutil

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.host import machine_held  # noqa: E402
from tests.conftest import TEST_ASSETS as SHARED_PHOTOS  # noqa: E402  (also found from a git worktree)
from tests.server_process import ServerProcess  # noqa: E402

NODE_MODULES = REPO / ".tools" / "node" / "node_modules"
GIGABIT = 125_000_000  # bytes per second


def build_corpus(root: Path, total_bytes: int) -> tuple[list[Path], int]:
    root.mkdir(parents=True, exist_ok=True)
    if not SHARED_PHOTOS.is_dir():
        raise SystemExit(f"the shared test photos are missing at {SHARED_PHOTOS}")
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


def _multipart_head(boundary: str, path: Path) -> bytes:
    fields = {"fileCreatedAt": "2024-01-01T00:00:00.000Z", "fileModifiedAt": "2024-01-01T00:00:00.000Z"}
    head = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                   for name, value in fields.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="assetData"; filename="{path.name}"\r\n'
             "Content-Type: application/octet-stream\r\n\r\n")
    return head.encode()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body, and whether the server keeps the connection open (it closes it after a large body)."""
    status = int((await reader.readline()).split()[1])
    length = 0
    keep_alive = True
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
        elif name.strip().lower() == "transfer-encoding":
            raise RuntimeError("chunked responses are not expected here")
        elif name.strip().lower() == "connection" and value.strip().lower() == "close":
            keep_alive = False
    return status, await reader.readexactly(length), keep_alive


async def fast_client(url: str, key: str, files: list[Path], parallel: int = 4) -> None:
    """What a fast client on another machine looks like to the server: parallel keep-alive connections,
    the same multipart body the CLI sends, the file's bytes handed to the kernel with sendfile. It leaves
    the server (which shares this machine's cores with it) almost all the CPU, as a remote client would."""
    host, port = url.rsplit("//", 1)[1].rsplit(":", 1)
    queue = list(files)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        loop = asyncio.get_running_loop()
        try:
            while queue:
                path = queue.pop(0)
                if writer.is_closing():  # as HTTP clients do after `Connection: close`
                    reader, writer = await asyncio.open_connection(host, int(port))
                boundary = f"----shoebox{uuid.uuid4().hex}"
                head = _multipart_head(boundary, path)
                tail = f"\r\n--{boundary}--\r\n".encode()
                length = len(head) + path.stat().st_size + len(tail)
                writer.write(f"POST /api/assets HTTP/1.1\r\nHost: {host}:{port}\r\nx-api-key: {key}\r\n"
                             f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                             f"Content-Length: {length}\r\n\r\n".encode() + head)
                with open(path, "rb") as handle:
                    await loop.sendfile(writer.transport, handle)
                writer.write(tail)
                status, body, keep_alive = await _read_response(reader)
                if status not in (200, 201):
                    raise RuntimeError(f"{path.name}: {status} {body[:300]!r}")
                if not keep_alive:
                    writer.close()
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(parallel)))


async def aiohttp_client(url: str, key: str, files: list[Path], parallel: int = 4) -> None:
    """The same uploads through aiohttp's client (FormData): a Python client that costs this machine's CPU."""
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


def _check_stored(server: ServerProcess, key: str, files: list[Path]) -> None:
    """Every distinct file became an asset: a server that dropped bytes would not be measured as fast."""
    distinct = set()
    for path in files:
        with open(path, "rb") as handle:
            distinct.add(hashlib.file_digest(handle, "sha1").digest())
    status, stats = server.request("GET", "/api/assets/statistics", headers={"x-api-key": key})
    if status != 200 or stats["total"] != len(distinct):
        raise RuntimeError(f"expected {len(distinct)} assets after the upload, the server has {stats}")


def run_server_case(name: str, work: Path, corpus: Path, files: list[Path], size: int) -> dict[str, float]:
    data_dir = work / f"data-{name}"
    server, startup, idle = start_server(data_dir)
    try:
        _, key = server.sign_up_admin_with_key()
        assert server.process is not None
        sampler = RssSampler(server.process.pid)
        sampler.start()
        subprocess.run(["sync"], check=True)
        cpu_before = sum(psutil.Process(server.process.pid).cpu_times()[:2])
        start = time.perf_counter()
        if name == "fast client":
            asyncio.run(fast_client(server.url, key, files))
        elif name == "aiohttp client":
            asyncio.run(aiohttp_client(server.url, key, files))
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
        cpu = sum(psutil.Process(server.process.pid).cpu_times()[:2]) - cpu_before
        sampler.stop.set()
        sampler.join()
        _check_stored(server, key, files)
        return {"seconds": elapsed, "mbps": size / elapsed / 1e6, "startup": startup, "idle_rss": idle / 1e6,
                "peak_rss": sampler.peak / 1e6, "cpu_per_gb": cpu / (size / 1e9)}
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def byte_compile_package() -> None:
    """Compile Shoebox's modules first, as `pip install .` (and the SD image) does: an editable checkout run with
    PYTHONDONTWRITEBYTECODE=1 (this machine sets it) would otherwise compile every module at each start, which
    no installed box does, and the start-up figure would measure the compiler."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "appliance")], check=True,
                   stdout=subprocess.DEVNULL)
    print("Shoebox's modules are byte-compiled first, as an installed package is")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--workdir", default=None, help="folder on the disk to measure (default: a temp dir)")
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-aiohttp", action="store_true")
    parser.add_argument("--host-memory-as-is", action="store_true",
                        help="leave a VM's free-page reporting and proactive reclaim on (see bench/host.py)")
    args = parser.parse_args()
    with machine_held(not args.host_memory_as_is) as held:
        print("\n".join(held))
        run(args)


def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="shoebox-bench-", dir=args.workdir))
    byte_compile_package()
    try:
        corpus = work / "corpus"
        files, size = build_corpus(corpus, int(args.gigabytes * 1e9))
        print(f"corpus: {len(files)} files, {size / 1e6:.0f} MB in {work}")
        cp_seconds = time_cp(corpus, work / "cp-copy")
        shutil.rmtree(work / "cp-copy")
        cp_mbps = size / cp_seconds / 1e6
        rows = [("cp -r + sync", cp_seconds, cp_mbps, None)]
        load = os.getloadavg()[0]
        results = {"fast client": run_server_case("fast client", work, corpus, files, size)}
        if not args.skip_aiohttp:
            results["aiohttp client"] = run_server_case("aiohttp client", work, corpus, files, size)
        if not args.skip_cli:
            results["immich CLI 3.2.2"] = run_server_case("cli", work, corpus, files, size)
        print()
        print(f"{'case':<22}{'seconds':>9}{'MB/s':>9}{'vs cp':>8}{'x gigabit':>11}{'server CPU s/GB':>17}")
        for name, seconds, mbps, _ in rows:
            print(f"{name:<22}{seconds:>9.2f}{mbps:>9.0f}{1.0:>8.2f}{mbps * 1e6 / GIGABIT:>11.1f}")
        for name, result in results.items():
            print(f"{name:<22}{result['seconds']:>9.2f}{result['mbps']:>9.0f}{result['mbps'] / cp_mbps:>8.2f}"
                  f"{result['mbps'] * 1e6 / GIGABIT:>11.1f}{result['cpu_per_gb']:>17.2f}")
        print()
        for name, result in results.items():
            print(f"{name}: start to first pong {result['startup']:.2f} s, idle RSS {result['idle_rss']:.1f} MB, "
                  f"peak RSS while uploading {result['peak_rss']:.0f} MB")
        fast = results["fast client"]
        print(f"\ngoal (fast client): >= 0.35x cp+sync: {fast['mbps'] / cp_mbps:.2f}x; >= 4x gigabit: "
              f"{fast['mbps'] * 1e6 / GIGABIT:.1f}x; idle RSS <= 60 MB: {fast['idle_rss']:.1f} MB; "
              f"start to first pong <= 1 s: {fast['startup']:.2f} s")
        print(f"load average (1 min) before / after the server cases: {load:.2f} / {os.getloadavg()[0]:.2f} "
              f"on {os.cpu_count()} cores")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
