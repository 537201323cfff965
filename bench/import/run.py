"""Import benchmark: `shoebox import FOLDER` versus `cp -r FOLDER` + `sync` of the same tree on the same disk.

One command:  /work/main/.venv/bin/python bench/import/run.py [--megabytes 600 2000] [--rounds 5] [--workdir DIR]
                  [--baseline OTHER_CHECKOUT] [--cache hot|cold|both]

Two tree sizes by default: 600 MB, where the import's fixed start-up (Python, its modules, the database:
~0.1 s before the first byte is copied, ~0.2 s of CPU) weighs as much as a tenth of cp's whole time, and
2000 MB, a card's worth, where the throughput of the copying itself decides.

It builds a camera-card-like tree (the shared test photos replicated with unique bytes, generated
"photos" of 3-8 MB and a few "videos" of 40-90 MB, with sidecars and a live-photo pair), then, in one run
and alternating rounds, times:
  1. cp -r tree + sync                                  (the disk's own ceiling)
  2. shoebox import tree (a separate process, as a user runs it) + sync
Each import goes into a fresh data folder, so every file is really copied, hashed, fsynced and committed.
What each side includes (printed with the figures):
  cp -r + sync     cp's process, its copy (coreutils copies in the kernel, copy_file_range), then `sync`
                   until every byte is on the disk;
  shoebox import   the process start (Python, imports), the walk, copying and SHA-1 of every byte, the
                   library's durability (a filesystem sync before each group of assets becomes visible),
                   the database transactions, the album, then the same `sync`.
Each contender's `appliance` package is copied into the bench folder and byte-compiled first, as an
installed package is (pip compiles on install; a server writes its own __pycache__): without that, a
PYTHONDONTWRITEBYTECODE environment would make every run compile the whole package from source. It runs
as installed, without the editable-install import hook of this checkout's venv (see `installed_env`).
It prints MB/s, the ratio to cp (goal ≥ 0.9), the peak RSS of the import with its copy process (sampled;
the sum of both, shared pages counted twice) and the CPU seconds each side's processes used (least of the
rounds; cp's `sync` waits in the kernel), best and median of the rounds, and the load average before and
after (the figures mean little on a busy machine).
`--baseline DIR` also times `shoebox import` from another checkout (e.g. main) in the same rounds, for a
before/after in one run.
On a VM whose balloon hands freed memory back to its host (this workplace's), the run pauses that for its
duration and says so (`bench/host.py`: which contender drew host-faulted pages was chance, and swung the
figures by tens of percent). It also pauses the VM's proactive reclaim (DAMON pageout), which drained the
"hot" tree out of the page cache while the rounds read it. `--host-memory-as-is` leaves both on.

Two cache states, both by default (`--cache hot|cold|both`):
  hot   the tree is in the page cache (every file is read just before each timed run): copying is pure
        CPU, the hardest case for an importer that must also hash every byte;
  cold  the page cache is dropped before every timed run (`/proc/sys/vm/drop_caches`, needs root), so the
        bytes come from the disk as they do from a card or USB drive.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.host import machine_held  # noqa: E402 - after the path is set

SHARED_PHOTOS = REPO.parent / "shared" / "testdata" / "immich-test-assets"
if not SHARED_PHOTOS.is_dir():
    SHARED_PHOTOS = Path("/work/shared/testdata/immich-test-assets")
MB = 1_000_000


def _unique(data: bytes, tag: int) -> bytes:
    """The same image with different trailing bytes (after the JPEG end marker readers ignore them)."""
    return data + b"SHOEBOX-BENCH" + tag.to_bytes(8, "big")


def build_tree(root: Path, total: int, seed: int = 7) -> tuple[int, int]:
    rng = random.Random(seed)
    noise = os.urandom(16 * 1024 * 1024)
    size = count = 0

    def put(path: Path, data: bytes) -> None:
        nonlocal size, count
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        size += len(data)
        count += 1

    photos = [p for p in SHARED_PHOTOS.rglob("*") if p.is_file() and p.suffix.lower() != ".md"]
    copies = 0
    for round_ in range(8):  # the shared photos, replicated (~17 MB each round)
        folder = root / "DCIM" / f"{100 + round_}SHARE"
        for photo in photos:
            put(folder / f"R{round_}_{photo.name}", _unique(photo.read_bytes(), copies))
            copies += 1
    folder_index, number = 200, 1
    while size < total:
        folder = root / "DCIM" / f"{folder_index}CANON"
        if number % 40 == 0:
            folder_index += 1
        if number % 25 == 0:  # a video now and then
            length = rng.randint(40, 90) * MB
            put(folder / f"MVI_{number:04d}.MP4", b"\x00\x00\x00\x18ftypmp42" + _fill(noise, length, number))
        else:
            length = rng.randint(3, 8) * MB
            put(folder / f"IMG_{number:04d}.JPG", b"\xff\xd8\xff\xe1" + _fill(noise, length, number))
            if number % 10 == 0:
                put(folder / f"IMG_{number:04d}.xmp", b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>" * 10)
        number += 1
    live = root / "DCIM" / "300APPLE"
    put(live / "IMG_9000.HEIC", b"\x00\x00\x00\x18ftypheic" + _fill(noise, 2 * MB, 9000))
    put(live / "IMG_9000.MOV", b"\x00\x00\x00\x14ftypqt  " + _fill(noise, 3 * MB, 9001))
    return size, count


def _fill(noise: bytes, length: int, tag: int) -> bytes:
    head = tag.to_bytes(8, "big")
    out = bytearray(head)
    offset = tag * 4099 % len(noise)
    while len(out) < length:
        piece = noise[offset : offset + length - len(out)]
        out += piece
        offset = 0
    return bytes(out)


def install(checkout: Path, target: Path) -> Path:
    """A byte-compiled copy of the checkout's `appliance` package (what an installed package looks like)."""
    shutil.copytree(checkout / "appliance", target / "appliance",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(target / "appliance")], check=True,
                   stdout=subprocess.DEVNULL)
    return target


