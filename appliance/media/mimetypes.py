"""Which files are assets: extension → MIME type and asset type, as Immich's `mime-types.ts` has them."""

from __future__ import annotations

IMAGE_TYPES: dict[str, str] = {
    ".3fr": "image/3fr", ".ari": "image/ari", ".arw": "image/arw", ".cap": "image/cap", ".cin": "image/cin",
    ".cr2": "image/cr2", ".cr3": "image/cr3", ".crw": "image/crw", ".dcr": "image/dcr", ".dng": "image/dng",
    ".erf": "image/erf", ".fff": "image/fff", ".iiq": "image/iiq", ".k25": "image/k25", ".kdc": "image/kdc",
    ".mrw": "image/mrw", ".nef": "image/nef", ".nrw": "image/nrw", ".orf": "image/orf", ".ori": "image/ori",
    ".pef": "image/pef", ".psd": "image/psd", ".raf": "image/raf", ".raw": "image/raw", ".rw2": "image/rw2",
    ".rwl": "image/rwl", ".sr2": "image/sr2", ".srf": "image/srf", ".srw": "image/srw", ".x3f": "image/x3f",
    ".avif": "image/avif", ".bmp": "image/bmp", ".gif": "image/gif", ".heic": "image/heic",
    ".heif": "image/heif", ".hif": "image/hif", ".insp": "image/jpeg", ".jp2": "image/jp2",
    ".jpe": "image/jpeg", ".jpeg": "image/jpeg", ".jpg": "image/jpeg", ".jxl": "image/jxl",
    ".png": "image/png", ".svg": "image/svg", ".tif": "image/tiff", ".tiff": "image/tiff",
    ".webp": "image/webp",
}

VIDEO_TYPES: dict[str, str] = {
    ".3gp": "video/3gpp", ".3gpp": "video/3gpp", ".avi": "video/avi", ".flv": "video/x-flv",
    ".insv": "video/mp4", ".m2t": "video/mp2t", ".m2ts": "video/mp2t", ".m4v": "video/x-m4v",
    ".mkv": "video/x-matroska", ".mov": "video/quicktime", ".mp4": "video/mp4", ".mpe": "video/mpeg",
    ".mpeg": "video/mpeg", ".mpg": "video/mpeg", ".mts": "video/mp2t", ".vob": "video/mpeg",
    ".webm": "video/webm", ".wmv": "video/x-ms-wmv",
}

SIDECAR_TYPES: dict[str, str] = {".xmp": "application/xml"}

# Formats a browser shows as they are (Immich's `isWebSupportedImage`), so `fullsize` can be the original.
WEB_IMAGE_TYPES = frozenset({".avif", ".gif", ".jpeg", ".jpg", ".png", ".webp", ".jpe", ".insp"})


def extension(filename: str) -> str:
    """The lower-cased suffix of the last path part, as `PurePosixPath(filename).suffix` has it (without
    building a path object: this runs several times for every file ingested)."""
    name = filename.rstrip("/").rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:].lower() if 0 < dot < len(name) - 1 else ""


def asset_type(filename: str) -> str | None:
    """IMAGE, VIDEO, or None when the file is not a supported asset."""
    ext = extension(filename)
    if ext in IMAGE_TYPES:
        return "IMAGE"
    if ext in VIDEO_TYPES:
        return "VIDEO"
    return None


def mime_type(filename: str) -> str:
    ext = extension(filename)
    return IMAGE_TYPES.get(ext) or VIDEO_TYPES.get(ext) or SIDECAR_TYPES.get(ext) or "application/octet-stream"


def is_sidecar(filename: str) -> bool:
    return extension(filename) in SIDECAR_TYPES


def is_web_image(filename: str) -> bool:
    return extension(filename) in WEB_IMAGE_TYPES


def media_types() -> dict[str, list[str]]:
    """The body of `GET /server/media-types`: lower-case extensions with a leading dot."""
    return {
        "image": sorted(IMAGE_TYPES),
        "video": sorted(VIDEO_TYPES),
        "sidecar": sorted(SIDECAR_TYPES),
    }
