"""The job service behind Immich's job API: queue counts and status, start/pause/resume/empty/clear-failed,
manual jobs, and the 3.x `/queues` shapes. Returns plain dicts in Immich's DTO shapes; the API module only
parses and serialises."""

from __future__ import annotations

from typing import Any

from appliance import clock as clocks
from appliance.errors import BadRequest
from appliance.jobs.queues import (
    METADATA,
    PRIORITY_BACKLOG,
    PRIORITY_UPLOAD,
    QUEUE_NAMES,
    SIDECAR,
    THUMBNAILS,
    VIDEO,
)
from appliance.jobs.runner import JobRunner
from appliance.storage import asset_media
from appliance.storage import jobs as job_sql
from appliance.storage.db import Database

QUEUE_COMMANDS = ("start", "pause", "resume", "empty", "clear-failed")

# What `start` enqueues for each queue: (asset selection, job name, dedupe prefix).
_START_WORK = {
    METADATA: ("metadata", "AssetExtractMetadata", "metadata"),
    THUMBNAILS: ("thumbnails", "AssetGenerateThumbnails", "thumbs"),
    VIDEO: ("video", "AssetEncodeVideo", "video"),
    SIDECAR: ("sidecar", "SidecarCheck", "sidecar"),
}
_BATCH = 1000

# `POST /assets/jobs` (AssetJobName) → (queue, job name, dedupe prefix); refresh-faces has no job here yet.
ASSET_JOBS = {
    "refresh-metadata": (METADATA, "AssetExtractMetadata", "metadata"),
    "regenerate-thumbnail": (THUMBNAILS, "AssetGenerateThumbnails", "thumbs"),
    "transcode-video": (VIDEO, "AssetEncodeVideo", "video"),
    "refresh-faces": None,
}


