"""Immich tags `Assets` and `Trash`: upload, read, update, delete, and serving the files."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote, urlencode

from aiohttp import web

from appliance.api import dto
from appliance.api.common import Dto, RequestValidationError, as_json, auth, body, query, services, uuid_param
from appliance.api.multipart import BodySource, MultipartParser, boundary_of
from appliance.api.routing import Router
from appliance.api.upload_body import read_body_in_thread
from appliance.clock import parse_iso
from appliance.errors import BadRequest, PayloadTooLarge
from appliance.ids import is_uuid
from appliance.library.assets import ServedFile, decode_checksum
from appliance.library.context import AuthContext
from appliance.library.ingest import IngestRequest, IngestService, StagingUpload
from appliance.storage.files import StagedFile

log = logging.getLogger(__name__)
router = Router()

Visibility = Literal["archive", "timeline", "hidden", "locked"]
FIELD_LIMIT = 64 * 1024
UPLOAD_READ_SIZE = 1024 * 1024
FILE_CACHE = "private, max-age=86400, no-transform"


class BulkUploadCheckItem(Dto):
    id: str
    checksum: str


class BulkUploadCheckDto(Dto):
    assets: list[BulkUploadCheckItem]


class CheckExistingAssetsDto(Dto):
    deviceAssetIds: list[str]
    deviceId: str


class UpdateAssetDto(Dto):
    dateTimeOriginal: str | None = None
    description: str | None = None
    isFavorite: bool | None = None
    latitude: float | None = None
    longitude: float | None = None
    livePhotoVideoId: str | None = None
    rating: int | None = None
    visibility: Visibility | None = None


class AssetBulkUpdateDto(UpdateAssetDto):
    ids: list[str]
    duplicateId: str | None = None
    timeZone: str | None = None
    dateTimeRelative: float | None = None


class AssetBulkDeleteDto(Dto):
    ids: list[str]
    force: bool = False


class BulkIdsDto(Dto):
    ids: list[str]


class StatisticsQuery(Dto):
    visibility: Visibility | None = None
    isFavorite: bool | None = None
    isTrashed: bool | None = None


class ThumbnailQuery(Dto):
    size: Literal["thumbnail", "preview", "fullsize", "original"] = "thumbnail"


def _uuids(ids: list[str], name: str = "ids") -> list[str]:
    bad = [i for i in ids if not is_uuid(i)]
    if bad:
        raise RequestValidationError([f"each value in {name} must be a UUID"])
    return [i.lower() for i in ids]


# --- upload ------------------------------------------------------------------------------------
def _widen_socket_reads(request: web.Request) -> None:
    """Let each socket read on this connection take up to `UPLOAD_READ_SIZE` instead of asyncio's 256 KiB:
    a quarter of the reads, parser calls and hand-offs per uploaded byte, for the one thread that runs
    every request (measured: about a quarter less of its CPU per GB). `max_size` is an attribute of
    asyncio's selector transport; other transports do not have it and keep their own size."""
    transport = request.transport
    if transport is not None and isinstance(getattr(transport, "max_size", None), int):
        transport.max_size = max(transport.max_size, UPLOAD_READ_SIZE)  # type: ignore[attr-defined]


@dataclass
class ReceivedUpload:
    fields: dict[str, str] = field(default_factory=dict)
    staged: dict[str, StagedFile] = field(default_factory=dict)
    part_names: dict[str, str] = field(default_factory=dict)

    def discard_blocking(self) -> None:
        for leftover in self.staged.values():
            leftover.path.unlink(missing_ok=True)


def _receive_parts_blocking(source: BodySource, boundary: str, ingest: IngestService) -> ReceivedUpload:
    """Read the whole multipart body (in an upload thread): small fields into memory, the file parts
    hashed and written to staging as they arrive. On any failure nothing stays staged."""
    received = ReceivedUpload()
    upload: StagingUpload | None = None
    try:
        parser = MultipartParser(source, boundary)
        while (part := parser.next_part()) is not None:
            if part.headers.get("Content-Type", "").lower().startswith("multipart/"):
                raise BadRequest("Nested multipart bodies are not supported")
            name = part.name
            if name in ("assetData", "sidecarData"):
                if name in received.staged:
                    raise BadRequest(f"{name} was sent twice")
                received.part_names[name] = part.filename or ""
                if name == "assetData" and part.filename:
                    ingest.validate_filename(received.fields.get("filename") or part.filename)
                upload = ingest.open_upload_blocking()
                parser.stream_file(upload.write)
                received.staged[name] = upload.finish()
                upload = None
            else:
                received.fields[name] = parser.read_field(name, FIELD_LIMIT).decode("utf-8", errors="replace")
    except BaseException:
        if upload is not None:
            upload.abort()
        received.discard_blocking()
        raise
    return received


