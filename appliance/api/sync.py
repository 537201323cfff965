"""Immich tag `Sync`: the mobile app's change stream (JSON lines) and its acknowledgements."""

from __future__ import annotations

import logging

import orjson
from aiohttp import web

from appliance.api.common import CORRELATION_ID, Dto, RequestValidationError, as_json, auth, body, services
from appliance.api.routing import Router
from appliance.errors import BadRequest

log = logging.getLogger(__name__)
router = Router()

CONTENT_TYPE = "application/jsonlines+json"


def _stream_request(raw: bytes) -> tuple[list[str], bool]:
    """`SyncStreamDto` read by hand: the app's first sync right after start-up should not wait for a
    deferred pydantic schema build (~70 ms on a small board) before its first line."""
    try:
        data = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError as err:
        raise BadRequest("Invalid JSON body") from err
    types = data.get("types") if isinstance(data, dict) else None
    if not isinstance(types, list) or not all(isinstance(kind, str) for kind in types):
        raise RequestValidationError(["types must be an array of SyncRequestType values"])
    reset = data.get("reset")
    if reset is not None and not isinstance(reset, bool):
        raise RequestValidationError(["reset must be a boolean value"])
    return types, bool(reset)


class SyncAckSetDto(Dto):
    acks: list[str]


class SyncAckDeleteDto(Dto):
    types: list[str] | None = None


def _encode(lines: list[dict[str, object]]) -> bytes:
    # orjson: a 100k-asset first sync is ~200k lines, and the stdlib encoder was most of its time
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


@router.post("/sync/stream", permission="sync.stream")
async def get_sync_stream(request: web.Request) -> web.StreamResponse:
    types, reset = _stream_request(await request.read())
    svc, context = services(request), auth(request)
    svc.sync.check_request(context, types)  # refusals still go out as JSON errors
    response = web.StreamResponse(status=200)
    response.content_type = CONTENT_TYPE
    response.headers["X-Correlation-ID"] = request[CORRELATION_ID]
    await response.prepare(request)
    try:
        async for batch in svc.sync.stream(context, types, reset):
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
