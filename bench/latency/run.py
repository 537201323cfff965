"""API latency under background load: does a thumbnail backlog and a transcode slow the API down?

One command:  .venv/bin/python bench/latency/run.py [--photos 60] [--requests 600] [--rounds 3]

In one run, against a real `shoebox serve` (job queue, hardware governor and all):
  1. idle: p50/p95 of GET /api/assets/{id}/thumbnail and POST /api/search/metadata;
  2. loaded: the same while the server works through a backlog of 12 MP photos and a 1080p transcode;
and the cost of probing the board and detecting encoders at start-up, with an empty and with a warm cache.
Goal (issue 4): p95 under load at most 2x the idle p95; probing + detection at most 2 s, once per fingerprint.

The backlog is uploaded by a second user of the box (another phone of the household backing up), so the
measured requests are the same in both phases: the admin's search returns the same 10 assets idle and
loaded. (Uploading the backlog into the admin's own library made the loaded search return 71 assets against
10 idle, which measured the library's size, not the background load: its p50 rose by ~1.7x while the
thumbnail p50 did not move.) The asset count each search returned is printed per phase. `--rounds N` runs
N rounds on fresh servers and prints the spread of the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.server_process import ServerProcess  # noqa: E402


def make_photos(folder: Path, count: int) -> list[Path]:
    import pyvips

    folder.mkdir(parents=True, exist_ok=True)
    base = pyvips.Image.xyz(4000, 3000)
    paths = []
    for n in range(count):
        image = ((base[0] * (1 + n % 7) + base[1] * 2 + n * 13) % 256).bandjoin([base[1] % 256, (base[0] + n) % 256])
        path = folder / f"photo-{n:03d}.jpg"
        image.cast("uchar").jpegsave(str(path), Q=88)
        paths.append(path)
    return paths


def make_video(path: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=20",
                    "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", str(path)], check=True)
    return path


async def upload(session: aiohttp.ClientSession, url: str, key: str, path: Path) -> str:
    with open(path, "rb") as handle:
        form = aiohttp.FormData()
        form.add_field("fileCreatedAt", "2024-01-01T00:00:00.000Z")
        form.add_field("fileModifiedAt", "2024-01-01T00:00:00.000Z")
        form.add_field("assetData", handle, filename=path.name)
        async with session.post(f"{url}/api/assets", data=form, headers={"x-api-key": key}) as response:
            body = await response.json()
            if response.status not in (200, 201):
                raise RuntimeError(body)
            return str(body["id"])


async def queue_depth(session: aiohttp.ClientSession, url: str, key: str) -> int:
    async with session.get(f"{url}/api/jobs", headers={"x-api-key": key}) as response:
        counts = await response.json()
    return sum(q["jobCounts"]["active"] + q["jobCounts"]["waiting"] for q in counts.values())


async def throttle_state(session: aiohttp.ClientSession, url: str, key: str) -> str:
    """The governor's state: a SLOW or PAUSE during the loaded run would flatter the figures, so it is shown."""
    async with session.get(f"{url}/api/appliance/status", headers={"x-api-key": key}) as response:
        body = await response.json()
    throttle = (body.get("hardware") or {}).get("throttle") or {}
    return f"{throttle.get('state', '?')} ({throttle.get('reason', '')})"


def second_user_key(server: ServerProcess, admin_token: str) -> str:
    """An API key of a second (non-admin) user: the household member whose phone uploads the backlog."""
    admin = {"Authorization": f"Bearer {admin_token}"}
    credentials = {"email": "phone@example.com", "password": "phone-password"}
    status, body = server.request("POST", "/api/admin/users", {**credentials, "name": "Phone"}, admin)
    if status not in (200, 201):
        raise RuntimeError(body)
    _, login = server.request("POST", "/api/auth/login", credentials)
    _, key = server.request("POST", "/api/api-keys", {"name": "phone", "permissions": ["all"]},
                            {"Authorization": f"Bearer {login['accessToken']}"})
    return str(key["secret"])


