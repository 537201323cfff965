"""The timeline: which months have assets, and one month's assets, for the web and the mobile app."""

from __future__ import annotations

import re
from binascii import b2a_base64
from typing import Any

from appliance.errors import BadRequest
from appliance.library.auth import AuthContext
from appliance.library.partners import PartnerService
from appliance.library.tags import TagService
from appliance.storage.timeline import TimelineFilter, TimelineRepository

_BUCKET = re.compile(r"^(\d{4})-(\d{2})-01(T00:00:00(\.000)?Z?)?$")


def parse_bucket(value: str) -> str:
    """'YYYY-MM-01' from either form clients send ('YYYY-MM-DD' or 'YYYY-MM-01T00:00:00.000Z')."""
    match = _BUCKET.match(value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BadRequest("timeBucket must be a valid date")
    return f"{match.group(1)}-{match.group(2)}-01"


class TimelineService:
    def __init__(self, repo: TimelineRepository, partners: PartnerService, tags: TagService, access: Any) -> None:
        self.repo = repo
        self.partners = partners
        self.tags = tags
        self.access = access

    async def build_filter(self, context: AuthContext, params: dict[str, Any]) -> TimelineFilter:
        f = TimelineFilter(
            owner_ids=[context.user_id],
            visibility=params.get("visibility"),
            is_favorite=params.get("isFavorite"),
            is_trashed=bool(params.get("isTrashed")),
            with_stacked=bool(params.get("withStacked")),
            order_desc=params.get("order", "desc") != "asc",
            with_coordinates=bool(params.get("withCoordinates")),
        )
        if context.shared_link is not None:
            album_id = getattr(context.shared_link.link, "album_id", None)
            if not album_id or params.get("albumId") not in (None, album_id):
                raise BadRequest("Not found or no album.read access")
            params = {**params, "albumId": album_id}
        if params.get("albumId"):
            if await self.access.album_role(context, params["albumId"]) is None:
                raise BadRequest("Not found or no album.read access")
            f.album_id = params["albumId"]
            f.owner_ids = await self.repo.album_owner_ids(params["albumId"])
        elif params.get("userId") and params["userId"] != context.user_id:
            if not await self.partners.shares_with(params["userId"], context.user_id):
                raise BadRequest("Not found or no timeline.read access")
            f.owner_ids = [params["userId"]]
        if params.get("withPartners"):
            if f.visibility == "archive" or f.is_favorite or f.is_trashed:
                raise BadRequest(
                    "withPartners is only supported for non-archived, non-trashed, non-favorited assets"
                )
            f.owner_ids = [*f.owner_ids, *await self.partners.timeline_owner_ids(context.user_id)]
        if params.get("tagId"):
            await self.tags.get(context, params["tagId"])
            f.tag_ids = await self.tags.tags.with_descendants([params["tagId"]])
        if params.get("personId"):
            f.nothing = True  # no face detection yet: no person has assets
        if f.visibility == "locked" and context.shared_link is not None:
            f.nothing = True
        return f

    async def buckets(self, context: AuthContext, params: dict[str, Any]) -> list[dict[str, Any]]:
        f = await self.build_filter(context, params)
        return [{"timeBucket": month, "count": n} for month, n in await self.repo.buckets(f)]

    async def bucket(self, context: AuthContext, params: dict[str, Any]) -> dict[str, Any]:
        month = parse_bucket(params["timeBucket"])
        f = await self.build_filter(context, params)
        names, rows = await self.repo.bucket(f, month)
        hide_location = context.shared_link is not None and not context.shared_link.link.show_metadata
        return columns(f, names, rows, with_coordinates=f.with_coordinates and not hide_location,
                       viewer_id=context.user_id)


def columns(f: TimelineFilter, names: list[str], rows: list[Any], *, with_coordinates: bool, viewer_id: str
            ) -> dict[str, Any]:
    """Rows (with TimelineRepository.bucket's column names) → Immich's columnar TimeBucketAssetResponseDto.
    Transposed with zip: a month of a few thousand photos costs a few list comprehensions, not a loop per row.
    Columns the filter makes constant (one owner, one visibility) are not read, only repeated."""
    n = len(rows)
    c = dict(zip(names, zip(*rows, strict=True) if rows else [()] * len(names), strict=True))
    owners = c["owner_id"] if "owner_id" in c else [f.owner_ids[0] if f.owner_ids else None] * n
    out: dict[str, Any] = {
        "id": list(c["id"]),
        "ownerId": list(owners),
        "ratio": list(c["ratio"]),
        # as Immich: a partner's or album member's favourite is theirs, not the viewer's
        "isFavorite": [v == 1 and o == viewer_id for v, o in zip(c["is_favorite"], owners, strict=True)],
        "isImage": list(map(bool, c["is_image"])),
        "isTrashed": [f.is_trashed] * n,  # the filter takes either the trash or everything else
        "visibility": list(c["visibility"]) if "visibility" in c else [f.visibility] * n,
        "fileCreatedAt": list(c["file_created_at"]),
        "localOffsetHours": [0 if v is None else (int(v) if v == int(v) else v) for v in c["offset_hours"]],
        "createdAt": list(c["created_at"]),
        "duration": list(c["duration_ms"]),
        "thumbhash": [b2a_base64(v, newline=False).decode() if v else None for v in c["thumbhash"]],
        "livePhotoVideoId": list(c["live_photo_video_id"]),
        "projectionType": list(c["projection_type"]),
        "city": list(c["city"]),
        "country": list(c["country"]),
    }
    if with_coordinates:
        out["latitude"], out["longitude"] = list(c["latitude"]), list(c["longitude"])
    if f.with_stacked:
        out["stack"] = [[s, str(k)] if s else None for s, k in zip(c["stack_id"], c["stack_count"], strict=True)]
    return out
