"""Timeline and search latency at 100k and 1M synthetic assets.

    .venv/bin/python bench/timeline/run.py            # 100k and 1M
    .venv/bin/python bench/timeline/run.py --sizes 100000
    .venv/bin/python bench/timeline/run.py --keep /var/tmp/shoebox-bench   # generate once, measure again later

Assets are generated straight into SQLite through the real migrations (so the triggers and indexes are the
real ones): 3 users, dates spread over 15 years, an EXIF row for every asset (as ingest writes one), a third
with GPS and a place, some rotated, some favourites, archived and trashed. No ANALYZE: Shoebox never runs
it, so the plans measured are the plans a real box gets. A kept library is upgraded by the server's own
migrations when opened, as a box's is. Then a real Shoebox server on loopback (`--server`: as its own
`shoebox serve` process, as a box runs it and as phones and frames, other machines, see it; inside the
bench's process, whose client then shares the server's interpreter; by default both, side by side) answers
`GET /timeline/buckets`, `GET /timeline/bucket` (any month, and the six biggest: the worst case) and
`POST /search/metadata` for the biggest user; p50/p95 over many requests and the query plans of the SQL
those requests run are printed. Months are measured twice: "built" (from the database, as the first time a
month is seen after a change to it; the month cache is off: SHOEBOX_TIMELINE_CACHE_BYTES=0) and "seen before"
(every month asked for once first, then served from the month cache, at its default size, while nothing in
it changed). The client asks for gzip, as the web and mobile apps do; the time is to the last byte on the
wire. Goal: p95 under 25 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from appliance.app import create_app  # noqa: E402
from appliance.config import Settings  # noqa: E402
from appliance.library.auth import hash_secret  # noqa: E402
from appliance.services import build_services  # noqa: E402
from appliance.storage.timeline import TimelineFilter  # noqa: E402

USERS = [("alice", 0.5), ("bob", 0.3), ("carol", 0.2)]
CITIES = [("Lyon", "France", 45.76, 4.83), ("Turin", "Italy", 45.07, 7.69), ("Leeds", "United Kingdom", 53.8, -1.55),
          ("Porto", "Portugal", 41.15, -8.61), ("Ghent", "Belgium", 51.05, 3.72)]
SECRET = "bench-api-key-"
SETTLE_SECONDS = 8.0
NOW = "2026-11-27T00:00:00.000Z"


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


async def generate(data_dir: Path, total: int) -> list[str]:
    services = build_services(Settings(data_dir=data_dir, mdns=False, jobs_enabled=False))
    db = services.db
    await db.open()
    rng = random.Random(42)
    user_ids = []
    async with db.transaction() as conn:
        for name, _ in USERS:
            record = await services.auth.new_user_record(email=f"{name}@example.com", name=name, password="",
                                                         is_admin=name == "alice")
            await services.auth.users.insert(conn, record)
            await conn.execute(
                "INSERT INTO api_keys (id, user_id, name, key_hash, permissions, created_at, updated_at)"
                " VALUES (?, ?, 'bench', ?, '[\"all\"]', ?, ?)",
                (str(uuid.uuid4()), record.id, hash_secret(SECRET + name), NOW, NOW),
            )
            user_ids.append(record.id)
    start, end = time.mktime((2011, 1, 1, 0, 0, 0, 0, 0, 0)), time.mktime((2026, 1, 1, 0, 0, 0, 0, 0, 0))
    weights = [w for _, w in USERS]
    batch = 20000
    made = 0
    began = time.perf_counter()
    while made < total:
        assets, exifs = [], []
        for _ in range(min(batch, total - made)):
            asset_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            owner = rng.choices(user_ids, weights)[0]
            # more photos in recent years and in summer, as real libraries have
            taken = start + (end - start) * (rng.random() ** 0.7)
            offset = rng.choice([0, 3600, 7200, -18000])
            created = _iso(taken)
            local = _iso(taken + offset)
            roll = rng.random()
            visibility = "archive" if roll < 0.03 else ("locked" if roll < 0.035 else "timeline")
            deleted = NOW if rng.random() < 0.01 else None
            is_video = rng.random() < 0.08
            assets.append((
                asset_id, owner, "VIDEO" if is_video else "IMAGE", f"library/{owner}/{asset_id}.jpg",
                f"IMG_{made:07d}.jpg", "video/mp4" if is_video else "image/jpeg", rng.randbytes(20),
                rng.randint(500_000, 8_000_000), created, created, local, NOW, NOW, deleted, visibility,
                int(rng.random() < 0.05), 1, 4000, 3000, 12000 if is_video else None, rng.randbytes(24),
                str(uuid.uuid4()),
            ))
            orientation = "6" if rng.random() < 0.1 else "1"
            if rng.random() < 0.33:
                city, country, lat, lon = rng.choice(CITIES)
                exifs.append((asset_id, "Canon", "EOS R", orientation, lat, lon, city, country, "", str(uuid.uuid4())))
            else:
                exifs.append((asset_id, "Canon", "EOS R", orientation, None, None, None, None, "", str(uuid.uuid4())))
            made += 1
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO assets (id, owner_id, type, original_path, original_file_name, original_mime_type,"
                " checksum, file_size, file_created_at, file_modified_at, local_date_time, created_at, updated_at,"
                " deleted_at, visibility, is_favorite, has_metadata, width, height, duration_ms, thumbhash,"
                " update_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                assets,
            )
            await conn.executemany(
                "INSERT INTO asset_exif (asset_id, make, model, orientation, latitude, longitude, city, country,"
                " description, update_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                exifs,
            )
    print(f"  generated {total:,} assets in {time.perf_counter() - began:.1f} s", flush=True)
    await db.close()
    return user_ids


def stale(db_path: Path) -> bool:
    """Whether a kept library comes from the earlier generator, whose ANALYZE statistics (which a real box never
    has) would steer the plans measured."""
    if not db_path.exists():
        return False
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone() is not None
    finally:
        conn.close()


def resident(db_path: Path) -> str:
    """How much of the database file is in the page cache (util-linux `fincore`): a month read from disk
    costs several times one read from memory, and other benchmarks on a shared machine drop the cache."""
    try:
        out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", str(db_path)],
                             capture_output=True, text=True, timeout=10, check=True).stdout.split()
        return f"{int(out[0]) / 2**20:.0f} of {db_path.stat().st_size / 2**20:.0f} MB of the database in the page cache"
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return "page cache residency unknown (no fincore)"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def cold(db_path: Path) -> None:
    """Drop the database file's pages (only this file's) from the page cache, as after a reboot or when other
    work pushed them out: months then come from the disk."""
    with open(db_path, "rb") as source:
        os.posix_fadvise(source.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def warm(db_path: Path) -> None:
    """Read the database file once, so the page cache holds it (as on a box whose memory holds its library)."""
    with open(db_path, "rb") as source:
        while source.read(8 << 20):
            pass


class InProcessServer:
    """The server inside this process and event loop: the client's work shares the server's core and lock (a
    real phone or frame is another machine), but the month cache can be looked into."""

    name = "in-process"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.services = build_services(Settings(data_dir=data_dir, mdns=False, jobs_enabled=False))
        self.base = ""
        self.runner: web.AppRunner | None = None
        self.cache_bytes = 0

    async def start(self) -> None:
        self.runner = web.AppRunner(create_app(self.services), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}/api"
        self.cache_bytes = self.timeline.cache.max_bytes if hasattr(self.timeline, "cache") else 0

    @property
    def timeline(self) -> Any:
        return self.services.browse.timeline  # type: ignore[attr-defined]

    def has_cache(self) -> bool:
        return hasattr(self.timeline, "cache")

    async def month_cache(self, on: bool) -> None:
        """Off: every month is built from the database, as the first time it is seen after a change to it.
        On: months seen before come from memory while nothing in them changed."""
        self.timeline.cache = type(self.timeline.cache)(self.cache_bytes if on else 0)

    def cache_report(self, months: int) -> str | None:
        cache = self.timeline.cache
        kept = cache._items
        held = sum(getattr(body, "kept_bytes", None) or len(body) for _, body in kept.values())
        return (f"{len(kept)} of {months} months kept ({held / 2**20:.1f} of {cache.max_bytes / 2**20:.0f} MB);"
                f" the others were built again")

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


class ProcessServer:
    """`shoebox serve` as its own process, as a box runs it: the client (this process) has its own interpreter,
    as phones and frames do. The month cache is switched by the server's setting (SHOEBOX_TIMELINE_CACHE_BYTES),
    so switching it starts the server again."""

    name = "own process"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.base = ""
        self.cache_on: bool | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - the server's output, kept while it runs

    async def start(self, cache_on: bool = True) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {**os.environ, "SHOEBOX_JOBS_ENABLED": "false", "SHOEBOX_IMPORT_AUTO": "false",
               "SHOEBOX_TRASH_DAYS": "100000",  # the kept library's trash stays, whatever today's date
               "PYTHONPATH": str(ROOT)}
        if not cache_on:
            env["SHOEBOX_TIMELINE_CACHE_BYTES"] = "0"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "appliance", "serve", "--data-dir", str(self.data_dir), "--host", "127.0.0.1",
             "--port", str(port), "--no-mdns", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=self.log, stderr=self.log)
        self.base = f"http://127.0.0.1:{port}/api"
        self.cache_on = cache_on
        async with aiohttp.ClientSession() as session:
            for _ in range(1200):
                if self.process.poll() is not None:
                    self.log.seek(0)
                    raise RuntimeError("the server stopped: " + self.log.read()[-2000:].decode(errors="replace"))
                try:
                    async with session.get(self.base + "/server/ping") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the server did not answer")
        # its start-up housekeeping (hardware probe, memories, the place database after 5 s) done first
        await asyncio.sleep(SETTLE_SECONDS)

    def has_cache(self) -> bool:
        return True

    async def month_cache(self, on: bool) -> None:
        if on != self.cache_on:
            await self.stop()
            await self.start(on)

    def cache_report(self, months: int) -> str | None:
        return None

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(self.process.wait, 60)
        self.process = None


async def measure(data_dir: Path, rounds: int, server: InProcessServer | ProcessServer
                  ) -> dict[str, tuple[float, float]]:
    await server.start()
    try:
        return await measure_started(data_dir, rounds, server)
    finally:  # a failed request must not leave a `shoebox serve` behind
        await server.stop()


async def measure_started(data_dir: Path, rounds: int, server: InProcessServer | ProcessServer
                          ) -> dict[str, tuple[float, float]]:
    # as the web and mobile apps, the client asks for gzip (aiohttp's default, written out)
    headers = {"x-api-key": SECRET + "alice", "Accept-Encoding": "gzip, deflate"}
    results: dict[str, tuple[float, float]] = {}
    rng = random.Random(1)
    # the body is read as it comes off the wire: the client's own gunzip and JSON parsing are not the server's
    async with aiohttp.ClientSession(headers=headers, auto_decompress=False) as session:
        async def timed(method: str, path: str, **kwargs: object) -> tuple[float, bytes]:
            """Milliseconds from sending the request to the last byte of the body, and the body (unzipped)."""
            began = time.perf_counter()
            async with session.request(method, server.base + path, **kwargs) as response:  # type: ignore[arg-type]
                body = await response.read()
                elapsed = (time.perf_counter() - began) * 1000
                assert response.status == 200, body[:200]
                if response.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
            return elapsed, body

        buckets = json.loads((await timed("GET", "/timeline/buckets", params={"visibility": "timeline"}))[1])
        months = [b["timeBucket"] for b in buckets]
        biggest = [b["timeBucket"] for b in sorted(buckets, key=lambda b: -b["count"])[:6]]

        cases = {
            "GET /timeline/buckets": (None, lambda: timed(
                "GET", "/timeline/buckets", params={"visibility": "timeline"})),
            "GET /timeline/buckets?withPartners&withStacked": (None, lambda: timed(
                "GET", "/timeline/buckets", params={"visibility": "timeline", "withStacked": "true",
                                                    "withPartners": "true"})),
            "GET /timeline/bucket (any month, built)": (False, lambda: timed(
                "GET", "/timeline/bucket", params={"visibility": "timeline", "timeBucket": rng.choice(months)})),
            "GET /timeline/bucket (6 biggest months, built)": (False, lambda: timed(
                "GET", "/timeline/bucket", params={"visibility": "timeline", "timeBucket": rng.choice(biggest)})),
            "GET /timeline/bucket (any month, seen before)": (True, lambda: timed(
                "GET", "/timeline/bucket", params={"visibility": "timeline", "timeBucket": rng.choice(months)})),
            "GET /timeline/bucket (6 biggest months, seen before)": (True, lambda: timed(
                "GET", "/timeline/bucket", params={"visibility": "timeline", "timeBucket": rng.choice(biggest)})),
            "POST /search/metadata (page 1, 250)": (None, lambda: timed(
                "POST", "/search/metadata", json={"size": 250})),
            "POST /search/metadata (favourites, 100)": (None, lambda: timed(
                "POST", "/search/metadata", json={"size": 100, "isFavorite": True})),
            "POST /search/metadata (city, 100)": (None, lambda: timed(
                "POST", "/search/metadata", json={"size": 100, "city": "Lyon"})),
        }
        for name, (cached, call) in cases.items():
            if name.startswith("GET /timeline/bucket (any month, built)"):
                print(f"  {server.name}: before the month cases: {resident(data_dir / 'shoebox.db')}")
            if cached is not None:
                if not server.has_cache():  # an older Shoebox, for a before/after comparison
                    if cached:
                        continue
                else:
                    await server.month_cache(cached)
            if cached:  # every month seen once, as by a scroll through the whole timeline
                for month in months:
                    await timed("GET", "/timeline/bucket", params={"visibility": "timeline", "timeBucket": month})
            for _ in range(5):
                await call()  # warm the page cache
            samples = [(await call())[0] for _ in range(rounds)]
            results[name] = percentiles(samples)
            report = server.cache_report(len(months)) if cached and "any month" in name else None
            if report:
                print(f"  {server.name}: month cache after '{name}': {report}")
        sizes = []
        for m in biggest:
            async with session.get(server.base + "/timeline/bucket",
                                   params={"visibility": "timeline", "timeBucket": m}) as r:
                sent = await r.read()
                body = gzip.decompress(sent) if r.headers.get("Content-Encoding") == "gzip" else sent
                wire = len(sent)
            sizes.append(f"{len(json.loads(body)['id'])} ({len(body) // 1024} KB, {wire // 1024} KB sent)")
        if isinstance(server, InProcessServer):
            print(f"  alice: {sum(b['count'] for b in buckets):,} timeline assets in {len(months)} months;"
                  f" the 6 biggest buckets hold {', '.join(sizes)}")
            await print_plans(server.services, months[0])
    return results


async def print_plans(services: object, month: str) -> None:
    """EXPLAIN QUERY PLAN of the SQL the measured requests run, built by the same repository code."""
    from appliance.storage.assets import AssetQuery, build_where

    svc = services  # type: ignore[assignment]
    repo = svc.browse.timeline.repo  # type: ignore[attr-defined]
    assets = svc.search.assets  # type: ignore[attr-defined]
    owner = await svc.db.fetchval("SELECT id FROM users WHERE name = 'alice'")  # type: ignore[attr-defined]
    f = TimelineFilter(owner_ids=[owner], visibility="timeline")
    plans = [("buckets", repo.buckets_sql(f)), ("bucket", repo.bucket_sql(f, month))]
    if hasattr(repo, "bucket_json_sql"):
        plans.append(("bucket as JSON", repo.bucket_json_sql(f, month, owner)))
    searches = (("search page", AssetQuery(owner_ids=[owner]), 251),
                ("search favourites", AssetQuery(owner_ids=[owner], is_favorite=True), 101),
                ("search city", AssetQuery(owner_ids=[owner], city="Lyon"), 101))
    for title, query, limit in searches:
        if hasattr(assets, "search_sql"):
            plans.append((title, assets.search_sql(query, limit=limit, with_exif=True)))
        else:  # an older Shoebox, for a before/after comparison (Lyon is a common city: its `+e.city` walk)
            where, params, join_exif = build_where(query)
            where = where.replace("e.city = ?", "+e.city = ?")
            join = " LEFT JOIN asset_exif e ON e.asset_id = a.id" if join_exif else ""
            plans.append((title, (f"SELECT a.* FROM assets a{join} WHERE {where}"
                                  f" ORDER BY a.file_created_at DESC, a.id DESC LIMIT {limit}", params)))
    for title, (sql, params) in plans:
        print(f"  plan {title}: " + " | ".join(await repo.explain(sql, params)))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warm", action="store_true",
                        help="read the database into the page cache first: months come from memory, not the disk")
    parser.add_argument("--cold", action="store_true",
                        help="drop the database file's pages from the page cache first (only that file's)")
    parser.add_argument("--server", choices=["both", "process", "inprocess"], default="both",
                        help="the server as its own `shoebox serve` process (as a box runs it, the goal's figures),"
                             " inside this process (the client shares its interpreter), or both, side by side")
    parser.add_argument("--keep", type=Path, help="keep each generated library in KEEP/<size> and reuse it next time")
    args = parser.parse_args()
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="shoebox-bench-") as scratch:
            folder = args.keep / str(size) if args.keep else Path(scratch)
            print(f"\n== {size:,} assets", flush=True)
            if stale(folder / "shoebox.db"):
                print("  a library kept by an older version of this bench (ANALYZE statistics, EXIF on a third of"
                      " the assets): generating it again")
                for leftover in folder.glob("shoebox.db*"):
                    leftover.unlink()
            if not (folder / "shoebox.db").exists():
                await generate(folder, size)
            kinds = {"process": [ProcessServer], "inprocess": [InProcessServer],
                     "both": [ProcessServer, InProcessServer]}[args.server]
            table: dict[str, list[tuple[float, float] | None]] = {}
            for index, kind in enumerate(kinds):
                if args.warm:
                    warm(folder / "shoebox.db")
                elif args.cold:
                    cold(folder / "shoebox.db")
                server = kind(folder)
                for name, figures in (await measure(folder, args.rounds, server)).items():
                    table.setdefault(name, [None] * len(kinds))[index] = figures
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            print(f"  SQLite {sqlite3.sqlite_version}, load average {load} ({os.cpu_count()} CPUs)")
            heads = "".join(f" {kind.name + ' p50':>18s} {'p95 ms':>8s}" for kind in kinds)
            print(f"  {'request':50s}{heads}")
            for name, row in table.items():
                cells = "".join(f" {'-':>18s} {'-':>8s}" if fig is None else f" {fig[0]:18.2f} {fig[1]:8.2f}"
                                for fig in row)
                over = [kind.name for kind, fig in zip(kinds, row, strict=True) if fig is not None and fig[1] >= 25]
                flag = f"  (over the 25 ms goal: {', '.join(over)})" if over else ""
                print(f"  {name:50s}{cells}{flag}")


if __name__ == "__main__":
    asyncio.run(main())
