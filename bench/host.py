"""Holding the benchmark machine still: what a virtual machine's host does to memory, undone for a run.

On this workplace's VMs (Firecracker), the balloon device reports every freed block of memory to the host
at once (`/sys/module/page_reporting/parameters`: order 9, i.e. 2 MiB blocks, `min_free_ms` 0), and the
host takes it back. The next time the guest hands that memory out (a new page-cache page for a copied file,
a new process's heap), the host must fault it in again, and the kernel's memcpy into it runs several times
slower. Measured here: the same `copy_file_range` of a 1.86 GB file took 0.7 s of kernel time or 2.8-5.3 s,
depending on which pages the allocator happened to hand out; `cp` of it, 0.7 s or 2.2-7.7 s. Which
contender of a benchmark draws such pages is chance: it made benches of copying and ingesting swing by
tens of percent from run to run. A Pi, an N100 box or a NAS has no such host.

`host_memory_held()` stops the reporting for the run (it raises the reporting order past the largest block
the kernel has, so no free block qualifies) and puts the setting back afterwards. Needs root; where the
setting does not exist (bare metal, another hypervisor) it changes nothing. Either way it says what it did.

The same VMs also run DAMON with a `pageout` scheme (`/sys/kernel/mm/damon/admin/kdamonds`): page cache
that DAMON sees no access to for 12 aggregation intervals of 5 s is written out and dropped, up to 128 MB a
second. It does not see reads through read(2) or copy_file_range(2), so a benchmark's "hot" source tree
drains out of the cache while it is being used (measured: 27 MB of a 608 MB tree gone 45 s after it was
last read, 36 MB after 75 s), and so may Python's own modules. Whichever contender then meets those pages
reads them from the disk: in one import, its copy threads waited 140 ms for them. `reclaim_held()` stops
such kdamonds for the run and starts them again afterwards (their settings stay in sysfs). `machine_held()`
does both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

REPORTING_ORDER = Path("/sys/module/page_reporting/parameters/page_reporting_order")
BUDDYINFO = Path("/proc/buddyinfo")
KDAMONDS = Path("/sys/kernel/mm/damon/admin/kdamonds")


def _block_orders(buddyinfo: str) -> int:
    """How many block sizes (orders) the kernel's allocator has: the counts on each line of /proc/buddyinfo."""
    counts = [len(line.split()) - 4 for line in buddyinfo.splitlines() if line.startswith("Node")]
    return max(counts, default=11)


@contextlib.contextmanager
def host_memory_held(enabled: bool = True, setting: Path = REPORTING_ORDER,
                     buddyinfo: Path = BUDDYINFO) -> Iterator[str]:
    """Free-page reporting paused while the block runs; yields one line saying what was done."""
    if not enabled:
        yield "free-page reporting to the VM's host: left as it is (--host-memory-as-is)"
        return
    try:
        before = setting.read_text().strip()
    except OSError:
        yield "free-page reporting to a VM host: none here"
        return
    past_largest = str(_block_orders(buddyinfo.read_text()))
    try:
        setting.write_text(past_largest + "\n")
    except OSError as err:
        yield f"free-page reporting to the VM's host: on, could not pause it ({err.strerror}; needs root)"
        return
    try:
        yield (f"free-page reporting to the VM's host: paused for the run (order {before} -> {past_largest}), "
               "so freed memory stays with this machine as on real hardware")
    finally:
        setting.write_text(before + "\n")


def _pages_out(kdamond: Path) -> bool:
    """Does this kdamond run a scheme that drops memory (`pageout`)?"""
    return any(action.read_text().strip() == "pageout"
               for action in kdamond.glob("contexts/*/schemes/*/action"))


@contextlib.contextmanager
def reclaim_held(enabled: bool = True, kdamonds: Path = KDAMONDS) -> Iterator[str]:
    """Running DAMON kdamonds that page memory out are stopped while the block runs, then started again;
    yields one line saying what was done."""
    if not enabled:
        yield "proactive reclaim (DAMON): left as it is (--host-memory-as-is)"
        return
    try:
        running = [kdamond for kdamond in sorted(kdamonds.glob("[0-9]*"))
                   if (kdamond / "state").read_text().strip() == "on" and _pages_out(kdamond)]
    except OSError:
        running = []
    if not running:
        yield "proactive reclaim (DAMON): none running here"
        return
    stopped: list[Path] = []
    try:
        for kdamond in running:
            (kdamond / "state").write_text("off\n")
            stopped.append(kdamond)
    except OSError as err:
        _start(stopped)
        yield f"proactive reclaim (DAMON): on, could not pause it ({err.strerror}; needs root)"
        return
    try:
        yield (f"proactive reclaim (DAMON pageout of page cache it sees unused for a minute): paused for the run"
               f" ({len(stopped)} kdamond{'s' if len(stopped) > 1 else ''}), so cached files stay cached as on"
               " real hardware")
    finally:
        _start(stopped)


def _start(kdamonds: list[Path]) -> None:
    for kdamond in kdamonds:
        (kdamond / "state").write_text("on\n")


@contextlib.contextmanager
def machine_held(enabled: bool = True) -> Iterator[list[str]]:
    """Both of the above for the run; yields what was done, a line each."""
    with host_memory_held(enabled) as memory, reclaim_held(enabled) as reclaim:
        yield [memory, reclaim]
