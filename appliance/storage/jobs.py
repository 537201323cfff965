"""SQL for the job table. The queue's rules (claiming, retries, concurrency) live in `appliance/jobs/`;
`enqueue` is here so a service can queue a job inside the transaction that writes the row it concerns."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aiosqlite


async def enqueue(
    conn: aiosqlite.Connection,
    *,
    queue: str,
    name: str,
    payload: dict[str, Any],
    now: str,
    priority: int = 0,
    dedupe_key: str | None = None,
    run_after: str | None = None,
) -> None:
    """Insert a waiting job on an open write transaction. A pending job with the same key is kept."""
    await conn.execute(_ENQUEUE, (queue, name, json.dumps(payload), dedupe_key, priority, run_after or now, now, now))


async def enqueue_many(
    conn: aiosqlite.Connection, *, queue: str, name: str, jobs: Sequence[tuple[dict[str, Any], str | None]],
    now: str, priority: int = 0,
) -> None:
    """`enqueue` for several jobs of one kind at once: (payload, dedupe_key) pairs, to run now."""
    await conn.executemany(
        _ENQUEUE, [(queue, name, json.dumps(payload), key, priority, now, now, now) for payload, key in jobs]
    )


_ENQUEUE = (
    "INSERT INTO jobs (queue, name, payload, dedupe_key, priority, status, run_after, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, 'waiting', ?, ?, ?) ON CONFLICT DO NOTHING"
)


# --- the queue's SQL, used by appliance/jobs/ -------------------------------------------------------

JOB_COLUMNS = "id, queue, name, payload, dedupe_key, priority, status, attempts, max_attempts, run_after, last_error"


async def claim_next(conn: aiosqlite.Connection, *, queue: str, now: str) -> dict[str, Any] | None:
    """Mark the best waiting job of `queue` active (lowest priority number, then oldest) and return it."""
    # one trip to the connection's thread (execute, fetch and close there), not three: the runner claims
    # beside API requests, and each trip is a thread hand-off on both sides
    rows = await conn.execute_fetchall(
        f"UPDATE jobs SET status = 'active', attempts = attempts + 1, updated_at = ?"
        f" WHERE id = (SELECT id FROM jobs WHERE status = 'waiting' AND queue = ? AND run_after <= ?"
        f" ORDER BY priority, run_after, id LIMIT 1) RETURNING {JOB_COLUMNS}",
        (now, queue, now),
    )
    if not rows:
        return None
    job = dict(next(iter(rows)))
    job["payload"] = json.loads(job["payload"] or "{}")
    return job


async def complete(conn: aiosqlite.Connection, job_id: int, *, now: str) -> None:
    await conn.execute(
        "UPDATE jobs SET status = 'completed', last_error = NULL, updated_at = ? WHERE id = ?", (now, job_id)
    )


async def complete_many(conn: aiosqlite.Connection, done: list[tuple[int, str]]) -> None:
    """Mark finished jobs completed: (job id, finished at) pairs, in one trip."""
    await conn.executemany(
        "UPDATE jobs SET status = 'completed', last_error = NULL, updated_at = ? WHERE id = ?",
        [(at, job_id) for job_id, at in done],
    )


async def fail(conn: aiosqlite.Connection, job_id: int, *, error: str, now: str, retry_at: str | None) -> None:
    """Record the failure; with `retry_at` the job waits again until then, otherwise it stays failed."""
    if retry_at is None:
        await conn.execute(
            "UPDATE jobs SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?", (error, now, job_id)
        )
        return
    await conn.execute(
        "UPDATE jobs SET status = 'waiting', last_error = ?, run_after = ?, updated_at = ? WHERE id = ?",
        (error, retry_at, now, job_id),
    )


async def requeue_active(conn: aiosqlite.Connection, *, now: str) -> int:
    """At start: jobs left active by a crash go back to waiting (their handlers are idempotent)."""
    cursor = await conn.execute(
        "UPDATE jobs SET status = 'waiting', updated_at = ? WHERE status = 'active'", (now,)
    )
    return cursor.rowcount


async def prune_finished(conn: aiosqlite.Connection, *, completed_before: str, failed_before: str) -> int:
    cursor = await conn.execute(
        "DELETE FROM jobs WHERE (status = 'completed' AND updated_at < ?) OR (status = 'failed' AND updated_at < ?)",
        (completed_before, failed_before),
    )
    return cursor.rowcount


async def delete_jobs(conn: aiosqlite.Connection, *, queue: str, statuses: tuple[str, ...]) -> int:
    marks = ",".join("?" for _ in statuses)
    cursor = await conn.execute(f"DELETE FROM jobs WHERE queue = ? AND status IN ({marks})", (queue, *statuses))
    return cursor.rowcount


async def count_by_status(conn: aiosqlite.Connection, *, now: str) -> dict[str, dict[str, int]]:
    """{queue: {active, completed, failed, delayed, waiting}}; `delayed` = waiting with run_after in the future."""
    counts: dict[str, dict[str, int]] = {}
    async with conn.execute(
        "SELECT queue, CASE WHEN status = 'waiting' AND run_after > ? THEN 'delayed' ELSE status END AS s,"
        " COUNT(*) FROM jobs GROUP BY queue, s",
        (now,),
    ) as cursor:
        async for queue, status, count in cursor:
            counts.setdefault(queue, {})[status] = count
    return counts


async def waiting_queues(conn: aiosqlite.Connection, *, now: str) -> set[str]:
    rows = await conn.execute_fetchall(
        "SELECT DISTINCT queue FROM jobs WHERE status = 'waiting' AND run_after <= ?", (now,)
    )
    return {row[0] for row in rows}


async def next_run_after(conn: aiosqlite.Connection) -> str | None:
    async with conn.execute("SELECT MIN(run_after) FROM jobs WHERE status = 'waiting'") as cursor:
        row = await cursor.fetchone()
    return None if row is None else row[0]


async def paused_queues(conn: aiosqlite.Connection) -> set[str]:
    return {row[0] for row in await conn.execute_fetchall("SELECT name FROM job_queues WHERE is_paused = 1")}


async def set_paused(conn: aiosqlite.Connection, *, queue: str, paused: bool, now: str) -> None:
    await conn.execute(
        "INSERT INTO job_queues (name, is_paused, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET is_paused = excluded.is_paused, updated_at = excluded.updated_at",
        (queue, int(paused), now),
    )


async def list_jobs(
    conn: aiosqlite.Connection, *, queue: str, statuses: tuple[str, ...], limit: int = 1000
) -> list[dict[str, Any]]:
    marks = ",".join("?" for _ in statuses)
    async with conn.execute(
        f"SELECT {JOB_COLUMNS}, created_at FROM jobs WHERE queue = ? AND status IN ({marks})"
        " ORDER BY priority, run_after, id LIMIT ?",
        (queue, *statuses, limit),
    ) as cursor:
        rows = [dict(row) for row in await cursor.fetchall()]
    for row in rows:
        row["payload"] = json.loads(row["payload"] or "{}")
    return rows
