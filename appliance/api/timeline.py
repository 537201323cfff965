"""Immich tag `Timeline`: month buckets and one bucket's assets in columns (3.x format)."""

from __future__ import annotations

from typing import Literal

from aiohttp import web

from appliance.api.assets import _uuids
from appliance.api.common import Dto, as_json, auth, json_bytes, query, services
from appliance.api.compression import MIN_BYTES, accepts_gzip, gzipped
from appliance.api.routing import Router

router = Router()


class TimeBucketQuery(Dto):
    albumId: str | None = None
    isFavorite: bool | None = None
    isTrashed: bool | None = None
    order: Literal["asc", "desc"] | None = None
    personId: str | None = None
    tagId: str | None = None
    userId: str | None = None
    visibility: Literal["archive", "timeline", "hidden", "locked"] | None = None
    withPartners: bool | None = None
    withStacked: bool | None = None
    withCoordinates: bool | None = None
    timeBucket: str | None = None


def _params(request: web.Request) -> dict[str, object]:
    params = query(request, TimeBucketQuery)
    for name in ("albumId", "personId", "tagId", "userId"):
        value = getattr(params, name)
        if value:
            _uuids([value], name)
    return params.model_dump(exclude_none=True)


@router.get("/timeline/buckets", permission="asset.read", shared_link=True)
async def time_buckets(request: web.Request) -> web.Response:
    return as_json(await services(request).browse.timeline.buckets(auth(request), _params(request)))


@router.get("/timeline/bucket", permission="asset.read", shared_link=True)
async def time_bucket(request: web.Request) -> web.Response:
    params = _params(request)
    if not params.get("timeBucket"):
        from appliance.api.common import RequestValidationError

        raise RequestValidationError(["timeBucket must be a string", "timeBucket should not be empty"])
    month = await services(request).browse.timeline.month(auth(request), params)
    takes_gzip = accepts_gzip(request.headers.get("Accept-Encoding", ""))
    if month.packed is not None and month.size >= MIN_BYTES and takes_gzip:
        return gzipped(json_bytes(b""), month.packed)  # kept gzipped (TimelineService): sent as it is
    return json_bytes(month.json())
