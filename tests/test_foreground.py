"""Background database work lets fresh API requests go first, for a bounded moment, and never stops."""

from __future__ import annotations

import asyncio
from pathlib import Path

from appliance import foreground
from appliance.foreground import ForegroundGate
from appliance.storage.db import Database


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def background(work: object) -> object:
    """Run `work` (a coroutine function) in a task marked as background, like the job runner's tasks."""

    async def run() -> object:
        foreground.mark_background()
        return await work()  # type: ignore[operator]

    return await asyncio.create_task(run())


async def test_a_background_write_waits_until_the_request_in_flight_is_answered(tmp_path: Path) -> None:
    db = Database(tmp_path / "shoebox.db", gate=ForegroundGate(max_wait=3600, linger=0))
    await db.open()
    order: list[str] = []

    async def job() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO system_metadata(key, value) VALUES ('job', '1')")
        order.append("job committed")

    with db.gate.request():
        task = asyncio.create_task(background(job))
        for _ in range(20):
            await asyncio.sleep(0)
        order.append("request answered")
    await task
    assert order == ["request answered", "job committed"]
    assert db.gate.delayed == 1
    assert await db.fetchval("SELECT value FROM system_metadata WHERE key = 'job'") == "1"
    await db.close()


async def test_foreground_work_never_waits(tmp_path: Path) -> None:
    db = Database(tmp_path / "shoebox.db", gate=ForegroundGate(max_wait=3600, linger=0))
    await db.open()
    with db.gate.request():  # another request in flight: a request's own queries go ahead at once
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO system_metadata(key, value) VALUES ('upload', '1')")
        assert await db.fetchval("SELECT count(*) FROM system_metadata") == 1
    assert db.gate.delayed == 0
    await db.close()


async def test_the_wait_is_bounded_so_background_work_goes_on_under_constant_traffic(tmp_path: Path) -> None:
    db = Database(tmp_path / "shoebox.db", gate=ForegroundGate(max_wait=0.01, linger=0))
    await db.open()

    async def job() -> object:
        return await db.fetchval("SELECT 42")

    with db.gate.request():  # a request that outlasts the bound: the job does not wait for its end
        assert await background(job) == 42
    assert db.gate.delayed == 1
    await db.close()


async def test_a_long_request_holds_background_work_back_only_while_it_is_fresh(tmp_path: Path) -> None:
    clock = FakeClock()
    db = Database(tmp_path / "shoebox.db", gate=ForegroundGate(max_wait=3600, linger=0, clock=clock))
    await db.open()

    async def job() -> object:
        return await db.fetchval("SELECT 7")

    with db.gate.request():  # an upload or a websocket that started an hour and a second ago
        clock.now += 3601
        assert await background(job) == 7
    assert db.gate.delayed == 0
    await db.close()


async def test_a_background_task_holding_the_writer_does_not_wait_again(tmp_path: Path) -> None:
    db = Database(tmp_path / "shoebox.db", gate=ForegroundGate(max_wait=3600, linger=0))
    await db.open()
    started = asyncio.Event()
    done: list[object] = []

    async def job() -> None:
        async with db.transaction() as conn:
            started.set()
            await asyncio.sleep(0)
            # a read beside its own transaction: waiting here would hold the write lock for the whole wait
            done.append(await db.fetchval("SELECT 1"))
            await conn.execute("INSERT INTO system_metadata(key, value) VALUES ('job', '1')")

    task = asyncio.create_task(background(job))
    await started.wait()
    with db.gate.request():  # a request arrives while the job is inside its transaction
        await task
    assert done == [1]
    await db.close()


async def test_a_finished_request_counts_for_its_linger_while_the_response_is_written() -> None:
    gate = ForegroundGate(max_wait=3600, linger=0.001)
    with gate.request():
        pass
    assert gate._inflight  # the handler returned; aiohttp is still sending the response
    order: list[str] = []

    async def job() -> None:
        await gate.yield_to_requests()
        order.append("job")

    await background(job)
    assert not gate._inflight and order == ["job"]
