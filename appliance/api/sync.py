"""Immich tag `Sync`: the mobile app's change stream (JSON lines) and its acknowledgements."""

from __future__ import annotations

import logging

import orjson
from aiohttp import web

from appliance.api.common import CORRELATION_ID, Dto, RequestValidationError, as_json, auth, body, services
from appliance.api.routing import Router

log = logging.getLogger(__name__)
router = Router()

CONTENT_TYPE = "application/jsonlines+json"


class SyncStreamDto(Dto):
    types: list[str]
    reset: bool | None = None


class SyncAckSetDto(Dto):
    acks: list[str]


class SyncAckDeleteDto(Dto):
    types: list[str] | None = None


def _encode(lines: list[dict[str, object]]) -> bytes:
    # orjson: a 100k-asset first sync is ~200k lines, and the stdlib encoder was most of its time
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


@router.post("/sync/stream", permission="sync.stream")
async def get_sync_stream(request: web.Request) -> web.StreamResponse:
    dto_in = await body(request, SyncStreamDto)
    svc, context = services(request), auth(request)
    svc.sync.check_request(context, dto_in.types)  # refusals still go out as JSON errors
    response = web.StreamResponse(status=200)
    response.content_type = CONTENT_TYPE
    response.headers["X-Correlation-ID"] = request[CORRELATION_ID]
    await response.prepare(request)
    try:
        async for batch in svc.sync.stream(context, dto_in.types, bool(dto_in.reset)):
            await response.write(_encode(batch))
    except (ConnectionResetError, OSError):
        raise
    except Exception:
        # Headers are gone; cut the connection so the app sees no SyncCompleteV1 and tries again later.
        log.exception("sync stream failed [%s]", request[CORRELATION_ID])
        if request.transport is not None:
            request.transport.close()
        return response
    await response.write_eof()
    return response


@router.post("/sync/ack", permission="syncCheckpoint.update")
async def send_sync_ack(request: web.Request) -> web.Response:
    dto_in = await body(request, SyncAckSetDto)
    if len(dto_in.acks) > 1000:
        raise RequestValidationError(["acks must contain no more than 1000 elements"])
    await services(request).sync.set_acks(auth(request), dto_in.acks)
    return web.Response(status=204)


@router.get("/sync/ack", permission="syncCheckpoint.read")
async def get_sync_ack(request: web.Request) -> web.Response:
    return as_json(await services(request).sync.get_acks(auth(request)))


@router.delete("/sync/ack", permission="syncCheckpoint.delete")
async def delete_sync_ack(request: web.Request) -> web.Response:
    dto_in = await body(request, SyncAckDeleteDto)
    await services(request).sync.delete_acks(auth(request), dto_in.types)
    return web.Response(status=204)