def _parse_bool(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def _parse_duration_ms(value: str | None) -> int | None:
    """Milliseconds (3.x) or the legacy "H:MM:SS.ffffff"; "0" and junk mean unknown."""
    if not value:
        return None
    text = value.strip()
    try:
        if ":" in text:
            hours, minutes, seconds = text.split(":")
            total = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
            return int(round(total * 1000)) or None
        number = float(text)
        return int(number) or None
    except ValueError:
        return None


def _parse_metadata(raw: str | None) -> list[tuple[str, dict[str, Any]]]:
    """The multipart `metadata` field: a JSON list of {key, value} (the app's iCloud ids)."""
    if not raw:
        return []
    try:
        items = json.loads(raw)
    except ValueError as err:
        raise RequestValidationError(["metadata must be a JSON array"]) from err
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("key"), str) and isinstance(i.get("value"), dict) for i in items
    ):
        raise RequestValidationError(["metadata must be a list of {key, value} objects"])
    return [(item["key"], item["value"]) for item in items]


def _parse_date(fields: dict[str, str], name: str) -> datetime:
    raw = fields.get(name)
    if not raw:
        raise RequestValidationError([f"{name} must be a Date instance"])
    try:
        return parse_iso(raw)
    except ValueError as err:
        raise RequestValidationError([f"{name} must be a Date instance"]) from err


async def _drain(request: web.Request) -> None:
    """Read and drop the rest of a body we will not use, so the client sees our answer cleanly."""
    while await request.content.readany():
        pass


@router.post("/assets", permission="asset.upload", shared_link=True)
async def upload_asset(request: web.Request) -> web.Response:
    svc = services(request)
    context = auth(request)
    owner_id = await _upload_owner(context)
    if request.content_length and request.content_length > svc.settings.max_upload_bytes + 1024 * 1024:
        raise PayloadTooLarge("File too large")

    checksum_header = request.headers.get("x-immich-checksum")
    if checksum_header:
        existing = await svc.ingest.find_duplicate(owner_id, decode_checksum(checksum_header))
        if existing is not None:
            await _drain(request)
            return as_json({"id": existing.id, "status": "duplicate"})

    if not (request.content_type or "").startswith("multipart/"):
        raise BadRequest("Expected a multipart/form-data body")
    _widen_socket_reads(request)
    boundary = boundary_of(request.headers.get("Content-Type", ""))
    received = await read_body_in_thread(
        request, lambda source: _receive_parts_blocking(source, boundary, svc.ingest)
    )
    fields, staged, part_names = received.fields, received.staged, received.part_names

    try:
        if "assetData" not in staged:
            raise RequestValidationError(["assetData should not be empty"])
        filename = fields.get("filename") or part_names.get("assetData") or ""
        if "sidecarData" in staged and not part_names.get("sidecarData", "").lower().endswith(".xmp"):
            raise BadRequest(f"Unsupported file type {part_names.get('sidecarData')}")
        live_photo = fields.get("livePhotoVideoId") or None
        if live_photo and not is_uuid(live_photo):
            raise RequestValidationError(["livePhotoVideoId must be a UUID"])
        visibility = fields.get("visibility") or "timeline"
        if visibility not in ("archive", "timeline", "hidden", "locked"):
            raise RequestValidationError(["visibility must be one of: archive, timeline, hidden, locked"])
        metadata = _parse_metadata(fields.get("metadata"))
        ingest_request = IngestRequest(
            owner_id=owner_id,
            filename=filename,
            file_created_at=_parse_date(fields, "fileCreatedAt"),
            file_modified_at=_parse_date(fields, "fileModifiedAt"),
            is_favorite=_parse_bool(fields.get("isFavorite")),
            visibility=visibility,
            duration_ms=_parse_duration_ms(fields.get("duration")),
            live_photo_video_id=live_photo,
            device_asset_id=fields.get("deviceAssetId", ""),
            device_id=fields.get("deviceId", ""),
            sidecar=staged.get("sidecarData"),
        )
    except BaseException:
        for leftover in staged.values():
            leftover.path.unlink(missing_ok=True)
        raise
    result = await svc.ingest.ingest(ingest_request, staged["assetData"])
    if metadata and result.status == "created":
        await svc.metadata.upsert_trusted([(result.id, key, value) for key, value in metadata])
    if context.shared_link is not None:
        await context.shared_link.add_uploaded(result.id)
    return as_json({"id": result.id, "status": result.status}, status=201 if result.status == "created" else 200)


async def _upload_owner(context: AuthContext) -> str:
    if context.shared_link is not None:
        return str(await context.shared_link.upload_owner())
    return context.user_id


@router.post("/assets/bulk-upload-check", permission="asset.upload")
async def bulk_upload_check(request: web.Request) -> web.Response:
    dto_in = await body(request, BulkUploadCheckDto)
    results = await services(request).assets.bulk_upload_check(
        auth(request), [item.model_dump() for item in dto_in.assets]
    )
    return as_json({"results": results})


