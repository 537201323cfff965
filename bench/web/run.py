"""Web app benchmark: time to first thumbnails on the timeline, and bytes before thumbnails, in headless Chromium.

One command:  .venv/bin/python bench/web/run.py [--assets 10000] [--runs 5] [--workdir DIR]

It starts a real `shoebox serve`, signs up an admin, stops it, writes N assets straight into SQLite (dates
spread over the last years, each with a thumbhash and a small real WebP thumbnail on disk, made from the
shared test photos), starts the server again, and then for each run opens /photos in a fresh (cold-cache)
Chromium context that is already signed in and records:
  - first thumbnail: ms from navigation start until the first thumbnail image has loaded
  - screen full:     ms until every cell in the first viewport shows its thumbnail
  - bytes before thumbnails: every byte on the wire for the first screen (HTML, JS, CSS, API JSON) except the
    thumbnail images themselves, and separately the thumbnails' bytes
  - cells in the DOM (virtualisation: stays ~ one screen whatever N is)
Goals (issue 8): first thumbnails < 1 s, bytes before thumbnails < 300 KB.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.server_process import ServerProcess  # noqa: E402

CHROMIUM = os.environ.get("SHOEBOX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
PHOTOS = [REPO.parent / "shared" / "testdata" / "immich-test-assets",
          REPO.parent.parent / "shared" / "testdata" / "immich-test-assets"]
EMAIL, PASSWORD = "bench@example.com", "bench-password"
VARIANTS = 64


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def make_thumbnails(folder: Path) -> list[tuple[Path, bytes, int, int]]:
    """VARIANTS small WebP thumbnails (250 px short side, like Immich's) with their thumbhashes."""
    import thumbhash
    from PIL import Image

    source_dir = next((p for p in PHOTOS if p.is_dir()), None)
    sources = sorted(source_dir.rglob("*.jp*g")) if source_dir else []
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    rng = random.Random(7)
    loaded = {}
    for index in range(VARIANTS):
        if sources:
            source = sources[index % len(sources)]
            if source not in loaded:
                with Image.open(source) as original:
                    original.draft("RGB", (800, 800))  # decode big JPEGs at a fraction of their size
                    loaded[source] = original.convert("RGB")
                    loaded[source].thumbnail((800, 800))
            image = loaded[source]
            w, h = image.size
            crop = rng.uniform(0.55, 1.0)
            cw, ch = int(w * crop), int(h * crop)
            x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
            image = image.crop((x, y, x + cw, y + ch))
        else:
            image = Image.effect_noise((400, 300), 60).convert("RGB")
        scale = 250 / min(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
        path = folder / f"variant-{index:03d}.webp"
        image.save(path, "WEBP", quality=80)
        small = image.copy()
        small.thumbnail((48, 48))  # the pure-Python encoder is slow; a thumbhash holds little more anyway
        hashed = thumbhash.image_to_thumbhash(small.convert("RGBA"))
        import base64

        out.append((path, base64.b64decode(hashed), image.width, image.height))
    return out


def fill(database: Path, data_dir: Path, owner_id: str, count: int) -> None:
    variants = make_thumbnails(data_dir / "bench-variants")
    rng = random.Random(42)
    now = datetime.now(UTC)
    start = now - timedelta(days=365 * 6)
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA journal_mode=WAL")
    thumbs_dir = data_dir / "thumbs" / owner_id
    thumbs_dir.mkdir(parents=True, exist_ok=True)
    assets, files = [], []
    stamps = sorted((start + timedelta(seconds=rng.uniform(0, (now - start).total_seconds())) for _ in range(count)),
                    reverse=True)
    for index, taken in enumerate(stamps):
        asset_id = str(uuid.uuid4())
        path, hashed, width, height = variants[index % VARIANTS]
        thumb = thumbs_dir / f"{asset_id}-thumbnail.webp"
        os.link(path, thumb)  # a real file per asset, without 10k copies on disk
        checksum = uuid.uuid4().bytes + uuid.uuid4().bytes[:4]
        stamp = iso(taken)
        assets.append((asset_id, owner_id, "IMAGE", f"upload/{owner_id}/{asset_id}.jpg", f"IMG_{index:05d}.jpg",
                       "image/jpeg", checksum, 2_500_000, stamp, stamp, stamp, stamp, stamp, width, height, hashed,
                       str(uuid.uuid4())))
        files.append((asset_id, "thumbnail", str(thumb.relative_to(data_dir)), stamp))
    with conn:
        conn.executemany(
            "INSERT INTO assets (id, owner_id, type, original_path, original_file_name, original_mime_type, checksum,"
            " file_size, file_created_at, file_modified_at, local_date_time, created_at, updated_at, width, height,"
            " thumbhash, update_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", assets)
        conn.executemany("INSERT INTO asset_files (asset_id, kind, path, created_at) VALUES (?,?,?,?)", files)
    conn.execute("ANALYZE")
    conn.close()


def measure(browser, url: str, screenshot: Path | None = None) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=url)
    page = context.new_page()
    response = page.request.post("/api/auth/login", data={"email": EMAIL, "password": PASSWORD})
    assert response.ok, response.text()
    page.goto("/photos")
    page.wait_for_function("() => window.__shoebox && window.__shoebox.perf.firstThumbnailAt", timeout=30_000)
    page.wait_for_function(
        """() => {
            const view = document.querySelector('.grid-scroll').getBoundingClientRect();
            const cells = [...document.querySelectorAll('.cell')].filter((c) => {
                const r = c.getBoundingClientRect();
                return r.bottom > view.top && r.top < view.bottom;
            });
            if (!cells.length || !cells.every((c) => c.querySelector('img.loaded'))) return false;
            window.__screenFull = window.__screenFull || performance.now();
            return true;
        }""", timeout=30_000, polling=16)
    figures = page.evaluate(
        """() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const resources = performance.getEntriesByType('resource');
            const thumbs = resources.filter((r) => r.name.includes('/thumbnail'));
            const other = resources.filter((r) => !r.name.includes('/thumbnail'));
            const size = (list) => list.reduce((n, r) => n + (r.transferSize || 0), 0);
            return {
                firstThumbnail: window.__shoebox.perf.firstThumbnailAt,
                screenFull: window.__screenFull,
                bytesBeforeThumbnails: nav.transferSize + size(other),
                thumbnailBytes: size(thumbs),
                thumbnails: thumbs.length,
                requestsBeforeThumbnails: 1 + other.length,
                cellsInDom: document.querySelectorAll('.cell').length,
                timelineApi: other.some((r) => r.name.includes('/search/metadata')) ? 0 : 1,
            };
        }""")
    if screenshot:
        page.wait_for_timeout(400)
        page.screenshot(path=str(screenshot))
    context.close()
    return figures


def scroll(browser, url: str) -> dict[str, float]:
    """Fling through the timeline one screen per frame, then jump to the middle with the scrubber."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=url)
    page = context.new_page()
    page.request.post("/api/auth/login", data={"email": EMAIL, "password": PASSWORD})
    page.goto("/photos")
    page.wait_for_function("() => document.querySelectorAll('.cell img.loaded').length > 5", timeout=30_000)
    figures = page.evaluate(
        """async () => {
            const scroller = document.querySelector('.grid-scroll');
            const gentle = [];
            let before = performance.now();
            for (let i = 0; i < 180; i++) {
                scroller.scrollTop += 80;
                await new Promise((r) => requestAnimationFrame(r));
                const now = performance.now();
                gentle.push(now - before);
                before = now;
            }
            gentle.sort((a, b) => a - b);
            const frames = [];
            let maxCells = 0;
            let last = performance.now();
            for (let i = 0; i < 240; i++) {
                scroller.scrollTop += scroller.clientHeight;
                await new Promise((r) => requestAnimationFrame(r));
                const now = performance.now();
                frames.push(now - last);
                last = now;
                maxCells = Math.max(maxCells, document.querySelectorAll('.cell').length);
            }
            frames.sort((a, b) => a - b);
            const ticks = document.querySelectorAll('.scrubber .tick');
            const middle = ticks[Math.floor(ticks.length / 2)];
            const started = performance.now();
            middle.click();
            const key = middle.dataset.key;
            while (performance.now() - started < 20000) {
                await new Promise((r) => requestAnimationFrame(r));
                const view = scroller.getBoundingClientRect();
                const shown = [...document.querySelectorAll('.cell img.loaded')].some((img) => {
                    const r = img.getBoundingClientRect();
                    return r.top >= view.top && r.top < view.bottom;
                });
                if (shown) break;
            }
            return {
                p50: frames[Math.floor(frames.length * 0.5)], p95: frames[Math.floor(frames.length * 0.95)],
                gentle50: gentle[Math.floor(gentle.length * 0.5)], gentle95: gentle[Math.floor(gentle.length * 0.95)],
                maxCells, jump: performance.now() - started, months: ticks.length, key,
            };
        }""")
    context.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None, help="reused if it already holds a library")
    parser.add_argument("--screenshot", type=Path, default=None, help="save the first screen of the last run here")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="shoebox-web-bench-"))
    data_dir = workdir / "data"
    if (data_dir / "shoebox.db").exists():
        with sqlite3.connect(data_dir / "shoebox.db") as conn:
            args.assets = conn.execute("SELECT count(*) FROM assets").fetchone()[0]
        print(f"reusing the library of {args.assets} assets in {workdir}")
        run_browser(args, data_dir)
        return
    server = ServerProcess(data_dir).start()
    server.request("POST", "/api/auth/admin-sign-up", {"email": EMAIL, "name": "Bench", "password": PASSWORD})
    _, login = server.request("POST", "/api/auth/login", {"email": EMAIL, "password": PASSWORD})
    server.request("PUT", "/api/appliance/settings", {"setupCompleted": True},
                   {"Authorization": f"Bearer {login['accessToken']}"})
    owner_id = login["userId"]
    server.stop()
    started = time.perf_counter()
    fill(data_dir / "shoebox.db", data_dir, owner_id, args.assets)
    print(f"filled {args.assets} assets with thumbnails in {time.perf_counter() - started:.1f} s ({workdir})")
    run_browser(args, data_dir)


def run_browser(args: argparse.Namespace, data_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    server = ServerProcess(data_dir).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            measure(browser, server.url)  # warm the server's caches and the SQLite pages once
            runs = [measure(browser, server.url, args.screenshot if i == args.runs - 1 else None)
                    for i in range(args.runs)]
            flung = scroll(browser, server.url)
            browser.close()
    finally:
        server.stop()

    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    source = "/timeline/buckets + /timeline/bucket" if runs[0]["timelineApi"] else "/search/metadata paging (fallback)"
    print(f"\nShoebox web app, {args.assets} assets, {args.runs} cold-cache runs, 1280x800, data from {source}")
    print(f"  first thumbnail          {median('firstThumbnail'):7.0f} ms   (goal < 1000 ms)  "
          f"runs: {', '.join(str(round(r['firstThumbnail'])) for r in runs)}")
    print(f"  first screen full        {median('screenFull'):7.0f} ms")
    print(f"  bytes before thumbnails  {median('bytesBeforeThumbnails') / 1024:7.1f} KB   (goal < 300 KB) "
          f"in {median('requestsBeforeThumbnails'):.0f} requests")
    print(f"  thumbnail bytes          {median('thumbnailBytes') / 1024:7.1f} KB   "
          f"for {median('thumbnails'):.0f} thumbnails")
    print(f"  cells in the DOM         {median('cellsInDom'):7.0f}      (of {args.assets})")
    print(f"  scroll, 80 px a frame    p50 {flung['gentle50']:.0f} ms, p95 {flung['gentle95']:.0f} ms "
          "per frame over 180 frames")
    print(f"  fling, a screen a frame  p50 {flung['p50']:.0f} ms, p95 {flung['p95']:.0f} ms per frame over 240 frames; "
          f"at most {flung['maxCells']} cells in the DOM")
    print(f"  scrubber jump            {flung['jump']:7.0f} ms   to thumbnails of {flung['key']} "
          f"(the middle of {flung['months']} months)")


if __name__ == "__main__":
    main()
