"""The C heap of a long-running process: fewer malloc arenas, and start-up's garbage handed back.

glibc gives every thread that allocates its own arena (up to 8 per core), each keeping freed memory for
itself; our threads (SQLite connections, the file-writing pool) allocate little, so two arenas serve them
as well and keep the resident size down. After start-up (imports, migrations) the heap holds freed pages
that `malloc_trim` returns to the kernel. Both are no-ops where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # from glibc's malloc.h
ARENAS = 2


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded, the C library's among them
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap malloc arenas (what MALLOC_ARENA_MAX does); call before threads start. True if applied."""
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, arenas))


def trim_heap() -> bool:
    """Give free heap pages back to the kernel. True if some memory was released."""
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0))
