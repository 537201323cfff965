"""Shaping records into Immich's response DTOs (the 3.2.2 shapes, with the legacy extras clients read)."""

from __future__ import annotations

from binascii import b2a_base64
from typing import Any

from appliance.library.albums import AlbumView
from appliance.library.assets import AssetView
from appliance.storage.records import ApiKeyRecord, ExifRecord, SessionRecord, UserRecord
from appliance.storage.tags import TagRecord

# Every user shares one cluster group on a single box; the 3.2.2 DTO requires the field.
CLUSTER_GROUP_ID = "00000000-0000-4000-8000-000000000000"


def b64(value: bytes | None) -> str | None:
    return b2a_base64(value, newline=False).decode() if value is not None else None


def user(record: UserRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "email": record.email,
        "avatarColor": record.avatar_color or "primary",
        "profileImagePath": record.profile_image_path or "",
        "profileChangedAt": record.profile_changed_at,
    }


def user_admin(record: UserRecord) -> dict[str, Any]:
    return {
        **user(record),
        "storageLabel": record.storage_label,
        "shouldChangePassword": bool(record.should_change_password),
        "isAdmin": bool(record.is_admin),
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
        "deletedAt": record.deleted_at,
        "oauthId": "",
        "quotaSizeInBytes": record.quota_size_bytes,
        "quotaUsageInBytes": record.quota_usage_bytes,
        "status": record.status,
        "license": None,
        "clusterGroupId": CLUSTER_GROUP_ID,
    }


def api_key(record: ApiKeyRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
        "permissions": record.permission_list,
    }


def session(record: SessionRecord, current_id: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": record.id,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
        "current": record.id == current_id,
        "deviceType": record.device_type,
        "deviceOS": record.device_os,
        "appVersion": record.app_version,
        "isPendingSyncReset": bool(record.is_pending_sync_reset),
    }
    if record.expires_at:
        result["expiresAt"] = record.expires_at
    return result


def exif(record: ExifRecord | None) -> dict[str, Any]:
    r = record or ExifRecord(asset_id="")
    return {
        "make": r.make,
        "model": r.model,
        "exifImageWidth": r.exif_image_width,
        "exifImageHeight": r.exif_image_height,
        "fileSizeInByte": r.file_size_in_byte,
        "orientation": r.orientation,
        "dateTimeOriginal": r.date_time_original,
        "modifyDate": r.modify_date,
        "timeZone": r.time_zone,
        "lensModel": r.lens_model,
        "fNumber": r.f_number,
        "focalLength": r.focal_length,
        "iso": r.iso,
        "exposureTime": r.exposure_time,
        "latitude": r.latitude,
        "longitude": r.longitude,
        "city": r.city,
        "state": r.state,
        "country": r.country,
        "description": r.description or "",
        "projectionType": r.projection_type,
        "rating": r.rating,
    }


def asset(view: AssetView, *, with_exif: bool = True) -> dict[str, Any]:
    a = view.asset
    result: dict[str, Any] = {
        "id": a.id,
        "ownerId": a.owner_id,
        "type": a.type,
        "originalFileName": a.original_file_name,
        "originalMimeType": a.original_mime_type,
        "originalPath": a.original_path,
        "checksum": b2a_base64(a.checksum, newline=False).decode(),
        "thumbhash": b2a_base64(a.thumbhash, newline=False).decode() if a.thumbhash is not None else None,
        "fileCreatedAt": a.file_created_at,
        "fileModifiedAt": a.file_modified_at,
        "localDateTime": a.local_date_time,
        "createdAt": a.created_at,
        "updatedAt": a.updated_at,
        "duration": a.duration_ms,
        "width": a.width,
        "height": a.height,
        "isFavorite": bool(a.is_favorite),
        "isArchived": a.visibility == "archive",
        "isTrashed": a.deleted_at is not None,
        "isOffline": bool(a.is_offline),
        "isEdited": bool(a.is_edited),
        "hasMetadata": bool(a.has_metadata),
        "visibility": a.visibility,
        "livePhotoVideoId": a.live_photo_video_id,
        "libraryId": None,
        "duplicateId": None,
        "stack": stack_summary(view.extra.get("stack")),
        "people": view.extra.get("people", []),
        "tags": [tag(t) for t in view.extra.get("tags", [])],
        "resized": a.thumbhash is not None,
    }
    if "owner" in view.extra:
        result["owner"] = view.extra["owner"]
    if with_exif:
        result["exifInfo"] = exif(view.exif)
    return result


def tag(record: TagRecord) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": record.id,
        "name": record.value.rsplit("/", 1)[-1],
        "value": record.value,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
    }
    if record.color:
        result["color"] = record.color
    if record.parent_id:
        result["parentId"] = record.parent_id
    return result


def stack_summary(value: tuple[str, str, int] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    stack_id, primary_id, count = value
    return {"id": stack_id, "primaryAssetId": primary_id, "assetCount": count}


def album(view: AlbumView, *, with_assets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    a = view.album
    result: dict[str, Any] = {
        "id": a.id,
        "albumName": a.name,
        "description": a.description,
        "albumThumbnailAssetId": a.thumbnail_asset_id,
        "albumUsers": [{"user": user(view.owner), "role": "owner"}]
        + [{"user": user(member), "role": role} for member, role in view.members],
        "assetCount": view.asset_count,
        "createdAt": a.created_at,
        "updatedAt": a.updated_at,
        "hasSharedLink": view.has_shared_link,
        "isActivityEnabled": bool(a.is_activity_enabled),
        "shared": view.shared,
        "order": a.sort_order,
        "ownerId": a.owner_id,
        "owner": user(view.owner),
    }
    if view.start_date:
        result["startDate"] = view.start_date
        result["endDate"] = view.end_date
    if view.last_modified:
        result["lastModifiedAssetTimestamp"] = view.last_modified
    if with_assets is not None:
        result["assets"] = with_assets
    return result


def bulk_ids(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return results
