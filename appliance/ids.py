"""Identifiers: UUIDv4 for rows, UUIDv7 for time-ordered change ids (sync acks)."""

from __future__ import annotations

import os
import threading
import time

# Random bytes are drawn from the kernel 4 KiB at a time, not 16 bytes per id: an import or a backup makes
# several ids per file, and each draw is a system call that gives up the GIL (on a busy two-core machine,
# getting it back cost tens of microseconds each time). Still the kernel's CSPRNG, only fetched in bulk;
# a forked child starts with an empty pool, so two processes never hand out the same bytes (and with a lock
# of its own: another thread may have held this one at the fork).
_POOL_SIZE = 4096
_pool = bytearray()
_pool_lock = threading.Lock()


def _reset_in_child() -> None:
    global _pool_lock
    _pool_lock = threading.Lock()
    _pool.clear()


os.register_at_fork(after_in_child=_reset_in_child)


def _random_bytes(count: int) -> bytes:
    with _pool_lock:
        if len(_pool) < count:
            _pool.extend(os.urandom(_POOL_SIZE))
        taken = bytes(_pool[:count])
        del _pool[:count]
    return taken


def _formatted(value: int) -> str:
    """A 128-bit number in the 8-4-4-4-12 form (what str(uuid.UUID(int=value)) gives)."""
    digits = f"{value:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def new_id() -> str:
    """A random (version 4) UUID."""
    value = int.from_bytes(_random_bytes(16), "big")
    value = (value & ~(0xF << 76) | 0x4 << 76) & ~(0b11 << 62) | 0b10 << 62  # version 4, RFC 4122 variant
    return _formatted(value)


def is_uuid(value: object) -> bool:
    """A UUID in its 36-character form. (`uuid` is imported here, not at the top: it loads `platform`, 4 ms
    of every `shoebox import`'s start, which makes ids but never checks one.)"""
    import uuid

    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


_last_v7 = [0, 0]


def uuid7(now_ms: int | None = None) -> str:
    """A UUIDv7 (RFC 9562): 48-bit ms timestamp, then a counter so ids from one process stay ordered."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    if ms <= _last_v7[0]:
        ms = _last_v7[0]
        _last_v7[1] += 1
        if _last_v7[1] > 0xFFF:
            # the 12-bit counter is spent: borrow the next millisecond rather than wrap and go backwards
            ms = _last_v7[0] = ms + 1
            _last_v7[1] = 0
    else:
        _last_v7[0] = ms
        _last_v7[1] = int.from_bytes(_random_bytes(2), "big") & 0x3FF
    counter = _last_v7[1] & 0xFFF
    rand = int.from_bytes(_random_bytes(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return _formatted(value)


def uuid7_millis(value: str) -> int:
    """The millisecond timestamp in a UUIDv7's first 12 hex digits."""
    return int(value.replace("-", "")[:12], 16)
