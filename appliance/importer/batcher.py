"""Handing an import's staged files to the ingest path a few at a time (see `IngestBatcher`)."""

from __future__ import annotations

import asyncio
import functools

from appliance.library.ingest import IngestRequest, IngestResult, IngestService
from appliance.storage.files import StagedFile


class IngestBatcher:
    """Hands staged files to `IngestService.ingest_many` a few at a time: the files the workers bring within
    `delay` (or `size` of them, whichever first) share one duplicate lookup and one quota lookup instead of
    two trips to the database each. A file waits at most `delay` longer, well below a group commit.

    `producers`: how many workers hand files over. Once every one still working is waiting here, no other
    file can join the batch, so it goes at once instead of after `delay`: the last files of an import (and
    every file of a small one) are not held back for nothing. Each worker says `producer_done` when it
    stops handing files over."""

    def __init__(self, ingest: IngestService, *, size: int = 32, delay: float = 0.01,
                 producers: int | None = None) -> None:
        self.ingest = ingest
        self.size = size
        self.delay = delay
        self._producers = producers  # None: not counted, a batch always waits `delay`
        self._waiting = 0  # workers inside `ingest_one`, their file pending or being ingested
        self._pending: list[tuple[IngestRequest, StagedFile, asyncio.Future[IngestResult]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def ingest_one(self, request: IngestRequest, staged: StagedFile) -> IngestResult:
        """Like `IngestService.ingest`: the staged file is consumed, the result or error is this file's.
        Once handed over, the file is ingested even if the caller goes away (as `ingest` shields commits)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestResult] = loop.create_future()
        self._pending.append((request, staged, future))
        self._waiting += 1
        try:
            if len(self._pending) >= self.size or self._nobody_else_can_join():
                self._flush()
            elif self._timer is None:
                self._timer = loop.call_later(self.delay, self._flush)
            return await asyncio.shield(future)
        finally:
            self._waiting -= 1

    def producer_done(self) -> None:
        """A worker will hand over no more files: if the others all wait here, the batch goes now."""
        if self._producers is not None:
            self._producers -= 1
            if self._pending and self._nobody_else_can_join():
                self._flush()

    def _nobody_else_can_join(self) -> bool:
        return self._producers is not None and self._waiting >= self._producers

    async def drain(self) -> None:
        """Wait for every batch handed over (at the end of a session)."""
        if self._pending:
            self._flush()
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[tuple[IngestRequest, StagedFile, asyncio.Future[IngestResult]]]) -> None:
        try:
            tasks = await self.ingest.ingest_many_started([(request, staged) for request, staged, _ in batch])
        except BaseException as err:  # the lookups failed: every file of the batch fails with it
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(err)
            return
        # each file's outcome as soon as it is committed (a batch may span two commit groups)
        for task, (_, _, future) in zip(tasks, batch, strict=True):
            task.add_done_callback(functools.partial(_pass_on, future))
        await asyncio.gather(*tasks, return_exceptions=True)


def _pass_on(future: asyncio.Future[IngestResult], task: asyncio.Task[IngestResult]) -> None:
    if future.done():
        return
    if task.cancelled():
        future.cancel()
    elif task.exception() is not None:
        future.set_exception(task.exception())  # type: ignore[arg-type]
    else:
        future.set_result(task.result())
