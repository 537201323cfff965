"""Months of the timeline kept in memory are the months the database holds, whatever happens to the assets."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from appliance.library.auth import AuthContext
from appliance.library.timeline import json_columns, parse_bucket
from appliance.services import Services
from tests.library.conftest import add_photo, make_user

FILTERS: list[dict[str, Any]] = [{}, {"visibility": "timeline", "withStacked": True}, {"isFavorite": True},
                                 {"visibility": "timeline", "order": "asc"}]


async def _check(lib: Services, viewer: AuthContext, months: set[str], label: object) -> None:
    service = lib.browse.timeline
    for params in FILTERS:
        for month in sorted(months):
            kept = await service.bucket(viewer, {**params, "timeBucket": month})
            f = await service.build_filter(viewer, {**params, "timeBucket": month})
            truth = json_columns(f, *await service.repo.bucket_json(f, parse_bucket(month), viewer.user_id))
            assert kept == truth, (label, params, month)


async def test_kept_months_follow_every_kind_of_change(lib: Services, tmp_path: Path) -> None:
    rng = random.Random(11)
    alice, bob = await make_user(lib, "alice"), await make_user(lib, "bob")
    ids: dict[str, list[str]] = {alice.user_id: [], bob.user_id: []}
    months: set[str] = set()
    for _ in range(24):
        owner = rng.choice([alice, bob])
        when = f"20{rng.randint(20, 22)}-{rng.randint(1, 4):02d}-15T12:00:00Z"
        months.add(when[:8] + "01")
        ids[owner.user_id].append(await add_photo(lib, owner, tmp_path, when))
    months.add("2009-01-01")
    stacks: list[tuple[str, AuthContext]] = []
    for viewer in (alice, bob):
        await _check(lib, viewer, months, "start")
    for step in range(40):
        owner = rng.choice([alice, bob])
        mine = ids[owner.user_id]
        if not mine:
            continue
        pick = rng.sample(mine, min(len(mine), rng.randint(1, 3)))
        action = rng.choice(["fav", "archive", "trash", "restore", "date", "exif", "size", "stack", "primary",
                             "unstack", "delete"])
        if action == "fav":
            await lib.assets.update_many(owner, pick, {"isFavorite": rng.random() < 0.5})
        elif action == "archive":
            await lib.assets.update_many(owner, pick, {"visibility": rng.choice(["archive", "timeline", "locked"])})
        elif action == "trash":
            await lib.assets.delete(owner, pick, force=False)
        elif action == "restore":
            await lib.assets.restore(owner, pick)
        elif action == "date":
            moved = {"dateTimeOriginal": f"2009-01-0{step % 9 + 1}T10:00:00+05:30"}
            await lib.assets.update_many(owner, pick[:1], moved)
        elif action == "exif":
            async with lib.db.transaction() as conn:
                await lib.assets.assets.update_exif(conn, pick[0], {"city": rng.choice(["Lyon", "Gent", None]),
                                                                    "orientation": rng.choice(["1", "6"]),
                                                                    "update_id": "x"})
        elif action == "size":
            async with lib.db.transaction() as conn:
                await lib.assets.assets.update(conn, pick, {"width": rng.randint(1, 9), "height": rng.randint(1, 9)})
        elif action == "stack" and len(pick) >= 2:
            stack, _ = await lib.browse.stacks.create(owner, pick)
            stacks.append((stack.id, owner))
        elif action == "primary" and stacks:
            stack_id, stack_owner = rng.choice(stacks)
            members = await lib.browse.stacks.stacks.asset_ids(stack_id)
            if members:
                await lib.browse.stacks.update(stack_owner, stack_id, rng.choice(members))
        elif action == "unstack" and stacks:
            stack_id, stack_owner = stacks.pop()
            if await lib.browse.stacks.stacks.get(stack_id) is not None:
                await lib.browse.stacks.delete(stack_owner, [stack_id])
        elif action == "delete":
            await lib.assets.delete(owner, pick[:1], force=True)
            mine.remove(pick[0])
        for viewer in (alice, bob):
            await _check(lib, viewer, months, (step, action))
