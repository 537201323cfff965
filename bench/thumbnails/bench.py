"""Thumbnail + preview generation, Shoebox vs sharp, side by side, on 1 and 2 cores; medians of N runs.

Both produce, per image: a 1440 px JPEG q80 (4:4:4), a 250 px WebP q80 (shorter edge, never upscaled,
EXIF-rotated) and a thumbhash. Peak RSS is the highest sum over the process tree, sampled every 20 ms."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pyvips

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ASSETS = next(
    (p / "shared/testdata/immich-test-assets" for p in (ROOT.parent, ROOT.parent.parent)
     if (p / "shared/testdata/immich-test-assets").is_dir()),
    None,
)
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
# Formats sharp's prebuilt libvips can read (its libheif has no HEVC decoder, and no JXL): the common corpus.
COMMON = (".jpg", ".jpeg", ".png", ".webp", ".avif")
SHARP_CANNOT = {"10bit-HDR-P3-nclx.avif"}  # "Bitstream not supported by this decoder" in sharp's libheif


def corpus(workdir: Path) -> list[str]:
    files = sorted(
        str(p) for p in ASSETS.rglob("*") if p.suffix.lower() in COMMON and p.name not in SHARP_CANNOT
    ) if ASSETS else []
    base = pyvips.Image.new_from_file(files[0]) if files else pyvips.Image.xyz(512, 512)[0].cast("uchar")
    source = ASSETS / "albums/text/craft-beer.jpg" if ASSETS else None
    if source and source.is_file():
        base = pyvips.Image.new_from_file(str(source))
    for label, (w, h), count in (("12mp", (4000, 3000), 3), ("24mp", (6000, 4000), 3)):
        for i in range(count):
            path = workdir / f"generated-{label}-{i}.jpg"
            image = base.resize(w / base.width, vscale=h / base.height)
            image = image.rot90() if i == 1 else image  # one portrait each
            image.jpegsave(str(path), Q=90)
            files.append(str(path))
    return files


def measure(command: list[str], env: dict[str, str]) -> tuple[float, int, dict[str, object]]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            root = psutil.Process(process.pid)
        except psutil.Error:
            return
        while not stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, err = process.communicate()
    stop.set()
    thread.join()
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {err[-2000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    if err.strip():
        result["stderr"] = err.strip().splitlines()[-3:]
    return float(result["seconds"]), peak, result


def main() -> None:
    if not (HERE / "node_modules/sharp").is_dir():
        print("installing sharp from npm into bench/thumbnails/node_modules ...", flush=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = corpus(work)
        pixels = sum(pyvips.Image.new_from_file(f).width * pyvips.Image.new_from_file(f).height for f in files)
        print(f"corpus: {len(files)} images, {pixels / 1e6:.0f} MP in total; {RUNS} runs per side, median")
        rows = []
        for cores in (1, 2):
            pin = ["taskset", "-c", ",".join(str(c) for c in range(cores))]
            sides = {
                "shoebox": [*pin, sys.executable, str(HERE / "ours.py"), str(work / "o"), str(cores), *files],
                "sharp": [*pin, "node", str(HERE / "sharp_side.mjs"), str(work / "s"), "3", *files],
            }
            results: dict[str, list[tuple[float, int]]] = {"shoebox": [], "sharp": []}
            for _ in range(RUNS):
                for side, command in sides.items():  # interleaved, so background load hits both alike
                    out = work / ("o" if side == "shoebox" else "s")
                    shutil.rmtree(out, ignore_errors=True)
                    out.mkdir()
                    seconds, peak, raw = measure(command, env)
                    if raw.get("failed"):
                        print(f"  {side}: {raw['failed']} failures {raw.get('stderr')}")
                    results[side].append((seconds, peak))
            med = {s: (statistics.median(t for t, _ in r), max(p for _, p in r)) for s, r in results.items()}
            ratio = med["sharp"][0] / med["shoebox"][0]
            rows.append((cores, med, ratio))
            for side in ("shoebox", "sharp"):
                seconds, peak = med[side]
                print(
                    f"{cores} core(s)  {side:8s} {seconds:6.2f} s  {len(files) / seconds:5.2f} img/s"
                    f"  {pixels / 1e6 / seconds:6.1f} MP/s  peak RSS {peak / 2**20:5.0f} MiB"
                    f"  runs: {', '.join(f'{t:.2f}' for t, _ in results[side])}"
                )
            print(f"{cores} core(s)  throughput ratio shoebox/sharp = {ratio:.2f}x (goal >= 1.3x)")
        print(json.dumps({"cores": {c: round(r, 2) for c, _, r in rows}}))


if __name__ == "__main__":
    main()