async def measure(
    session: aiohttp.ClientSession, url: str, key: str, ids: list[str], requests: int
) -> tuple[dict[str, list[float]], set[int]]:
    """Timings per request kind, and the set of asset counts the searches' first page returned."""
    timings: dict[str, list[float]] = {"thumbnail": [], "search": []}
    found: set[int] = set()
    for n in range(requests):
        start = time.perf_counter()
        async with session.get(f"{url}/api/assets/{ids[n % len(ids)]}/thumbnail", headers={"x-api-key": key}) as r:
            await r.read()
            assert r.status == 200, r.status
        timings["thumbnail"].append(time.perf_counter() - start)
        start = time.perf_counter()
        async with session.post(f"{url}/api/search/metadata", json={"size": 100, "page": 1 + n % 2},
                                headers={"x-api-key": key}) as r:
            raw = await r.read()
            assert r.status == 200, r.status
        timings["search"].append(time.perf_counter() - start)
        if n % 2 == 0:  # page 1 (page 2 is empty); parsed after the clock stopped
            found.add(int(json.loads(raw)["assets"]["count"]))
        await asyncio.sleep(0.01)
    return timings, found


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


async def run(work: Path, photos: int, requests: int, data: str = "data") -> dict[str, float]:
    """One round on a fresh server; returns the p95 ratio (loaded / idle) per request kind."""
    corpus = sorted((work / "photos").glob("*.jpg")) or make_photos(work / "photos", photos)
    warm = sorted((work / "warm").glob("*.jpg")) or make_photos(work / "warm", 10)
    video = work / "clip.webm"
    if not video.exists():
        make_video(video)
    server = ServerProcess(work / data).start()
    ratios: dict[str, float] = {}
    try:
        token, key = server.sign_up_admin_with_key()
        phone = second_user_key(server, token)
        async with aiohttp.ClientSession() as session:
            ids = [await upload(session, server.url, key, p) for p in warm]
            while await queue_depth(session, server.url, key):
                await asyncio.sleep(0.5)
            idle, idle_found = await measure(session, server.url, key, ids, requests)
            uploads = [asyncio.create_task(upload(session, server.url, phone, p)) for p in [video, *corpus]]
            await asyncio.gather(*uploads)
            depth_before = await queue_depth(session, server.url, key)
            state_before = await throttle_state(session, server.url, key)
            loaded, loaded_found = await measure(session, server.url, key, ids, requests)
            depth_after = await queue_depth(session, server.url, key)
            state_after = await throttle_state(session, server.url, key)
        print(f"backlog while measuring: {depth_before} jobs at the start, {depth_after} at the end")
        print(f"assets per search (first page): idle {sorted(idle_found)}, loaded {sorted(loaded_found)}")
        print(f"throttle: {state_before} at the start, {state_after} at the end; "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"{'request':<28}{'idle p50':>10}{'idle p95':>10}{'load p50':>10}{'load p95':>10}{'p95 ratio':>11}")
        for name, label in (("thumbnail", "GET /assets/{id}/thumbnail"), ("search", "POST /search/metadata")):
            ratio = ratios[name] = pct(loaded[name], 95) / pct(idle[name], 95)
            print(f"{label:<28}{pct(idle[name], 50):>9.1f}ms{pct(idle[name], 95):>8.1f}ms"
                  f"{pct(loaded[name], 50):>8.1f}ms{pct(loaded[name], 95):>8.1f}ms{ratio:>10.2f}x")
    finally:
        server.stop()
    return ratios


def startup_cost(work: Path) -> None:
    from appliance.hardware.encoders import detect_encoders_blocking
    from appliance.hardware.probe import probe
    from appliance.hardware.sysroot import Sysroot

    cache = work / "encoders.json"
    for label in ("empty cache", "warm cache"):
        start = time.perf_counter()
        info = probe(Sysroot(Path("/")))
        detect_encoders_blocking(info, Sysroot(Path("/")), cache_path=cache)
        print(f"probe + encoder detection, {label}: {time.perf_counter() - start:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds on fresh servers (the figures wander on a shared box: 3 show the spread)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shoebox-latency-", dir="/var/tmp"))
    try:
        startup_cost(work)
        rounds = []
        for n in range(args.rounds):
            if args.rounds > 1:
                print(f"--- round {n + 1} of {args.rounds}")
            rounds.append(asyncio.run(run(work, args.photos, args.requests, data=f"data-{n}")))
        if args.rounds > 1:
            for name in ("thumbnail", "search"):
                values = sorted(r[name] for r in rounds)
                print(f"p95 ratio of {name} over {len(values)} rounds: min {values[0]:.2f}x, "
                      f"median {statistics.median(values):.2f}x, max {values[-1]:.2f}x "
                      f"(goal: at most 2x); each: {', '.join(f'{v:.2f}x' for v in (r[name] for r in rounds))}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
