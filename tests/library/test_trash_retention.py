"""The trash keeps deleted photos for the retention period, then the purge removes rows and files."""

from __future__ import annotations

from pathlib import Path

from appliance.services import Services
from tests.library.conftest import FakeClock, add_photo, make_user


async def test_purge_removes_only_what_outlived_the_retention(lib: Services, clock: FakeClock, tmp_path: Path) -> None:
    alice = await make_user(lib, "alice")
    old, recent, kept = [await add_photo(lib, alice, tmp_path, "2024-01-01T00:00:00Z") for _ in range(3)]
    old_file = lib.store.absolute((await lib.assets.assets.get(old)).original_path)  # type: ignore[union-attr]
    await lib.assets.delete(alice, [old], force=False)
    clock.advance(days=20)
    await lib.assets.delete(alice, [recent], force=False)
    clock.advance(days=11)  # old: 31 days in the trash, recent: 11
    assert await lib.assets.purge_expired_trash(30) == 1
    assert await lib.assets.assets.get(old) is None and not old_file.exists()
    assert (await lib.assets.assets.get(recent)).deleted_at is not None  # type: ignore[union-attr]
    assert (await lib.assets.assets.get(kept)).deleted_at is None  # type: ignore[union-attr]
    assert await lib.assets.purge_expired_trash(30) == 0
    # the timeline's month counts follow the purge
    f = await lib.browse.timeline.build_filter(alice, {"isTrashed": True})
    assert await lib.browse.timeline.repo.buckets(f) == [("2024-01-01", 1)]
    clock.advance(days=30)
    assert await lib.assets.purge_expired_trash(30) == 1
    assert await lib.browse.timeline.repo.buckets(f) == []
