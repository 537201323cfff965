"""Motion photos: the MP4 that Samsung and Google phones embed in a still (Immich's `applyMotionPhotos`).

Three layouts, tried in Immich's order: Samsung HEIC keeps it in an `mpvd` box (exiftool tag
`MotionPhotoVideo`); Samsung JPEG in a `MotionPhoto_Data` trailer (`EmbeddedVideoFile`); Google's XMP
container (`MotionPhoto` + `Container:Directory`, or the older `MicroVideoOffset`) puts it at the end of the
file, `length` bytes long followed by `padding`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from appliance.media.errors import CorruptMedia
from appliance.media.metadata import ExifTool, MotionMarkers

_MP4_BRANDS = (b"ftyp",)


def looks_like_mp4(head: bytes) -> bool:
    return len(head) >= 12 and head[4:8] in _MP4_BRANDS


def read_trailer_blocking(source: Path, dest: Path, *, length: int, padding: int) -> None:
    """Copy the `length` bytes that end `padding` bytes before the end of `source` into `dest`."""
    size = source.stat().st_size
    start = size - length - padding
    if length <= 0 or start < 0:
        raise CorruptMedia(f"motion video offset out of range ({length} bytes in a {size}-byte file)")
    with source.open("rb") as src, dest.open("wb") as out:
        src.seek(start)
        remaining = length
        while remaining:
            chunk = src.read(min(remaining, 1 << 20))
            if not chunk:
                raise CorruptMedia("motion video is truncated")
            out.write(chunk)
            remaining -= len(chunk)


async def extract_motion_video(exiftool: ExifTool, source: Path, markers: MotionMarkers, dest: Path) -> None:
    """Write the embedded video to `dest` (a temporary path of the caller's); CorruptMedia if it isn't one."""
    if markers.binary_tag is not None:
        if not await exiftool.extract_binary(source, markers.binary_tag, dest):
            raise CorruptMedia(f"{markers.binary_tag} is empty")
    else:
        read_trailer_blocking(source, dest, length=markers.length, padding=markers.padding)
    await asyncio.to_thread(check_mp4_blocking, dest)


def check_mp4_blocking(path: Path) -> None:
    with path.open("rb") as handle:
        head = handle.read(12)
    if not looks_like_mp4(head):
        path.unlink(missing_ok=True)
        raise CorruptMedia("embedded motion data is not an MP4 video")
