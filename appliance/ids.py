"""Identifiers: UUIDv4 for rows, UUIDv7 for time-ordered change ids (sync acks)."""

from __future__ import annotations

import os
import time
import uuid


def new_id() -> str:
    return str(uuid.uuid4())


def is_uuid(value: object) -> bool:
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
        _last_v7[1] = int.from_bytes(os.urandom(2), "big") & 0x3FF
    counter = _last_v7[1] & 0xFFF
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return str(uuid.UUID(int=value))


def uuid7_millis(value: str) -> int:
    """The millisecond timestamp in a UUIDv7's first 12 hex digits."""
    return int(value.replace("-", "")[:12], 16)
