"""The job runner: claims jobs from the SQLite queue lane by lane and runs their handlers.

- Each queue is a lane with its own concurrency (from the injected provider, re-read on every dispatch, so the
  hardware layer's governor can throttle a hot board).
- Claiming is one UPDATE ... RETURNING in a write transaction: lowest priority number first, then oldest.
- At start, jobs left `active` by a crash or power cut go back to `waiting` (handlers are idempotent).
- A failure is retried with exponential backoff up to `max_attempts`, except media errors that no retry can
  fix (corrupt, unsupported, too large), which fail at once with their reason recorded.
- Paused queues (persisted in `job_queues`) are not claimed from; running jobs finish.
- Finished jobs are pruned: completed after `keep_completed`, failed after `keep_failed`.
- A job's completion is written with the next claim (one transaction, one commit, not two): a finished
  job wakes the dispatcher, which marks it completed in the transaction that claims the next job, or in
  one of its own when nothing is left to claim. A crash in between leaves the job `active`, so it runs
  again at the next start, as any job interrupted by a crash does (handlers are idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from appliance import clock as clocks
from appliance import foreground
from appliance.jobs.queues import ConcurrencyProvider, default_concurrency
from appliance.media.errors import CorruptMedia, MediaTooLarge, UnsupportedMedia
from appliance.storage import jobs as job_sql
from appliance.storage.db import Database

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], int], Awaitable[None]]
PERMANENT_ERRORS: tuple[type[Exception], ...] = (CorruptMedia, UnsupportedMedia, MediaTooLarge, LookupError)


class JobRunner:
    def __init__(
        self,
        db: Database,
        handlers: dict[str, Handler],
        *,
        clock: clocks.Clock = clocks.utc_now,
        concurrency: ConcurrencyProvider | None = None,
        poll_interval: float = 2.0,
        retry_base: float = 30.0,
        keep_completed: timedelta = timedelta(hours=24),
        keep_failed: timedelta = timedelta(days=7),
    ) -> None:
        self.db = db
        self.handlers = handlers
        self.clock = clock
        self.concurrency = concurrency or default_concurrency()
        self.poll_interval = poll_interval
        self.retry_base = retry_base
        self.keep_completed = keep_completed
        self.keep_failed = keep_failed
        self._running: dict[str, set[asyncio.Task[None]]] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_prune = 0.0
        self._completed: list[tuple[int, str]] = []  # (job id, finished at), written with the next claim
        self.finished: Counter[tuple[str, str]] = Counter()  # (queue, "completed" | "failed"): for /metrics

    # --- life cycle -----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Idempotent. Returns crashed jobs to waiting, then dispatches in the background."""
        if self._loop_task is not None:
            return
        self._stopping = False
        async with self.db.transaction() as conn:
            recovered = await job_sql.requeue_active(conn, now=self._now())
        if recovered:
            log.info("returned %d interrupted jobs to the queue", recovered)
        self._loop_task = asyncio.create_task(self._loop(), name="job-runner")

    async def stop(self, *, grace: float = 10.0) -> None:
        """Idempotent. Stops claiming, lets running jobs finish for `grace` seconds, then cancels them (they stay
        `active` in the table and go back to waiting at the next start)."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        tasks = [task for lane in self._running.values() for task in lane]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._running.clear()
        try:
            await self._write_completed()
        except Exception:  # they stay active and run again at the next start
            log.exception("could not record %d finished jobs at stop", len(self._completed))

    def notify(self) -> None:
        """Something was enqueued or resumed: dispatch now instead of at the next poll."""
        self._wake.set()

    def active_count(self, queue: str) -> int:
        return len(self._running.get(queue, ()))

    # --- dispatching ----------------------------------------------------------------------------------

    def _now(self) -> str:
        return clocks.iso(self.clock())

    async def _loop(self) -> None:
        # this task and the job tasks it creates are background work: their database operations let fresh
        # API requests go first (appliance/foreground.py)
        foreground.mark_background()
        while not self._stopping:
            self._wake.clear()
            try:
                await self._dispatch()
                await self._prune()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job dispatch failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    async def _dispatch(self) -> None:
        now = self._now()
        async with self.db.reader() as conn:
            ready = await job_sql.waiting_queues(conn, now=now)
            paused = await job_sql.paused_queues(conn)
        for queue in sorted(ready - paused):
            lane = self._running.setdefault(queue, set())
            while len(lane) < max(0, self.concurrency(queue)) and not self._stopping:
                done = self._completed[:]
                async with self.db.transaction() as conn:
                    if done:
                        await job_sql.complete_many(conn, done)
                    job = await job_sql.claim_next(conn, queue=queue, now=self._now())
                del self._completed[: len(done)]
                if job is None:
                    break
                task = asyncio.create_task(self._run(job), name=f"job-{job['id']}-{job['name']}")
                lane.add(task)
                task.add_done_callback(self._finished(lane))
        await self._write_completed()

    async def _write_completed(self) -> None:
        """The finished jobs no claim has carried: in a transaction of their own."""
        done = self._completed[:]
        if done:
            async with self.db.transaction() as conn:
                await job_sql.complete_many(conn, done)
            del self._completed[: len(done)]

    def _finished(self, lane: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            lane.discard(task)
            self._wake.set()  # a slot is free: claim the next job now

        return done

    async def _run(self, job: dict[str, Any]) -> None:
        handler = self.handlers.get(job["name"])
        try:
            if handler is None:
                raise LookupError(f"no handler for job {job['name']}")
            await handler(job["payload"], job["priority"])
        except asyncio.CancelledError:
            raise
        except Exception as err:
            self.finished[(job["queue"], "failed")] += 1
            try:
                await self._record_failure(job, err)
            except Exception:
                log.exception("could not record the failure of job %s", job["id"])
        else:
            self._completed.append((job["id"], self._now()))  # the lane's done callback wakes the dispatcher
            self.finished[(job["queue"], "completed")] += 1

    async def _record_failure(self, job: dict[str, Any], err: Exception) -> None:
        reason = f"{type(err).__name__}: {err}"[:1000]
        permanent = isinstance(err, PERMANENT_ERRORS)
        retry_at = None
        if not permanent and job["attempts"] < job["max_attempts"]:
            delay = self.retry_base * 2 ** (job["attempts"] - 1)
            retry_at = clocks.iso(self.clock() + timedelta(seconds=delay))
        log.warning(
            "job %s %s for %s failed (attempt %d): %s%s", job["id"], job["name"], job["payload"].get("id"),
            job["attempts"], reason, "" if retry_at is None else f"; retry at {retry_at}",
        )
        async with self.db.transaction() as conn:
            await job_sql.fail(conn, job["id"], error=reason, now=self._now(), retry_at=retry_at)

    async def _prune(self) -> None:
        loop_time = asyncio.get_running_loop().time()
        if loop_time - self._last_prune < 600:
            return
        self._last_prune = loop_time
        now = self.clock()
        async with self.db.transaction() as conn:
            removed = await job_sql.prune_finished(
                conn,
                completed_before=clocks.iso(now - self.keep_completed),
                failed_before=clocks.iso(now - self.keep_failed),
            )
        if removed:
            log.info("pruned %d finished jobs", removed)

    async def wait_idle(self, *, within: float = 60.0, retries_within: float = 1.0) -> None:
        """For tests and shutdown scripts: until no job is waiting (and due) or running. A job put back for a
        retry due within `retries_within` seconds counts as waiting: otherwise a transient failure would end
        the wait just before the retry that fixes it (tests retry after 0.05 s; a server after 30 s)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            soon = clocks.iso(self.clock() + timedelta(seconds=retries_within))
            async with self.db.reader() as conn:
                ready = await job_sql.waiting_queues(conn, now=soon)
                paused = await job_sql.paused_queues(conn)
            running = any(self._running.values()) or bool(self._completed)
            if not (ready - paused) and not running:
                return
            if loop.time() > deadline:
                raise TimeoutError("jobs still running")
            self.notify()
            await asyncio.sleep(0.05)
