"""The import's batcher: files staged close together share one duplicate lookup, and a batch goes as soon
as no other file can join it (every worker still working waits on it), not after its delay."""

from __future__ import annotations

import asyncio
import functools
import os
from pathlib import Path
from typing import Any

import pytest

from appliance.config import Settings
from appliance.importer import service as service_module
from appliance.importer.batcher import IngestBatcher
from appliance.importer.service import ImportSource
from appliance.library.ingest import IngestRequest, IngestResult, file_times
from appliance.services import Services
from appliance.storage.files import StagedFile
from appliance.storage.records import UserRecord
from tests.importer.conftest import asset_names, build_card, staging_leftovers, write

A_LONG_TIME = 600.0  # a batch delay no test waits out: a batch that goes, went for another reason


class CountedIngest:
    """The real ingest service, with the batches it was handed written down."""

    def __init__(self, services: Services) -> None:
        self.real = services.ingest
        self.batches: list[list[str]] = []

    async def ingest_many_started(self, items: list[tuple[IngestRequest, StagedFile]]) -> list[Any]:
        self.batches.append([request.filename for request, _ in items])
        return await self.real.ingest_many_started(items)


async def staged_photo(services: Services, owner: UserRecord, folder: Path,
                       name: str) -> tuple[IngestRequest, StagedFile]:
    path = write(folder / name, os.urandom(20_000))
    created, modified = file_times(path)
    staged, _ = await asyncio.to_thread(services.ingest.stage_path_blocking, path, batch=True)
    return IngestRequest(owner_id=owner.id, filename=name, file_created_at=created, file_modified_at=modified), staged


async def test_the_batch_goes_as_soon_as_every_worker_has_handed_its_file_over(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    """Two workers: the first file waits for a companion; when the second worker's file comes, both go in
    one batch at once, and both become assets."""
    counted = CountedIngest(services)
    batcher = IngestBatcher(counted, delay=A_LONG_TIME, producers=2)  # type: ignore[arg-type]
    first = asyncio.ensure_future(batcher.ingest_one(*await staged_photo(services, admin, tmp_path, "one.jpg")))
    await asyncio.sleep(0.05)
    assert counted.batches == [] and not first.done()  # the other worker may still bring a file

    second = batcher.ingest_one(*await staged_photo(services, admin, tmp_path, "two.jpg"))
    results: list[IngestResult] = await asyncio.wait_for(asyncio.gather(first, second), 30)
    assert [result.status for result in results] == ["created", "created"]
    assert counted.batches == [["one.jpg", "two.jpg"]]
    assert asset_names(settings) == ["one.jpg", "two.jpg"]
    assert staging_leftovers(settings) == []


async def test_a_worker_with_nothing_left_lets_the_others_batch_go(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    """The end of an import: one worker hands over the last file while the other has run out of files.
    Once that one says so, the last file goes at once rather than after the delay."""
    counted = CountedIngest(services)
    batcher = IngestBatcher(counted, delay=A_LONG_TIME, producers=2)  # type: ignore[arg-type]
    last = asyncio.ensure_future(batcher.ingest_one(*await staged_photo(services, admin, tmp_path, "last.jpg")))
    await asyncio.sleep(0.05)
    assert counted.batches == []

    batcher.producer_done()
    result = await asyncio.wait_for(last, 30)
    assert result.status == "created"
    assert counted.batches == [["last.jpg"]]
    await batcher.drain()
    assert asset_names(settings) == ["last.jpg"]


async def test_a_worker_still_between_files_keeps_the_batch_open_until_the_delay(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    """While a worker may still bring a file (it is copying or saving progress), the batch waits for it,
    up to the delay; uncounted workers (no `producers`) always wait the delay."""
    for producers in (3, None):
        counted = CountedIngest(services)
        batcher = IngestBatcher(counted, delay=1.0, producers=producers)  # type: ignore[arg-type]
        pair = [await staged_photo(services, admin, tmp_path / str(producers), f"p{i}.jpg") for i in range(2)]
        waiting = [asyncio.ensure_future(batcher.ingest_one(*item)) for item in pair]
        await asyncio.sleep(0.05)
        assert counted.batches == [], producers  # two of three workers wait; the third may bring a file

        results = await asyncio.wait_for(asyncio.gather(*waiting), 30)  # the delay sends them
        assert [result.status for result in results] == ["created", "created"]
        assert counted.batches == [["p0.jpg", "p1.jpg"]]


async def test_a_card_import_never_waits_out_the_batch_delay(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import session counts its workers in: with a batch delay no import could wait out, a card (a
    live photo, a sidecar, a duplicate) still imports, because each batch goes once no worker can add to it."""
    card = build_card(tmp_path / "card", tmp_path / "outside")
    monkeypatch.setattr(service_module, "IngestBatcher", functools.partial(IngestBatcher, delay=A_LONG_TIME))
    record = await asyncio.wait_for(services.imports.run(ImportSource.folder(card.root)), 60)
    assert record.state == "completed", record.error
    assert record.imported == len(card.new_files) + 1  # IMG_0003.JPG too: this library did not have it yet
    assert staging_leftovers(settings) == []
