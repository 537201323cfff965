"""Concurrent ingests share their transactions (group commit) and stay exact: every distinct file becomes
one asset, the same bytes twice become one asset and a duplicate, nothing is left in staging."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from appliance.config import Settings
from appliance.library.ingest import IngestRequest, file_times
from appliance.services import Services
from appliance.storage.records import UserRecord
from tests.importer.conftest import library_files, rows, staging_leftovers, write


def request_for(owner: UserRecord, path: Path) -> IngestRequest:
    created, modified = file_times(path)
    return IngestRequest(owner_id=owner.id, filename=path.name, file_created_at=created, file_modified_at=modified)


async def test_concurrent_ingests_are_grouped_and_exact(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    same = os.urandom(20_000)
    paths = [write(tmp_path / f"p{i}.jpg", os.urandom(30_000)) for i in range(12)]
    paths += [write(tmp_path / f"same{i}.jpg", same) for i in range(3)]
    sidecar = write(tmp_path / "p0.jpg.xmp", b"<x:xmpmeta/>")
    transactions = 0
    original = services.db.transaction

    def counting():  # type: ignore[no-untyped-def]
        nonlocal transactions
        transactions += 1
        return original()

    services.db.transaction = counting  # type: ignore[method-assign]
    results = await asyncio.gather(*(
        services.ingest.ingest_path(request_for(admin, p), p, sidecar if p.name == "p0.jpg" else None)
        for p in paths
    ))
    statuses = sorted(r.status for r in results)
    assert statuses == ["created"] * 13 + ["duplicate"] * 2
    assert len({r.id for r in results}) == 13
    assert transactions < 2 * 13  # shared, not two per asset
    assert len(rows(settings, "SELECT id FROM assets")) == 13
    assert len(library_files(settings)) == 14  # 13 originals + 1 sidecar
    assert rows(settings, "SELECT * FROM upload_intents") == []
    assert staging_leftovers(settings) == []
