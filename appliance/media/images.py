"""Still images: one decode for the preview and the thumbnail, EXIF orientation applied, sRGB, thumbhash.

libvips does the work (shrink-on-load: a 24 MP JPEG is decoded at 1/2 or 1/4 scale straight into the preview
size). The preview is rendered once into memory; the thumbnail and the thumbhash are cut from it, so the
original is read exactly once. Pillow (with pillow-heif) is only the fallback for files libvips cannot open,
and camera RAW files give their embedded JPEG preview (exiftool), as Immich does without libraw.
All functions here block: call them from a worker process (appliance/jobs/worker.py).
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyvips

from appliance.media.errors import CorruptMedia, MediaError, MediaTooLarge, UnsupportedMedia
from appliance.media.limits import ImageLimits  # noqa: F401 - re-exported for callers
from appliance.media.thumbhash import thumbhash_from_image

ImageFormat = Literal["webp", "jpeg"]

# Extensions whose pixels come from the embedded preview: no raw decoder in Debian's libvips.
RAW_EXTENSIONS = frozenset(
    {
        ".3fr", ".ari", ".arw", ".cap", ".cin", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".fff",
        ".iiq", ".k25", ".kdc", ".mrw", ".nef", ".nrw", ".orf", ".ori", ".pef", ".raf", ".raw", ".rw2",
        ".rwl", ".sr2", ".srf", ".srw", ".x3f",
    }
)
# Pillow formats we let the fallback open (never FITS, EPS, PDF...: see reliability.md §3).
PILLOW_FORMATS = ("BMP", "PSD", "TGA", "ICO", "PNG", "JPEG", "GIF", "TIFF", "WEBP", "HEIF", "AVIF", "JXL")

# libvips loaders we allow. Everything flagged untrusted is blocked first, then these are let back in.
_TRUSTED_LOADERS = ("VipsForeignLoadJxl", "VipsForeignLoadHeif")
_vips_ready = False

# exiftool tags holding a RAW file's embedded JPEG, best first.
_RAW_PREVIEW_TAGS = ("JpgFromRaw", "PreviewImage", "OtherImage", "ThumbnailImage")


@dataclass(frozen=True)
class OutputSpec:
    """One file to write: shorter edge `size` (never upscaled), format and quality."""

    path: Path
    size: int
    format: ImageFormat
    quality: int = 80


@dataclass
class RenderResult:
    width: int  # the original's size, EXIF orientation applied (the embedded preview's for RAW)
    height: int
    thumbhash: bytes
    written: dict[str, Path] = field(default_factory=dict)
    loader: str = ""

    @property
    def thumbhash_b64(self) -> str:
        return base64.b64encode(self.thumbhash).decode("ascii")


def setup_vips(limits: ImageLimits) -> None:
    """Once per process: untrusted loaders blocked, no operation cache, `vips_threads` threads."""
    global _vips_ready
    if _vips_ready:
        return
    pyvips.block_untrusted_set(True)
    for loader in _TRUSTED_LOADERS:
        pyvips.operation_block_set(loader, False)
    pyvips.cache_set_max(0)
    pyvips.concurrency_set(limits.vips_threads)
    _vips_ready = True


def oriented_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    """EXIF orientations 5-8 turn the picture a quarter: width and height swap."""
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def box_for(width: int, height: int, size: int) -> tuple[int, int]:
    """The `thumbnail` box that makes the shorter edge `size` (Immich's `fit: outside`)."""
    unbounded = 10_000_000
    return (size, unbounded) if width <= height else (unbounded, size)


def render_image_blocking(
    source: Path,
    outputs: list[OutputSpec],
    *,
    limits: ImageLimits | None = None,
    orientation_hint: int | None = None,
) -> RenderResult:
    """Decode `source` once and write every output (largest first); return size and thumbhash.

    `orientation_hint` is the EXIF orientation of a RAW file, applied to its embedded preview."""
    limits = limits or ImageLimits()
    setup_vips(limits)
    if not source.is_file():
        raise MediaError(f"file not found: {source.name}")
    if source.stat().st_size == 0:
        raise CorruptMedia("empty file")
    ordered = sorted(outputs, key=lambda spec: spec.size, reverse=True)
    largest = ordered[0].size if ordered else 250
    if source.suffix.lower() in RAW_EXTENSIONS:
        base, width, height, loader = _load_raw_preview(source, largest, limits, orientation_hint)
    else:
        base, width, height, loader = _load(source, largest, limits)
    result = RenderResult(width=width, height=height, thumbhash=b"", loader=loader)
    current = base
    for spec in ordered:
        current = _shrink(current, spec.size)
        _save(current, spec)
        result.written[str(spec.path)] = spec.path
    small = current.thumbnail_image(100, height=100, size="down")
    result.thumbhash = thumbhash_from_image(_rgba(small))
    return result


def _load(source: Path, size: int, limits: ImageLimits) -> tuple[pyvips.Image, int, int, str]:
    """The image at preview size in memory, plus the original's oriented size."""
    try:
        header = pyvips.Image.new_from_file(str(source), access="sequential")
    except pyvips.Error as err:
        return _load_with_pillow(source, size, limits, err)
    orientation = _orientation(header)
    width, height = oriented_size(header.width, header.height, orientation)
    _check_pixels(width, height, limits)
    loader = str(header.get("vips-loader"))
    has_profile = header.get_typeof("icc-profile-data") != 0
    box_w, box_h = box_for(width, height, size)
    options: dict[str, Any] = {"height": box_h, "size": "down", "option_string": "fail_on=error"}
    if has_profile:
        options["export_profile"] = "srgb"
    try:
        image = pyvips.Image.thumbnail_source(pyvips.Source.new_from_file(str(source)), box_w, **options)
        image = _to_srgb8(image).copy_memory()
    except pyvips.Error as err:
        if _out_of_memory(err):
            raise MediaTooLarge(f"not enough memory to decode {width}x{height}: {_vips_message(err)}") from err
        # libvips read the header but not the pixels: a damaged file, or a codec variant the system library
        # lacks (Debian's libjxl 0.7 fails on some 16-bit JXL). Pillow's own decoders get one try.
        return _load_with_pillow(source, size, limits, err, header_ok=True)
    return image, width, height, loader


def _load_with_pillow(
    source: Path, size: int, limits: ImageLimits, vips_error: pyvips.Error, *, header_ok: bool = False
) -> tuple[pyvips.Image, int, int, str]:
    from PIL import Image, ImageOps

    _register_pillow_plugins()
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.init()
            allowed = [name for name in PILLOW_FORMATS if name in Image.OPEN]
            with Image.open(source, formats=allowed) as opened:
                _check_pixels(opened.width, opened.height, limits)
                oriented = ImageOps.exif_transpose(opened) or opened
                width, height = oriented.size
                box = box_for(width, height, size)
                oriented.thumbnail((min(box[0], width), min(box[1], height)))
                rgb = oriented.convert("RGBA" if "A" in oriented.getbands() else "RGB")
                buffer = io.BytesIO()
                rgb.save(buffer, format="PNG", compress_level=1)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise MediaTooLarge(f"image is larger than {limits.max_pixels} pixels") from err
    except MediaError:
        raise
    except Exception as err:
        if header_ok:
            raise CorruptMedia(_vips_message(vips_error)) from err
        raise UnsupportedMedia(f"cannot decode {source.suffix or 'file'}: {_vips_message(vips_error)}") from err
    image = pyvips.Image.new_from_buffer(buffer.getvalue(), "").copy_memory()
    return image, width, height, "pillow"


def _register_pillow_plugins() -> None:
    """HEIF/AVIF (pillow-heif) and JPEG XL (pillow-jxl-plugin) for the fallback path."""
    with contextlib.suppress(ImportError):  # dependencies, but the fallback works without them
        import pillow_heif

        pillow_heif.register_heif_opener()
    with contextlib.suppress(ImportError):
        import pillow_jxl  # noqa: F401  (registers the JXL plugin on import)


def _load_raw_preview(
    source: Path, size: int, limits: ImageLimits, orientation_hint: int | None
) -> tuple[pyvips.Image, int, int, str]:
    preview = extract_raw_preview_blocking(source, timeout=limits.tool_timeout)
    if preview is None:
        raise UnsupportedMedia(f"{source.suffix} without an embedded preview: no RAW decoder available")
    try:
        header = pyvips.Image.new_from_buffer(preview, "", access="sequential")
        orientation = orientation_hint if orientation_hint is not None else _orientation(header)
        width, height = oriented_size(header.width, header.height, orientation)
        _check_pixels(width, height, limits)
        box_w, box_h = box_for(header.width, header.height, size)
        image = pyvips.Image.thumbnail_buffer(preview, box_w, height=box_h, size="down", no_rotate=True)
        image = _apply_orientation(_to_srgb8(image), orientation).copy_memory()
    except pyvips.Error as err:
        raise CorruptMedia(f"embedded preview: {_vips_message(err)}") from err
    return image, width, height, "exiftool-preview"


def extract_raw_preview_blocking(source: Path, *, timeout: float = 60.0) -> bytes | None:
    """The largest embedded JPEG of a RAW file (`exiftool -b -JpgFromRaw`, then `-PreviewImage`...)."""
    for tag in _RAW_PREVIEW_TAGS:
        try:
            done = subprocess.run(
                ["exiftool", "-b", f"-{tag}", "--", str(source)],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None
        if done.returncode == 0 and done.stdout[:2] == b"\xff\xd8":
            return done.stdout
    return None


def _apply_orientation(image: pyvips.Image, orientation: int) -> pyvips.Image:
    if orientation in (0, 1):
        return image
    image = image.copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    return image.autorot()


def _shrink(image: pyvips.Image, size: int) -> pyvips.Image:
    if min(image.width, image.height) <= size:
        return image
    box_w, box_h = box_for(image.width, image.height, size)
    return image.thumbnail_image(box_w, height=box_h, size="down").copy_memory()


def _save(image: pyvips.Image, spec: OutputSpec) -> None:
    """Write next to the target and rename: a reader never sees half a file (no fsync: regenerable)."""
    spec.path.parent.mkdir(parents=True, exist_ok=True)
    if spec.path.exists() and not spec.path.is_file():
        raise MediaError(f"refusing to replace {spec.path}: not a regular file")
    temp = spec.path.with_name(f".{spec.path.name}.{os.getpid()}.tmp")
    try:
        if spec.format == "jpeg":
            flat = image.flatten(background=[255, 255, 255]) if image.hasalpha() else image
            # 4:4:4 at quality >= 80, as Immich asks of sharp; Huffman tables unoptimised (faster, ~2% larger).
            data = flat.jpegsave_buffer(Q=spec.quality, subsample_mode="off", optimize_coding=False, strip=True)
        else:
            data = image.webpsave_buffer(Q=spec.quality, strip=True)
        temp.write_bytes(data)
        os.replace(temp, spec.path)
    finally:
        temp.unlink(missing_ok=True)


def _to_srgb8(image: pyvips.Image) -> pyvips.Image:
    """8-bit sRGB (with alpha when present): 16-bit, grey and CMYK sources end up the same."""
    if image.interpretation not in ("srgb",) or image.format != "uchar":
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def _rgba(image: pyvips.Image) -> pyvips.Image:
    image = _to_srgb8(image)
    if image.bands == 3:
        image = image.bandjoin(255)
    return image.copy_memory()


def _orientation(image: pyvips.Image) -> int:
    if image.get_typeof("orientation") == 0:
        return 1
    value = int(image.get("orientation"))
    return value if 1 <= value <= 8 else 1


def _check_pixels(width: int, height: int, limits: ImageLimits) -> None:
    if width * height > limits.max_pixels:
        raise MediaTooLarge(
            f"image is {width}x{height} ({width * height / 1e6:.0f} MP),"
            f" over the {limits.max_pixels / 1e6:.0f} MP limit"
        )


def _out_of_memory(err: BaseException) -> bool:
    text = str(getattr(err, "detail", "") or err).lower()
    return any(mark in text for mark in ("memory allocation", "cannot allocate memory", "out of memory"))


def _vips_message(err: BaseException) -> str:
    text = str(getattr(err, "detail", "") or err).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "; ".join(lines[:3])[:300] or type(err).__name__
