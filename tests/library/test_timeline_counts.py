"""The month counts behind /timeline/buckets stay equal to counting the assets, whatever happens to them."""

from __future__ import annotations

import random
from pathlib import Path

from appliance.services import Services
from tests.library.conftest import add_photo, make_user


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
    stacks: list[str] = []
    for step in range(60):
        owner = rng.choice([alice, bob])
        mine = ids[owner.user_id]
        if not mine:
            continue
        pick = rng.sample(mine, min(len(mine), rng.randint(1, 3)))
        action = rng.choice(["fav", "archive", "trash", "restore", "date", "stack", "primary", "unstack", "delete"])
        if action == "fav":
            await lib.assets.update_many(owner, pick, {"isFavorite": rng.random() < 0.5})
        elif action == "archive":
            await lib.assets.update_many(owner, pick, {"visibility": rng.choice(["archive", "timeline", "locked"])})
        elif action == "trash":
            await lib.assets.delete(owner, pick, force=False)
        elif action == "restore":
            await lib.assets.restore(owner, pick)
        elif action == "date":
            await lib.assets.update_many(owner, pick[:1], {"dateTimeOriginal": f"2009-0{step % 9 + 1}-02T10:00:00Z"})
        elif action == "stack" and len(pick) >= 2:
            stack, _ = await lib.browse.stacks.create(owner, pick)
            stacks.append(stack.id)
        elif action == "primary" and stacks:
            stack_id = rng.choice(stacks)
            stack = await lib.browse.stacks.stacks.get(stack_id)
            if stack is not None and stack.owner_id == owner.user_id:
                members = await lib.browse.stacks.stacks.asset_ids(stack_id)
                await lib.browse.stacks.update(owner, stack_id, rng.choice(members))
        elif action == "unstack" and stacks:
            stack_id = stacks.pop()
            stack = await lib.browse.stacks.stacks.get(stack_id)
            if stack is not None:
                await lib.browse.stacks.delete(AuthContextFor(lib, stack.owner_id, alice, bob), [stack_id])
        elif action == "delete":
            await lib.assets.delete(owner, pick[:1], force=True)
            mine.remove(pick[0])
        assert await _counted(lib) == await _truth(lib), (step, action)
        hidden = int(await lib.db.fetchval("SELECT coalesce(sum(n), 0) FROM asset_month_counts WHERE stack_hidden = 1"))
        assert hidden == await _hidden_truth(lib), (step, action)


def AuthContextFor(lib: Services, user_id: str, *contexts: object) -> object:  # noqa: N802 - reads as a type
    return next(c for c in contexts if getattr(c, "user_id", None) == user_id)
