"""Immich tags `Jobs` and `Queues` (admin only): counts, commands, manual jobs, the 3.x queue views."""

from __future__ import annotations

from typing import Literal

from aiohttp import web

from appliance.api.common import Dto, as_json, auth, body, no_content, query, services
from appliance.api.routing import Router
from appliance.errors import BadRequest
from appliance.jobs.service import JobService
from appliance.library.access import UPDATE

router = Router()

QueueCommand = Literal["start", "pause", "resume", "empty", "clear-failed"]
JobStatus = Literal["active", "failed", "completed", "delayed", "waiting", "paused"]


class QueueCommandDto(Dto):
    command: QueueCommand
    force: bool = False


class JobCreateDto(Dto):
    name: str


class QueueUpdateDto(Dto):
    isPaused: bool | None = None


class QueueDeleteDto(Dto):
    failed: bool = False


class AssetJobsDto(Dto):
    assetIds: list[str]
    name: str


class QueueJobsQuery(Dto):
    status: list[JobStatus] | None = None


def job_service(request: web.Request) -> JobService:
    system = services(request).extras.get("jobs")
    if system is None:
        raise BadRequest("Background jobs are disabled on this server")
    service: JobService = system.service
    return service


@router.get("/jobs", permission="job.read", admin=True)
async def get_queues_legacy(request: web.Request) -> web.Response:
    return as_json(await job_service(request).queues_legacy())


@router.put("/jobs/{name}", permission="job.create", admin=True)
async def run_queue_command_legacy(request: web.Request) -> web.Response:
    dto = await body(request, QueueCommandDto)
    result = await job_service(request).run_command(request.match_info["name"], dto.command, force=dto.force)
    return as_json(result)


@router.post("/jobs", permission="job.create", admin=True)
async def create_job(request: web.Request) -> web.Response:
    dto = await body(request, JobCreateDto)
    await job_service(request).create_manual_job(dto.name)  # validates the name
    svc = services(request)
    if dto.name == "memory-create":
        await svc.browse.memories.generate(svc.clock().date())
    elif dto.name == "person-cleanup":
        pass  # there is no face detection, so there are no people to clean up: the job is truly done
    else:
        raise BadRequest(f"The manual job {dto.name} is not supported on this server")
    return no_content()


@router.post("/assets/jobs", permission="asset.update")
async def run_asset_jobs(request: web.Request) -> web.Response:
    dto = await body(request, AssetJobsDto)
    svc = services(request)
    allowed = await svc.access.asset_ids(auth(request), dto.assetIds, UPDATE)
    if len(allowed) != len(set(dto.assetIds)):
        raise BadRequest("Not found or no asset.update access")
    await job_service(request).run_asset_jobs(list(dict.fromkeys(dto.assetIds)), dto.name)
    return no_content()


@router.get("/queues", permission="queue.read", admin=True)
async def get_queues(request: web.Request) -> web.Response:
    return as_json(await job_service(request).queues())


@router.get("/queues/{name}", permission="queue.read", admin=True)
async def get_queue(request: web.Request) -> web.Response:
    return as_json(await job_service(request).queue(request.match_info["name"]))


@router.put("/queues/{name}", permission="queue.update", admin=True)
async def update_queue(request: web.Request) -> web.Response:
    dto = await body(request, QueueUpdateDto)
    return as_json(await job_service(request).update_queue(request.match_info["name"], is_paused=dto.isPaused))


@router.get("/queues/{name}/jobs", permission="queueJob.read", admin=True)
async def get_queue_jobs(request: web.Request) -> web.Response:
    params = query(request, QueueJobsQuery)
    statuses = tuple(params.status or ("active", "waiting", "delayed", "failed"))
    return as_json(await job_service(request).jobs(request.match_info["name"], statuses=statuses))


@router.delete("/queues/{name}/jobs", permission="queueJob.delete", admin=True)
async def empty_queue(request: web.Request) -> web.Response:
    dto = await body(request, QueueDeleteDto)
    await job_service(request).empty(request.match_info["name"], failed=dto.failed)
    return no_content()
