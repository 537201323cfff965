"""Typed rows. Repositories return these; services and the API read them."""

from __future__ import annotations

import dataclasses
import functools
import json
import operator
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@functools.cache
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))


@functools.cache
def _positional(cls: type, keys: tuple[str, ...]) -> Callable[[Any], Any] | None:
    """For rows with these column names: a getter giving the dataclass's fields in order (positional arguments
    are several times faster than building a dict per row), or None when a field has no column."""
    where = {key: i for i, key in enumerate(keys)}
    fields = dataclasses.fields(cls)
    indexes = [where.get(f.name) for f in fields]
    if None in indexes or len(indexes) < 2 or not all(f.init and not f.kw_only for f in fields):
        return None
    return operator.itemgetter(*[i for i in indexes if i is not None])


def from_row(cls: type[T], row: sqlite3.Row) -> T:
    getter = _positional(cls, tuple(row.keys()))  # type: ignore[arg-type]  # classes are hashable
    if getter is not None:
        return cls(*getter(row))
    names = _field_names(cls)  # type: ignore[arg-type]  # classes are hashable
    return cls(**{key: row[key] for key in row.keys() if key in names})  # noqa: SIM118 - sqlite3.Row iterates values


def from_rows(cls: type[T], rows: Sequence[sqlite3.Row]) -> list[T]:
    """`from_row` for rows of one query: the column layout is looked at once."""
    if not rows:
        return []
    getter = _positional(cls, tuple(rows[0].keys()))  # type: ignore[arg-type]  # classes are hashable
    if getter is None:
        return [from_row(cls, row) for row in rows]
    return [cls(*getter(row)) for row in rows]


@dataclass
class UserRecord:
    id: str
    email: str
    name: str
    password_hash: str
    is_admin: int
    avatar_color: str | None
    storage_label: str | None
    quota_size_bytes: int | None
    quota_usage_bytes: int
    should_change_password: int
    profile_image_path: str
    profile_changed_at: str
    pin_code_hash: str | None
    preferences: str
    status: str
    created_at: str
    updated_at: str
    deleted_at: str | None
    update_id: str

    @property
    def preferences_dict(self) -> dict[str, Any]:
        value = json.loads(self.preferences or "{}")
        return value if isinstance(value, dict) else {}


@dataclass
class SessionRecord:
    id: str
    user_id: str
    token_hash: str
    device_type: str
    device_os: str
    app_version: str | None
    created_at: str
    updated_at: str
    expires_at: str | None
    is_pending_sync_reset: int
    pin_expires_at: str | None


@dataclass
class ApiKeyRecord:
    id: str
    user_id: str
    name: str
    key_hash: str
    permissions: str
    created_at: str
    updated_at: str

    @property
    def permission_list(self) -> list[str]:
        return list(json.loads(self.permissions))


@dataclass
class AssetRecord:
    id: str
    owner_id: str
    type: str
    original_path: str
    original_file_name: str
    original_mime_type: str
    checksum: bytes
    file_size: int
    device_asset_id: str
    device_id: str
    file_created_at: str
    file_modified_at: str
    local_date_time: str
    created_at: str
    updated_at: str
    deleted_at: str | None
    visibility: str
    is_favorite: int
    is_offline: int
    is_edited: int
    has_metadata: int
    duration_ms: int | None
    width: int | None
    height: int | None
    thumbhash: bytes | None
    live_photo_video_id: str | None
    stack_id: str | None
    encoded_video_path: str | None
    sidecar_path: str | None
    source: str
    update_id: str


@dataclass
class ExifRecord:
    asset_id: str
    make: str | None = None
    model: str | None = None
    lens_model: str | None = None
    exif_image_width: int | None = None
    exif_image_height: int | None = None
    file_size_in_byte: int | None = None
    orientation: str | None = None
    date_time_original: str | None = None
    modify_date: str | None = None
    time_zone: str | None = None
    f_number: float | None = None
    focal_length: float | None = None
    iso: int | None = None
    exposure_time: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    description: str = ""
    projection_type: str | None = None
    rating: int | None = None
    fps: float | None = None
    profile_description: str | None = None
    colorspace: str | None = None
    bits_per_sample: int | None = None
    auto_stack_id: str | None = None
    live_photo_cid: str | None = None
    tags: str | None = None
    update_id: str = ""


@dataclass
class AlbumRecord:
    id: str
    owner_id: str
    name: str
    description: str
    thumbnail_asset_id: str | None
    is_activity_enabled: int
    sort_order: str
    created_at: str
    updated_at: str
    deleted_at: str | None
    update_id: str
    create_id: str


@dataclass
class AlbumUserRecord:
    album_id: str
    user_id: str
    role: str
    created_at: str
    update_id: str
