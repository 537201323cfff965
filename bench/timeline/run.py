"""Timeline and search latency at 100k and 1M synthetic assets.

    .venv/bin/python bench/timeline/run.py            # 100k and 1M
    .venv/bin/python bench/timeline/run.py --sizes 100000
    .venv/bin/python bench/timeline/run.py --keep /var/tmp/shoebox-bench   # generate once, measure again later

Assets are generated straight into SQLite through the real migrations (so the triggers and indexes are the
real ones): 3 users, dates spread over 15 years, an EXIF row for every asset (as ingest writes one), a third
with GPS and a place, some rotated, some favourites, archived and trashed. No ANALYZE: Shoebox never runs
it, so the plans measured are the plans a real box gets. A kept library is upgraded by the server's own
migrations when opened, as a box's is. Then a real Shoebox server on loopback answers
`GET /timeline/buckets`, `GET /timeline/bucket` (any month, and the six biggest: the worst case) and
`POST /search/metadata` for the biggest user; p50/p95 over many requests and the query plans of the SQL
those requests run are printed. Months are measured twice: "built" (from the database, as the first time a
month is seen after a change to it; the month cache is off) and "seen before" (every month asked for once
first, then served from the 16 MB month cache while nothing in it changed). The client asks for gzip, as
the web and mobile apps do; the time is to the last byte on the wire. Goal: p95 under 25 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from appliance.app import create_app  # noqa: E402
from appliance.config import Settings  # noqa: E402
from appliance.library.auth import hash_secret  # noqa: E402
from appliance.services import build_services  # noqa: E402
from appliance.storage.timeline import TimelineFilter  # noqa: E402

USERS = [("alice", 0.5), ("bob", 0.3), ("carol", 0.2)]
CITIES = [("Lyon", "France", 45.76, 4.83), ("Turin", "Italy", 45.07, 7.69), ("Leeds", "United Kingdom", 53.8, -1.55),
          ("Porto", "Portugal", 41.15, -8.61), ("Ghent", "Belgium", 51.05, 3.72)]
SECRET = "bench-api-key-"
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


def warm(db_path: Path) -> None:
    """Read the database file once, so the page cache holds it (as on a box whose memory holds its library)."""
    with open(db_path, "rb") as source:
        while source.read(8 << 20):
            pass


async def measure(data_dir: Path, rounds: int) -> dict[str, tuple[float, float]]:
    services = build_services(Settings(data_dir=data_dir, mdns=False, jobs_enabled=False))
    runner = web.AppRunner(create_app(services), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}/api"
    # as the web and mobile apps, the client asks for gzip (aiohttp's default, written out)
    headers = {"x-api-key": SECRET + "alice", "Accept-Encoding": "gzip, deflate"}
    results: dict[str, tuple[float, float]] = {}
    rng = random.Random(1)
    # the body is read as it comes off the wire: the client's own gunzip and JSON parsing are not the server's
    async with aiohttp.ClientSession(headers=headers, auto_decompress=False) as session:
        async def timed(method: str, path: str, **kwargs: object) -> tuple[float, bytes]:
            """Milliseconds from sending the request to the last byte of the body, and the body (unzipped)."""
            began = time.perf_counter()
            async with session.request(method, base + path, **kwargs) as response:  # type: ignore[arg-type]
                body = await response.read()
                elapsed = (time.perf_counter() - began) * 1000
                assert response.status == 200, body[:200]
                if response.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
            return elapsed, body

        buckets = json.loads((await timed("GET", "/timeline/buckets", params={"visibility": "timeline"}))[1])
        months = [b["timeBucket"] for b in buckets]
        biggest = [b["timeBucket"] for b in sorted(buckets, key=lambda b: -b["count"])[:6]]
        timeline = services.browse.timeline  # type: ignore[attr-defined]
        cache_bytes = timeline.cache.max_bytes if hasattr(timeline, "cache") else 0

        def month_cache(on: bool) -> None:
            """Off: every month is built from the database, as the first time it is seen after a change to
            its owner's assets. On: months seen before come from memory while nothing in them changed."""
            timeline.cache = type(timeline.cache)(cache_bytes if on else 0)

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
                print(f"  before the month cases: {resident(data_dir / 'shoebox.db')}")
            if cached is not None:
                if not hasattr(timeline, "cache"):  # an older Shoebox, for a before/after comparison
                    if cached:
                        continue
                else:
                    month_cache(cached)
            if cached:  # every month seen once, as by a scroll through the whole timeline
                for month in months:
                    await timed("GET", "/timeline/bucket", params={"visibility": "timeline", "timeBucket": month})
            for _ in range(5):
                await call()  # warm the page cache
            samples = [(await call())[0] for _ in range(rounds)]
            results[name] = percentiles(samples)
            if cached and "any month" in name:
                kept = timeline.cache._items
                print(f"  month cache after '{name}': {len(kept)} of {len(months)} months kept"
                      f" ({sum(len(body) for _, body in kept.values()) / 2**20:.1f} of"
                      f" {timeline.cache.max_bytes / 2**20:.0f} MB); the others were built again")
        sizes = []
        for m in biggest:
            async with session.get(base + "/timeline/bucket", params={"visibility": "timeline", "timeBucket": m}) as r:
                sent = await r.read()
                body = gzip.decompress(sent) if r.headers.get("Content-Encoding") == "gzip" else sent
                wire = len(sent)
            sizes.append(f"{len(json.loads(body)['id'])} ({len(body) // 1024} KB, {wire // 1024} KB sent)")
        print(f"  alice: {sum(b['count'] for b in buckets):,} timeline assets in {len(months)} months;"
              f" the 6 biggest buckets hold {', '.join(sizes)}")
    await print_plans(services, months[0])
    await runner.cleanup()
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
            if args.warm:
                warm(folder / "shoebox.db")
            results = await measure(folder, args.rounds)
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            print(f"  SQLite {sqlite3.sqlite_version}, load average {load} ({os.cpu_count()} CPUs)")
            print(f"  {'request':50s} {'p50 ms':>8s} {'p95 ms':>8s}")
            for name, (p50, p95) in results.items():
                flag = "" if p95 < 25 else "  (over the 25 ms goal)"
                print(f"  {name:50s} {p50:8.2f} {p95:8.2f}{flag}")


if __name__ == "__main__":
    asyncio.run(main())
