"""Months of the timeline kept in memory are the months the database holds, whatever happens to the assets."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from appliance.library.context import AuthContext
from appliance.library.timeline import json_columns, parse_bucket
from appliance.services import Services
from tests.library.conftest import LibraryChurn, add_photo, make_user

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
    months.update(LibraryChurn.date_month(number) for number in range(9))
    churn = LibraryChurn(lib, rng, ids, [alice, bob])
    for viewer in (alice, bob):
        await _check(lib, viewer, months, "start")
    for step in range(40):
        action = await churn.step(step)
        if action is None:
            continue
        for viewer in (alice, bob):
            await _check(lib, viewer, months, (step, action))
