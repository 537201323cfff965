"""The timeline: which months have assets, and one month's assets, for the web and the mobile app."""

from __future__ import annotations

import asyncio
import re
from binascii import a2b_hex, b2a_base64
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from appliance.errors import BadRequest
from appliance.gz import FAST, gunzip_bytes, gzip_bytes
from appliance.library.context import AuthContext
from appliance.library.partners import PartnerService
from appliance.library.tags import TagService
from appliance.storage.timeline import TimelineFilter, TimelineRepository

PACK_THREAD_BYTES = 256 * 1024  # bigger months are compressed on a worker thread (isal lets go of the lock)
PACK_ZLIB_BYTES = 512 * 1024
_BUCKET = re.compile(r"^(\d{4})-(\d{2})-01(T00:00:00(\.000)?Z?)?$")


def parse_bucket(value: str) -> str:
    """'YYYY-MM-01' from either form clients send ('YYYY-MM-DD' or 'YYYY-MM-01T00:00:00.000Z')."""
    match = _BUCKET.match(value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BadRequest("timeBucket must be a valid date")
    return f"{match.group(1)}-{match.group(2)}-01"


@dataclass(frozen=True)
class MonthBody:
    """One month's JSON (`size` bytes): as built (`raw`), gzipped (`packed`: as the month cache keeps it and
    the API sends it to clients that take gzip, not compressed again), or both."""

    size: int
    raw: bytes | None = None
    packed: bytes | None = None

    def json(self) -> bytes:
        if self.raw is not None:
            return self.raw
        assert self.packed is not None
        return gunzip_bytes(self.packed)

    @property
    def kept_bytes(self) -> int:
        return len(self.packed if self.packed is not None else self.raw or b"")


class MonthCache:
    """Months of the timeline already built, gzipped (~4x smaller: at 1M assets a big month is ~880 KB of JSON,
    ~230 KB gzipped), least recently used first out, each under the versions of its owners' month at the
    time it was read (`TimelineRepository.month_versions`, raised by triggers at every change that can alter
    the month: its assets, and the stacks they belong to): an entry is given only while those versions are
    unchanged, and a change to one month leaves the others kept.

    The versions are read before the month, so a month stored is never older than its versions; they only
    grow, so a month read later than its versions say can only be found by nobody. The web app asks for the
    same months again at every visit and scroll back."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[Any, ...], tuple[tuple[int, ...], MonthBody]] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[Any, ...], versions: tuple[int, ...]) -> MonthBody | None:
        item = self._items.get(key)
        if item is None or item[0] != versions:
            return None
        self._items.move_to_end(key)
        return item[1]

    def put(self, key: tuple[Any, ...], versions: tuple[int, ...], body: MonthBody) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old[1].kept_bytes
        if body.kept_bytes > self.max_bytes // 4:
            return
        self._items[key] = (versions, body)
        self._bytes += body.kept_bytes
        while self._bytes > self.max_bytes:
            _, (_, dropped) = self._items.popitem(last=False)
            self._bytes -= dropped.kept_bytes


class TimelineService:
    def __init__(self, repo: TimelineRepository, partners: PartnerService, tags: TagService, access: Any,
                 cache_bytes: int = 24 * 1024 * 1024) -> None:
        self.repo = repo
        self.partners = partners
        self.tags = tags
        self.access = access
        self.cache = MonthCache(cache_bytes)

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

    async def bucket(self, context: AuthContext, params: dict[str, Any]) -> bytes:
        """One month as the JSON bytes of Immich's columnar TimeBucketAssetResponseDto."""
        return (await self.month(context, params)).json()

    async def month(self, context: AuthContext, params: dict[str, Any]) -> MonthBody:
        """`bucket`, as kept: gzipped when it comes from (or went into) the month cache."""
        month = parse_bucket(params["timeBucket"])
        f = await self.build_filter(context, params)
        hide_location = context.shared_link is not None and not context.shared_link.link.show_metadata
        if f.with_coordinates:
            names, rows = await self.repo.bucket(f, month)
            raw = orjson.dumps(columns(f, names, rows, with_coordinates=not hide_location,
                                       viewer_id=context.user_id))
            return MonthBody(len(raw), raw)
        if f.album_id or f.tag_ids is not None or f.nothing or context.shared_link is not None:
            n, arrays = await self.repo.bucket_json(f, month, context.user_id)
            raw = json_columns(f, n, arrays)
            return MonthBody(len(raw), raw)
        # what the month shows depends on its owners' assets and stacks (versioned), the filter and the viewer
        key = (context.user_id, tuple(f.owner_ids), f.visibility, f.is_favorite, f.is_trashed, f.with_stacked,
               f.order_desc, month)
        versions = await self.repo.month_versions(f.owner_ids, month)
        kept = self.cache.get(key, versions)
        if kept is not None:
            return kept
        n, arrays = await self.repo.bucket_json(f, month, context.user_id)
        raw = json_columns(f, n, arrays)
        if self.cache.max_bytes <= 0:
            return MonthBody(len(raw), raw)
        packed = await _pack(raw)
        self.cache.put(key, versions, MonthBody(len(raw), None if packed else raw, packed))
        return MonthBody(len(raw), raw, packed)


async def _pack(raw: bytes) -> bytes | None:
    """The gzip of a month to keep, or None to keep it as it is: with zlib only (no isal wheel), a big month
    costs ~8 ms to compress here, as the API's compression (appliance/api/compression.py) would not either."""
    if not FAST and len(raw) > PACK_ZLIB_BYTES:
        return None
    return await asyncio.to_thread(gzip_bytes, raw) if len(raw) >= PACK_THREAD_BYTES else gzip_bytes(raw)


def _repeat(value: Any, n: int) -> bytes:
    return b"[" + b",".join([orjson.dumps(value)] * n) + b"]"


def _thumbhashes(hexes: bytes | None) -> bytes:
    """The JSON array of base64 thumbhashes from their hex, comma-separated ('-' for none)."""
    if not hexes:
        return b"[]"
    parts = hexes.split(b",")
    if b"-" not in parts:
        return b'["' + b'","'.join([b2a_base64(a2b_hex(h), newline=False) for h in parts]) + b'"]'
    return b"[" + b",".join([b'"' + b2a_base64(a2b_hex(h), newline=False) + b'"' if h != b"-" else b"null"
                             for h in parts]) + b"]"


def json_columns(f: TimelineFilter, n: int, arrays: dict[str, bytes]) -> bytes:
    """TimelineRepository.bucket_json's arrays → the bytes `orjson.dumps(columns(...))` gives for the same
    month (same keys in the same order), without a Python object per photo and field."""
    owners = arrays["owner_id"] if "owner_id" in arrays else _repeat(f.owner_ids[0] if f.owner_ids else None, n)
    fields: list[tuple[bytes, bytes]] = [
        (b"id", arrays["id"]),
        (b"ownerId", owners),
        (b"ratio", arrays["ratio"]),
        (b"isFavorite", arrays["is_favorite"]),
        (b"isImage", arrays["is_image"]),
        (b"isTrashed", _repeat(f.is_trashed, n)),
        (b"visibility", arrays["visibility"] if "visibility" in arrays else _repeat(f.visibility, n)),
        (b"fileCreatedAt", arrays["file_created_at"]),
        (b"localOffsetHours", arrays["offset_hours"]),
        (b"createdAt", arrays["created_at"]),
        (b"duration", arrays["duration_ms"]),
        (b"thumbhash", _thumbhashes(arrays["thumbhash"])),
        (b"livePhotoVideoId", arrays["live_photo_video_id"]),
        (b"projectionType", arrays["projection_type"]),
        (b"city", arrays["city"]),
        (b"country", arrays["country"]),
    ]
    if f.with_stacked:
        fields.append((b"stack", arrays["stack_id"]))
    return b"{" + b",".join([b'"' + key + b'":' + value for key, value in fields]) + b"}"


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