def installed_env(checkout: Path) -> dict[str, str]:
    """The environment of an installed Shoebox: the byte-compiled copy of its package, then the venv's
    libraries. Run with `python -S`: this venv holds Shoebox as an *editable* install, whose import hook
    (a .pth file that site runs at every start) costs ~20 ms and does not exist once `pip install .` has
    installed it; -S skips the .pth files, PYTHONPATH lists what site would have added."""
    import site

    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(checkout), *site.getsitepackages()])}


def creation_cost(folder: Path, count: int = 200) -> float:
    """CPU milliseconds to create one empty file in `folder` (then removed). Both contenders create a file
    per photo, and on this VM's disk that cost moved between 0.02 and 1 ms from one hour to the next (the
    kernel's inode allocator skipping inodes freed shortly before: 70% of its time in `recently_deleted`).
    At 0.4 ms, a 273-file tree's creations take 0.1 s of CPU; printed so runs can be compared."""
    probe = Path(tempfile.mkdtemp(prefix="creation-probe-", dir=folder))
    try:
        started = time.process_time()
        for number in range(count):
            os.close(os.open(probe / f"{number}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        return (time.process_time() - started) * 1000 / count
    finally:
        shutil.rmtree(probe)


def warm(tree: Path) -> None:
    """Read every file of the tree, so all of it is in the page cache (the "hot" state), then `sync`."""
    for path in sorted(tree.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb", buffering=0) as handle:
                while handle.read(1 << 20):
                    pass
    subprocess.run(["sync"], check=True)


def drop_caches() -> None:
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def can_drop_caches() -> bool:
    try:
        drop_caches()
    except OSError:
        return False
    return True


def _family(pid: int) -> list[int]:
    """The process and its descendants, from each process's parent in /proc/*/stat (this kernel has no
    /proc/PID/task/TID/children)."""
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            # a process that has just ended is skipped
            with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{name}/stat", "rb") as stat:
                parents[int(name)] = int(stat.read().rpartition(b")")[2].split()[1])
    family = [pid]
    for member in family:
        family.extend(child for child, parent in parents.items() if parent == member)
    return family


def _peak_rss(pid: int) -> int:
    """The process's own high-water mark of resident memory (VmHWM): the peak since it started, whenever
    we look, so sampling every 100 ms misses at most its last moments. 0 once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_timed(argv: list[str], env: dict[str, str] | None = None,
              cwd: Path | None = None) -> tuple[float, int, float]:
    """Wall time (including a `sync` after), the child's peak RSS in bytes with its own children's, and the
    CPU seconds of the child and its children (user + system, all threads: on a busy machine the wall time
    follows the CPU a side needs).

    This thread waits for the process itself, so its end is seen at once; a sampler thread reads each
    process's own high-water mark of memory (VmHWM) every 100 ms and sums it over the family (an upper
    bound: the two processes' peaks need not coincide). wait4's ru_maxrss would include the memory of this
    parent at fork time. The reads are cheap on purpose: polling with psutil every 20 ms used ~12% of a
    core, which a CPU-bound contender on a 2-core machine paid for. (Until this was split, the end was
    seen only at the next 100 ms sample: every time had up to 0.1 s added, which showed as two clusters.)"""
    import resource
    import threading

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    peaks: dict[int, int] = {}
    finished = threading.Event()

    def sample() -> None:
        while not finished.is_set():
            for pid in _family(process.pid):
                peaks[pid] = max(peaks.get(pid, 0), _peak_rss(pid))
            finished.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, errors = process.communicate()  # returns as the process ends (and reads what it says on stderr)
    ended = time.perf_counter()
    finished.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed: {errors.decode(errors='replace')}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    sync_started = time.perf_counter()  # after the sampler's last look, which is not the contender's time
    subprocess.run(["sync"], check=True)
    return ended - started + time.perf_counter() - sync_started, sum(peaks.values()), cpu


async def make_admin(data_dir: Path) -> None:
    from appliance.config import Settings
    from appliance.services import build_services

    services = build_services(Settings(data_dir=data_dir, import_auto=False))
    await services.db.open()
    await services.ingest.recover()
    await services.auth.sign_up_admin(email="bench@example.com", name="Bench", password="bench bench bench")
    await services.db.close()


def empty_copy(path: Path) -> None:
    """Truncate every file of a round's copy to nothing, leaving it in place until the run's folder is
    removed at the end.

    Removing each round's copies made every later creation of a file slow, for both contenders: on this
    VM's disk (ext4 without a journal) the kernel's inode allocator skips inodes freed in the last minute or
    more, and checking each one took 70% of its time; creating a file cost 0.25-0.75 ms of CPU by the end
    of a run, against 0.03 ms on a quiet disk (a journalled ext4, as on a Pi, never checks). Keeping the
    copies whole is no better on this VM: their page cache then holds memory the host has to hand over anew
    for every round (cp took 3.4 s instead of 0.8). A truncated file gives its memory and disk space back,
    and its inode stays in use. (The next timed run's `sync` writes what the truncation changed.)"""
    for folder, _, names in os.walk(path):
        for name in names:
            file = Path(folder, name)
            if file.is_file() and not file.is_symlink():
                os.truncate(file, 0)


def settle(base: Path, cheap_ms: float = 0.1, within: float = 150.0) -> str:
    """Wait (at most `within` seconds) until creating a file costs less than `cheap_ms` of CPU."""
    started = time.monotonic()
    while (cost := creation_cost(base)) >= cheap_ms and time.monotonic() - started < within:
        time.sleep(5)
    return (f"creating a file: {cost:.3f} ms of CPU each at the start of these rounds (waited"
            f" {time.monotonic() - started:.0f} s for it to be below {cheap_ms} ms)")


def measure(base: Path, tree: Path, total: int, contenders: list[tuple[str, Path]], rounds: int, *,
            cold: bool) -> tuple[float, float, int]:
    """Alternating rounds of cp and each contender, after one warm-up round that is not counted (the memory
    the copies will use, the interpreter's files); prints the table. Returns the first contender's ratios to
    cp (best, median) and its peak RSS."""
    prepare = drop_caches if cold else (lambda: warm(tree))
    block = base / f"{tree.name}-{'cold' if cold else 'hot'}"  # this block's copies, apart from other blocks'
    block.mkdir()
    times: dict[str, list[float]] = {"cp -r + sync": []}
    cpu: dict[str, list[float]] = {"cp -r + sync": []}
    rss: dict[str, list[int]] = {}
    library_files: set[int] = set()
    print(settle(base))
    for round_ in range(rounds + 1):
        counted = round_ > 0
        target = block / f"cp-{round_}"
        prepare()
        seconds, _, used = run_timed(["cp", "-r", str(tree), str(target)])
        if counted:
            times["cp -r + sync"].append(seconds)
            cpu["cp -r + sync"].append(used)
        empty_copy(target)
        line = [f"{f'round {round_}' if counted else 'warm-up (not counted)'}: cp -r + sync {seconds:.2f} s"
                f" (CPU {used:.2f} s)"]
        for number, (name, checkout) in enumerate(contenders):
            data_dir = block / f"data-{round_}-{number}"
            asyncio.run(make_admin(data_dir))
            prepare()
            env = installed_env(checkout)
            if cold:  # the card's bytes come cold from the disk, not Python's own modules (a server has them);
                # `import --help` would not load them: argparse answers before the command is imported
                subprocess.run([sys.executable, "-S", "-c", "import appliance.importer.command"], env=env,
                               cwd=checkout, stdout=subprocess.DEVNULL, check=True)
            # in the checkout: `python -m` puts the working folder first on the path
            seconds, peak, used = run_timed([sys.executable, "-S", "-m", "appliance", "import", str(tree),
                                             "--data-dir", str(data_dir)], env, cwd=checkout)
            if counted:
                times.setdefault(name, []).append(seconds)
                cpu.setdefault(name, []).append(used)
                rss.setdefault(name, []).append(peak)
            imported = sum(1 for p in (data_dir / "library").rglob("*") if p.is_file())
            library_files.add(imported)
            empty_copy(data_dir)
            line.append(f"{name.split(' +')[0]} {seconds:.2f} s (CPU {used:.2f} s, {imported} library files,"
                        f" {peak / 2**20:.0f} MiB)")
        print(", ".join(line))
    if len(library_files) != 1 or 0 in library_files:  # every import must have brought the whole tree
        raise SystemExit(f"the imports did not all bring the same files into the library: {library_files}")
    cp_best, cp_median = min(times["cp -r + sync"]), statistics.median(times["cp -r + sync"])
    print()
    print(f"{'':28}{'best s':>9}{'MB/s':>9}{'median s':>10}{'ratio best':>12}{'ratio median':>14}{'peak RSS':>10}"
          f"{'CPU s':>8}")
    for name, values in times.items():
        best, median = min(values), statistics.median(values)
        peak = f"{max(rss[name]) / 2**20:.0f} MiB" if name in rss else ""
        print(f"{name:28}{best:>9.2f}{total / MB / best:>9.1f}{median:>10.2f}{cp_best / best:>11.2f}x"
              f"{cp_median / median:>13.2f}x{peak:>10}{min(cpu[name]):>8.2f}")
    ours = times[contenders[0][0]]
    best_ratio, median_ratio = cp_best / min(ours), cp_median / statistics.median(ours)
    peak_rss = max(rss[contenders[0][0]])
    print(f"ratio (import / cp throughput): {best_ratio:.2f}x best of {rounds}, {median_ratio:.2f}x median"
          "   (goal >= 0.9x)")
    print(f"peak RSS of `shoebox import` (with its copy process): {peak_rss / 2**20:.0f} MiB")
    return best_ratio, median_ratio, peak_rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=int, nargs="+", default=[600, 2000],
                        help="tree sizes, each measured in turn (default: a short one and a card's worth)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workdir", type=Path, help="where to build (default: the temp folder; use the data disk)")
    parser.add_argument("--baseline", type=Path, help="another checkout whose `shoebox import` is timed too")
    parser.add_argument("--cache", choices=("hot", "cold", "both"), default="both")
    parser.add_argument("--host-memory-as-is", action="store_true",
                        help="leave a VM's free-page reporting and proactive reclaim on (see bench/host.py)")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="shoebox-import-bench-", dir=args.workdir))
    sources = [("shoebox import + sync", REPO)]
    if args.baseline:
        sources.append(("baseline import + sync", args.baseline.resolve()))
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(f"creating a file in {base.parent}: {creation_cost(base):.3f} ms of CPU each")
    with machine_held(not args.host_memory_as_is) as held:
        print("\n".join(held))
        return _run(args, base, sources)


def _run(args: argparse.Namespace, base: Path, sources: list[tuple[str, Path]]) -> int:
    summary: list[str] = []
    try:
        contenders = [(name, install(checkout, base / f"code-{number}")) for number, (name, checkout) in
                      enumerate(sources)]
        print("cp -r + sync: cp's copy of the tree, then sync until it is on the disk")
        print("shoebox import + sync: process start, walk, copy + SHA-1 of every byte, a filesystem sync before"
              " each group of assets becomes visible, the transactions and album, then the same sync")
        modes = ["hot", "cold"] if args.cache == "both" else [args.cache]
        if "cold" in modes and not can_drop_caches():
            print("cold rounds skipped: dropping the page cache needs root (/proc/sys/vm/drop_caches)")
            modes.remove("cold")
        for megabytes in args.megabytes:
            tree = base / f"card-{megabytes}"
            total, count = build_tree(tree, megabytes * MB)
            subprocess.run(["sync"], check=True)
            print(f"\ntree: {count} files, {total / MB:.0f} MB in {tree}")
            for mode in modes:
                where = "in the page cache (hot)" if mode == "hot" else "read from disk (cold)"
                print(f"\n== {total / MB:.0f} MB, source {where}")
                best, median, peak = measure(base, tree, total, contenders, args.rounds, cold=mode == "cold")
                summary.append(f"{total / MB:>7.0f} MB {mode:>5}: {best:.2f}x best, {median:.2f}x median of"
                               f" {args.rounds}, peak RSS {peak / 2**20:.0f} MiB")
            shutil.rmtree(tree)
        print("\nsummary, import / cp -r + sync throughput (goal >= 0.9x):")
        print("\n".join(summary))
        print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        print(f"creating a file in {base.parent}: {creation_cost(base):.3f} ms of CPU each")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0

if __name__ == "__main__":
    sys.exit(main())