class JobService:
    def __init__(self, db: Database, runner: JobRunner, *, clock: clocks.Clock = clocks.utc_now) -> None:
        self.db = db
        self.runner = runner
        self.clock = clock

    def _now(self) -> str:
        return clocks.iso(self.clock())

    @staticmethod
    def check_queue(name: str) -> str:
        if name not in QUEUE_NAMES:
            raise BadRequest(f"name must be one of the following values: {', '.join(QUEUE_NAMES)}")
        return name

    async def statistics(self) -> tuple[dict[str, dict[str, int]], set[str]]:
        async with self.db.reader() as conn:
            counts = await job_sql.count_by_status(conn, now=self._now())
            paused = await job_sql.paused_queues(conn)
        result = {}
        for queue in QUEUE_NAMES:
            found = counts.get(queue, {})
            stats = {key: int(found.get(key, 0)) for key in ("active", "completed", "failed", "delayed", "waiting")}
            stats["paused"] = stats["waiting"] if queue in paused else 0
            result[queue] = stats
        return result, paused

    def _legacy(self, queue: str, stats: dict[str, int], paused: set[str]) -> dict[str, Any]:
        return {
            "jobCounts": stats,
            "queueStatus": {"isActive": stats["active"] > 0, "isPaused": queue in paused},
        }

    async def queues_legacy(self) -> dict[str, Any]:
        """`GET /jobs` (QueuesResponseLegacyDto)."""
        stats, paused = await self.statistics()
        return {queue: self._legacy(queue, stats[queue], paused) for queue in QUEUE_NAMES}

    async def queues(self) -> list[dict[str, Any]]:
        """`GET /queues` (QueueResponseDto[])."""
        stats, paused = await self.statistics()
        return [{"name": q, "isPaused": q in paused, "statistics": stats[q]} for q in QUEUE_NAMES]

    async def queue(self, name: str) -> dict[str, Any]:
        """`GET /queues/{name}` (QueueResponseDto)."""
        self.check_queue(name)
        stats, paused = await self.statistics()
        return {"name": name, "isPaused": name in paused, "statistics": stats[name]}

    async def update_queue(self, name: str, *, is_paused: bool | None) -> dict[str, Any]:
        """`PUT /queues/{name}` body QueueUpdateDto."""
        self.check_queue(name)
        if is_paused is not None:
            await self._set_paused(name, is_paused)
        return await self.queue(name)

    async def run_command(self, name: str, command: str, *, force: bool = False) -> dict[str, Any]:
        """`PUT /jobs/{name}` body QueueCommandDto; answers QueueResponseLegacyDto."""
        self.check_queue(name)
        if command not in QUEUE_COMMANDS:
            raise BadRequest(f"command must be one of the following values: {', '.join(QUEUE_COMMANDS)}")
        if command == "start":
            await self.start(name, force=force)
        elif command in ("pause", "resume"):
            await self._set_paused(name, command == "pause")
        elif command == "empty":
            await self.empty(name, failed=False)
        else:
            await self.empty(name, failed=True)
        stats, paused = await self.statistics()
        return self._legacy(name, stats[name], paused)

    async def start(self, name: str, *, force: bool) -> int:
        """Queue the queue's work for every asset (`force`) or only those missing it; returns how many."""
        work = _START_WORK.get(name)
        if work is None:
            return 0
        selection, job_name, prefix = work
        async with self.db.reader() as conn:
            ids = await asset_media.asset_ids_for(conn, work=selection, force=force)
        for offset in range(0, len(ids), _BATCH):
            now = self._now()
            async with self.db.transaction() as conn:
                for asset_id in ids[offset : offset + _BATCH]:
                    await job_sql.enqueue(
                        conn, queue=name, name=job_name, payload={"id": asset_id, "source": "admin"}, now=now,
                        priority=PRIORITY_BACKLOG, dedupe_key=f"{prefix}:{asset_id}",
                    )
        self.runner.notify()
        return len(ids)

    async def run_asset_jobs(self, asset_ids: list[str], name: str) -> None:
        """`POST /assets/jobs`: a user asked for these assets again, so they go before any backlog.
        The caller has checked access to every id."""
        if name not in ASSET_JOBS:
            raise BadRequest(f"name must be one of the following values: {', '.join(ASSET_JOBS)}")
        work = ASSET_JOBS[name]
        if work is None:
            return
        queue, job_name, prefix = work
        now = self._now()
        async with self.db.transaction() as conn:
            for asset_id in asset_ids:
                await job_sql.enqueue(
                    conn, queue=queue, name=job_name, payload={"id": asset_id, "source": "user"}, now=now,
                    priority=PRIORITY_UPLOAD, dedupe_key=f"{prefix}:{asset_id}",
                )
        self.runner.notify()

    async def empty(self, name: str, *, failed: bool) -> int:
        """Drop waiting (and delayed) jobs, or with `failed` the failed ones. Running jobs finish."""
        self.check_queue(name)
        statuses = ("failed",) if failed else ("waiting",)
        async with self.db.transaction() as conn:
            return await job_sql.delete_jobs(conn, queue=name, statuses=statuses)

    async def _set_paused(self, name: str, paused: bool) -> None:
        async with self.db.transaction() as conn:
            await job_sql.set_paused(conn, queue=name, paused=paused, now=self._now())
        self.runner.notify()

    async def jobs(self, name: str, *, statuses: tuple[str, ...]) -> list[dict[str, Any]]:
        """`GET /queues/{name}/jobs` (QueueJobResponseDto[])."""
        self.check_queue(name)
        async with self.db.reader() as conn:
            rows = await job_sql.list_jobs(conn, queue=name, statuses=statuses)
        return [
            {
                "id": str(row["id"]),
                "name": row["name"],
                "data": row["payload"],
                "timestamp": int(clocks.parse_iso(row["created_at"]).timestamp() * 1000),
            }
            for row in rows
        ]

    async def create_manual_job(self, name: str) -> None:
        """Validate a `POST /jobs` (JobCreateDto) name; the API runs the ones this server supports."""
        from appliance.jobs.queues import MANUAL_JOB_NAMES

        if name not in MANUAL_JOB_NAMES:
            raise BadRequest(f"name must be one of the following values: {', '.join(MANUAL_JOB_NAMES)}")
