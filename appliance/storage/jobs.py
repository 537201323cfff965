"""SQL for the job table. The queue's rules (claiming, retries, concurrency) live in `appliance/jobs/`;
`enqueue` is here so a service can queue a job inside the transaction that writes the row it concerns."""

from __future__ import annotations

import json
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
    await conn.execute(
        "INSERT INTO jobs (queue, name, payload, dedupe_key, priority, status, run_after, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 'waiting', ?, ?, ?) ON CONFLICT DO NOTHING",
        (queue, name, json.dumps(payload), dedupe_key, priority, run_after or now, now, now),
    )
