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
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

REPORTING_ORDER = Path("/sys/module/page_reporting/parameters/page_reporting_order")
BUDDYINFO = Path("/proc/buddyinfo")


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
