"""The heap helpers are safe to call anywhere, any number of times."""

from __future__ import annotations

import platform

from appliance.system.memory import limit_arenas, trim_heap


def test_arena_cap_and_trim_apply_on_glibc_and_are_harmless_repeated() -> None:
    glibc = platform.libc_ver()[0] == "glibc"
    assert limit_arenas() is glibc
    assert limit_arenas() is glibc
    junk = [bytearray(200_000) for _ in range(50)]
    del junk
    trim_heap()
    trim_heap()