@router.post("/assets/exist", permission="asset.upload")
async def check_existing(request: web.Request) -> web.Response:
    dto_in = await body(request, CheckExistingAssetsDto)
    found = await services(request).assets.existing_device_ids(auth(request), dto_in.deviceId, dto_in.deviceAssetIds)
    return as_json({"existingIds": found})


# --- read and change ---------------------------------------------------------------------------
@router.get("/assets/statistics", permission="asset.statistics")
async def statistics(request: web.Request) -> web.Response:
    params = query(request, StatisticsQuery)
    stats = await services(request).assets.statistics(
        auth(request), visibility=params.visibility, is_favorite=params.isFavorite, is_trashed=params.isTrashed
    )
    return as_json(stats)


@router.get("/assets/{id}", permission="asset.read", shared_link=True)
async def get_asset(request: web.Request) -> web.Response:
    view = await services(request).assets.get(auth(request), uuid_param(request))
    return as_json(dto.asset(view))


@router.put("/assets/{id}", permission="asset.update")
async def update_asset(request: web.Request) -> web.Response:
    dto_in = await body(request, UpdateAssetDto)
    changes = dto_in.model_dump(exclude_unset=True)
    if changes.get("livePhotoVideoId"):
        _uuids([changes["livePhotoVideoId"]], "livePhotoVideoId")
    view = await services(request).assets.update(auth(request), uuid_param(request), changes)
    return as_json(dto.asset(view))


@router.put("/assets", permission="asset.update")
async def update_assets(request: web.Request) -> web.Response:
    dto_in = await body(request, AssetBulkUpdateDto)
    ids = _uuids(dto_in.ids)
    changes = dto_in.model_dump(exclude_unset=True, exclude={"ids"})
    await services(request).assets.update_many(auth(request), ids, changes)
    return web.Response(status=204)


@router.delete("/assets", permission="asset.delete")
async def delete_assets(request: web.Request) -> web.Response:
    dto_in = await body(request, AssetBulkDeleteDto)
    await services(request).assets.delete(auth(request), _uuids(dto_in.ids), dto_in.force)
    return web.Response(status=204)


# --- files -------------------------------------------------------------------------------------
def _file_response(served: ServedFile, *, disposition: str = "inline") -> web.FileResponse:
    if not served.path.is_file():
        from appliance.errors import NotFoundHttp

        raise NotFoundHttp("Asset media not found")
    response = web.FileResponse(served.path, chunk_size=256 * 1024)
    response.headers["Content-Type"] = served.content_type
    response.headers["Cache-Control"] = FILE_CACHE
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(served.filename)}"
    return response


def _redirect(request: web.Request, target: str, **overrides: str) -> web.Response:
    params: dict[str, Any] = {k: v for k, v in request.query.items() if k != "size"}
    params.update(overrides)
    location = target + ("?" + urlencode(params) if params else "")
    return web.Response(status=302, headers={"Location": location})


@router.get("/assets/{id}/original", permission="asset.download", shared_link=True)
async def download_original(request: web.Request) -> web.StreamResponse:
    served = await services(request).assets.original(auth(request), uuid_param(request))
    return _file_response(served, disposition="attachment")


@router.get("/assets/{id}/thumbnail", permission="asset.view", shared_link=True)
async def view_thumbnail(request: web.Request) -> web.StreamResponse:
    params = query(request, ThumbnailQuery)
    served = await services(request).assets.thumbnail(auth(request), uuid_param(request), params.size)
    if served == "original":
        return _redirect(request, "original")
    if served == "preview":
        return _redirect(request, "thumbnail", size="preview")
    assert isinstance(served, ServedFile)
    return _file_response(served)


@router.get("/assets/{id}/video/playback", permission="asset.view", shared_link=True)
async def play_video(request: web.Request) -> web.StreamResponse:
    served = await services(request).assets.playback(auth(request), uuid_param(request))
    return _file_response(served)


# --- trash -------------------------------------------------------------------------------------
@router.post("/trash/empty", permission="asset.delete")
async def empty_trash(request: web.Request) -> web.Response:
    count = await services(request).assets.empty_trash(auth(request))
    return as_json({"count": count})


@router.post("/trash/restore", permission="asset.delete")
async def restore_trash(request: web.Request) -> web.Response:
    count = await services(request).assets.restore_all(auth(request))
    return as_json({"count": count})


@router.post("/trash/restore/assets", permission="asset.delete")
async def restore_assets(request: web.Request) -> web.Response:
    dto_in = await body(request, BulkIdsDto)
    count = await services(request).assets.restore(auth(request), _uuids(dto_in.ids))
    return as_json({"count": count})
