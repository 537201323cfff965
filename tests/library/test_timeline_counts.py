"""The month counts behind /timeline/buckets stay equal to counting the assets, whatever happens to them."""

from __future__ import annotations

import random
from pathlib import Path

from appliance.services import Services
from tests.library.conftest import LibraryChurn, add_photo, make_user


async def _truth(lib: Services) -> dict[tuple[str, str, int, int, int], int]:
    rows = await lib.db.fetchall(
        "SELECT owner_id, substr(local_date_time, 1, 7) || '-01', visibility, is_favorite, deleted_at IS NOT NULL,"
        " count(*) FROM assets GROUP BY 1, 2, 3, 4, 5"
    )
    return {(r[0], r[1], r[2], r[3], r[4]): r[5] for r in rows}  # type: ignore[misc]


async def _counted(lib: Services) -> dict[tuple[str, str, int, int, int], int]:
    rows = await lib.db.fetchall(
        "SELECT owner_id, month, visibility, is_favorite, is_trashed, sum(n) FROM asset_month_counts"
        " GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) > 0"
    )
    return {(r[0], r[1], r[2], r[3], r[4]): r[5] for r in rows}  # type: ignore[misc]


async def _hidden_truth(lib: Services) -> int:
    return int(await lib.db.fetchval(
        "SELECT count(*) FROM assets a JOIN stacks s ON s.id = a.stack_id WHERE a.id != s.primary_asset_id"
    ))


async def test_counts_follow_every_kind_of_change(lib: Services, tmp_path: Path) -> None:
    rng = random.Random(7)
    alice, bob = await make_user(lib, "alice"), await make_user(lib, "bob")
    ids = {alice.user_id: [], bob.user_id: []}  # type: dict[str, list[str]]
    for _ in range(30):
        owner = rng.choice([alice, bob])
        when = f"20{rng.randint(10, 24)}-{rng.randint(1, 12):02d}-15T12:00:00Z"
        ids[owner.user_id].append(await add_photo(lib, owner, tmp_path, when))
    churn = LibraryChurn(lib, rng, ids, [alice, bob])
    for step in range(60):
        action = await churn.step(step)
        if action is None:
            continue
        assert await _counted(lib) == await _truth(lib), (step, action)
        hidden = int(await lib.db.fetchval("SELECT coalesce(sum(n), 0) FROM asset_month_counts WHERE stack_hidden = 1"))
        assert hidden == await _hidden_truth(lib), (step, action)

