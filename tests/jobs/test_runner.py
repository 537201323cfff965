"""The queue's rules with the real runner and real SQLite: order, lanes, retries, failures, pause, crash
recovery (a runner process killed with SIGKILL mid-job), and the decode worker pool's isolation."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance import clock as clocks
from appliance.jobs.queues import default_concurrency
from appliance.jobs.runner import JobRunner
from appliance.jobs.workers import PoolSettings, WorkerFailed, WorkerPool
from appliance.media.errors import CorruptMedia, MediaTooLarge
from appliance.storage import jobs as job_sql
from appliance.storage.db import Database

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
async def queue_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(tmp_path / "queue.db")
    await db.open()
    yield db
    await db.close()


async def add(db: Database, name: str, queue: str = "q", priority: int = 0, **payload: Any) -> None:
    async with db.transaction() as conn:
        await job_sql.enqueue(conn, queue=queue, name=name, payload=payload, now=clocks.iso(clocks.utc_now()),
                              priority=priority)


async def statuses(db: Database) -> list[tuple[str, str, int, str | None]]:
    rows = await db.fetchall("SELECT name, status, attempts, last_error FROM jobs ORDER BY id")
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_jobs_run_by_priority_then_age_one_at_a_time_in_a_lane_of_one(queue_db: Database) -> None:
    seen: list[int] = []

    async def record(payload: dict[str, Any], priority: int) -> None:
        seen.append(payload["n"])

    for n, priority in ((1, 10), (2, 10), (3, 0), (4, 5)):
        await add(queue_db, "Record", priority=priority, n=n)
    runner = JobRunner(queue_db, {"Record": record}, concurrency=lambda q: 1, poll_interval=0.02)
    await runner.start()
    await runner.wait_idle()
    await runner.stop()
    assert seen == [3, 4, 1, 2]


async def test_a_finished_job_is_marked_completed_in_the_transaction_that_claims_the_next(
    queue_db: Database,
) -> None:
    async def noop(payload: dict[str, Any], priority: int) -> None:
        pass

    for n in range(5):
        await add(queue_db, "Noop", n=n)
    commits = 0
    original = queue_db.transaction

    def counting() -> Any:
        nonlocal commits
        commits += 1
        return original()

    queue_db.transaction = counting  # type: ignore[method-assign]
    runner = JobRunner(queue_db, {"Noop": noop}, concurrency=lambda q: 1, poll_interval=0.02)
    await runner.start()
    await runner.wait_idle()
    await runner.stop()
    assert [status for _, status, _, _ in await statuses(queue_db)] == ["completed"] * 5
    # start-up recovery, the first prune, 5 claims (each carrying the previous job's completion) and one
    # transaction for the last completion: not 5 more for the completions on their own
    assert commits <= 1 + 1 + 5 + 1, commits


async def test_a_lane_never_runs_more_than_its_concurrency(queue_db: Database) -> None:
    running = peak = 0

    async def work(payload: dict[str, Any], priority: int) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1

    for n in range(12):
        await add(queue_db, "Work", n=n)
    runner = JobRunner(queue_db, {"Work": work}, concurrency=lambda q: 3, poll_interval=0.02)
    await runner.start()
    await runner.wait_idle()
    await runner.stop()
    assert peak == 3


async def test_a_failing_job_records_its_reason_and_the_queue_moves_on(queue_db: Database) -> None:
    done: list[int] = []

    async def work(payload: dict[str, Any], priority: int) -> None:
        if payload["n"] == 1:
            raise CorruptMedia("VipsJpeg: Premature end of input file")
        if payload["n"] == 2:
            raise RuntimeError("disk hiccup")
        done.append(payload["n"])

    for n in (1, 2, 3):
        await add(queue_db, "Work", n=n)
    runner = JobRunner(queue_db, {"Work": work}, concurrency=lambda q: 1, poll_interval=0.02, retry_base=0.05)
    await runner.start()
    await runner.wait_idle(within=20)  # waits out the retries' backoff too (0.05, 0.1 s)
    await runner.stop()
    assert done == [3]
    result = await statuses(queue_db)
    assert result[0] == ("Work", "failed", 1, "CorruptMedia: VipsJpeg: Premature end of input file")  # no retry
    assert result[1] == ("Work", "failed", 3, "RuntimeError: disk hiccup")  # retried, then given up
    assert result[2][1] == "completed"


async def test_waiting_for_idle_includes_a_retry_due_soon(queue_db: Database) -> None:
    """A transient failure is put back for a retry a moment later: the wait ends after the retry, not before
    (a sidecar test once failed so, its check made between a failure and its retry 0.05 s later)."""
    attempts: list[int] = []

    async def flaky(payload: dict[str, Any], priority: int) -> None:
        attempts.append(len(attempts) + 1)
        if len(attempts) == 1:
            raise RuntimeError("disk hiccup")

    await add(queue_db, "Work", n=1)
    runner = JobRunner(queue_db, {"Work": flaky}, concurrency=lambda q: 1, poll_interval=0.02, retry_base=0.3)
    await runner.start()
    await runner.wait_idle(within=20)
    await runner.stop()
    assert attempts == [1, 2]
    assert (await statuses(queue_db))[0][:3] == ("Work", "completed", 2)


async def test_an_unknown_job_name_fails_without_retries(queue_db: Database) -> None:
    await add(queue_db, "Nobody")
    runner = JobRunner(queue_db, {}, poll_interval=0.02)
    await runner.start()
    await runner.wait_idle()
    await runner.stop()
    assert (await statuses(queue_db))[0][:3] == ("Nobody", "failed", 1)


async def test_a_paused_queue_keeps_its_jobs_until_resumed_and_survives_a_restart(queue_db: Database) -> None:
    done: list[str] = []

    async def work(payload: dict[str, Any], priority: int) -> None:
        done.append(payload["q"])

    async with queue_db.transaction() as conn:
        await job_sql.set_paused(conn, queue="held", paused=True, now=clocks.iso(clocks.utc_now()))
    await add(queue_db, "Work", queue="held", q="held")
    await add(queue_db, "Work", queue="free", q="free")
    runner = JobRunner(queue_db, {"Work": work}, poll_interval=0.02)
    await runner.start()
    await runner.wait_idle()
    await runner.stop()
    assert done == ["free"]
    runner = JobRunner(queue_db, {"Work": work}, poll_interval=0.02)  # a restart remembers the pause
    await runner.start()
    await asyncio.sleep(0.2)
    assert done == ["free"]
    async with queue_db.transaction() as conn:
        await job_sql.set_paused(conn, queue="held", paused=False, now=clocks.iso(clocks.utc_now()))
    runner.notify()
    await runner.wait_idle()
    await runner.stop()
    assert done == ["free", "held"]


async def test_the_queue_survives_a_kill_9_mid_job_and_finishes_after_restart(tmp_path: Path) -> None:
    db_path, started = tmp_path / "crash.db", tmp_path / "started"
    db = Database(db_path)
    await db.open()
    await add(db, "Slow", n=7)
    await db.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).parent / "crash_runner.py"), str(db_path), str(started), env=env
    )
    try:
        for _ in range(600):
            if await asyncio.to_thread(started.exists):
                break
            await asyncio.sleep(0.05)
        assert await asyncio.to_thread(started.read_text) == "7"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()

    db = Database(db_path)
    await db.open()
    assert (await statuses(db))[0][:2] == ("Slow", "active")  # what the crash left
    finished: list[int] = []

    async def fast(payload: dict[str, Any], priority: int) -> None:
        finished.append(payload["n"])

    runner = JobRunner(db, {"Slow": fast}, poll_interval=0.02)
    await runner.start()
    await runner.wait_idle()
    await runner.stop()
    assert finished == [7]
    assert (await statuses(db))[0][:3] == ("Slow", "completed", 2)
    assert await db.integrity_check() == "ok"
    await db.close()


async def test_finished_jobs_are_pruned_by_age(queue_db: Database) -> None:
    await add(queue_db, "Old")
    async with queue_db.transaction() as conn:
        await conn.execute("UPDATE jobs SET status = 'completed', updated_at = '2000-01-01T00:00:00.000Z'")
    await add(queue_db, "New")
    runner = JobRunner(queue_db, {"New": lambda p, q: asyncio.sleep(0)}, poll_interval=0.02,
                       keep_completed=timedelta(hours=1))
    await runner.start()
    await runner.wait_idle()
    await asyncio.sleep(0.1)
    await runner.stop()
    assert [row[0] for row in await statuses(queue_db)] == ["New"]


def test_default_concurrency_is_immich_bounded_by_cores() -> None:
    one, four = default_concurrency(1), default_concurrency(4)
    assert (one("thumbnailGeneration"), one("metadataExtraction"), one("videoConversion")) == (1, 2, 1)
    assert (four("thumbnailGeneration"), four("metadataExtraction"), four("videoConversion")) == (3, 5, 1)


# --- the decode worker pool ------------------------------------------------------------------------------


async def test_a_hung_decoder_is_killed_at_the_timeout_and_the_pool_carries_on() -> None:
    pool = WorkerPool(PoolSettings(size=1, timeout=1.0))
    try:
        first = (await pool.request({"op": "ping"}))["pid"]
        with pytest.raises(WorkerFailed, match="timed out"):
            await pool.request({"op": "sleep", "seconds": 30})
        second = (await pool.request({"op": "ping"}))["pid"]
        assert second != first
    finally:
        await pool.close()


async def test_a_crashing_decoder_fails_the_request_not_the_server() -> None:
    pool = WorkerPool(PoolSettings(size=1, timeout=10))
    try:
        with pytest.raises(WorkerFailed, match="died"):
            await pool.request({"op": "crash"})
        assert (await pool.request({"op": "ping"}))["ok"]
    finally:
        await pool.close()


async def test_workers_are_recycled_so_memory_stays_bounded(test_assets: Path, tmp_path: Path) -> None:
    limit = 300 * 1024 * 1024
    pool = WorkerPool(PoolSettings(size=1, max_rss=limit, max_requests=2, address_space=0))
    try:
        pids: list[int] = []
        for n in range(4):
            await pool.request({
                "op": "render", "source": str(test_assets / "formats/avif/10bit-HDR-P3-nclx.avif"),
                "outputs": [{"path": str(tmp_path / f"{n}.jpeg"), "size": 1440, "format": "jpeg"}],
            })
            pids.extend(p for p in pool.pids if p not in pids)
            assert all(w.rss() < limit for w in pool._all)  # noqa: SLF001 - no worker left bloated
        assert len(pids) == 2  # replaced after two requests
    finally:
        await pool.close()


async def test_a_decode_too_big_for_the_workers_memory_limit_fails_cleanly(test_assets: Path, tmp_path: Path) -> None:
    """A 20 MP 10-bit AVIF needs ~570 MB to decode (libheif + libaom). Under a 640 MiB address-space limit the
    request fails with a reason (an allocation error, or the worker dying) and the next file is fine."""
    pool = WorkerPool(PoolSettings(size=1, address_space=640 * 1024 * 1024))
    try:
        with pytest.raises((MediaTooLarge, CorruptMedia, WorkerFailed)) as raised:
            await pool.request({
                "op": "render", "source": str(test_assets / "formats/avif/10bit-HDR-P3-nclx.avif"),
                "outputs": [{"path": str(tmp_path / "big.jpeg"), "size": 1440, "format": "jpeg"}],
            })
        assert str(raised.value)
        answer = await pool.request({
            "op": "render", "source": str(test_assets / "formats/heic/IMG_2682.heic"),
            "outputs": [{"path": str(tmp_path / "next.jpeg"), "size": 1440, "format": "jpeg"}],
        })
        assert (answer["width"], answer["height"]) == (4032, 3024)
    finally:
        await pool.close()
