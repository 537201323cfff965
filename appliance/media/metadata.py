"""Metadata the way Immich reads it: one long-lived `exiftool -stay_open` process, and pure functions that
turn its tags into a `MediaMetadata` (dates and time zone, GPS, camera, keywords, live/motion markers).

Immich's rules kept here (server/src/services/metadata.service.ts): the date comes from the first valid tag of
`DATE_TAGS`, else the file's mtime; a sidecar that carries a date replaces every embedded date; sidecar tags
override embedded ones; GPS 0,0 means "none"; rating is -1..5; keywords come from TagsList, else
HierarchicalSubject (`|` → `/`), else Keywords. Hostile values (year 0, Feb 30, |lat| > 90, NaN, megabyte
strings) are dropped, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from appliance.media.background import background_prefix, ends_with_this_process
from appliance.media.errors import ToolFailed

log = logging.getLogger(__name__)

DATE_TAGS = (
    "SubSecDateTimeOriginal",
    "SubSecCreateDate",
    "SubSecMediaCreateDate",
    "DateTimeOriginal",
    "CreateDate",
    "MediaCreateDate",
    "CreationDate",
    "DateTimeCreated",
    "GPSDateTime",
    "DateTimeUTC",
    "SonyDateTime2",
    "SourceImageCreateTime",
)
# Tags that state a date's offset, as exiftool-vendored reads them (first found wins).
OFFSET_TAGS = ("OffsetTimeOriginal", "OffsetTimeDigitized", "OffsetTime", "TimeZone", "TimeZoneOffset")
# QuickTime stores these in UTC (the spec says so; phones follow it).
UTC_VIDEO_TAGS = frozenset({"CreateDate", "MediaCreateDate", "SubSecCreateDate", "SubSecMediaCreateDate"})
UTC_TAGS = frozenset({"GPSDateTime", "DateTimeUTC"})

MIN_YEAR = 1826  # the oldest surviving photograph; anything earlier is a broken clock
MAX_TEXT = 2000  # description and keyword length cap

_DATE_RE = re.compile(
    r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d+))?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?"
)
_OFFSET_RE = re.compile(r"^\s*([+-])(\d{1,2}):?(\d{2})?\s*$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


@dataclass
class MediaMetadata:
    """What one file says about itself, after Immich's rules. Dates are aware (UTC) except `local_date_time`,
    which is the wall-clock time where the picture was taken (naive)."""

    date_time_original: datetime
    local_date_time: datetime
    time_zone: str | None
    date_source: str  # the tag the date came from, or "mtime"
    file_modified_at: datetime
    file_size: int
    width: int | None = None  # as stored (before orientation)
    height: int | None = None
    orientation: int | None = None
    make: str | None = None
    model: str | None = None
    lens_model: str | None = None
    exposure_time: str | None = None
    f_number: float | None = None
    focal_length: float | None = None
    iso: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    description: str = ""
    rating: int | None = None
    tags: list[str] = field(default_factory=list)
    projection_type: str | None = None
    live_photo_cid: str | None = None
    auto_stack_id: str | None = None
    profile_description: str | None = None
    colorspace: str | None = None
    bits_per_sample: int | None = None
    fps: float | None = None
    duration_ms: int | None = None
    motion: MotionMarkers | None = None

    @property
    def oriented_size(self) -> tuple[int | None, int | None]:
        if self.orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height


@dataclass(frozen=True)
class MotionMarkers:
    """Where a motion photo keeps its video (see appliance/media/motion.py)."""

    binary_tag: str | None  # MotionPhotoVideo (Samsung HEIC) or EmbeddedVideoFile (Samsung JPEG)
    length: int  # bytes at the end of the file (Google XMP container / MicroVideoOffset)
    padding: int


# --- dates --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedDate:
    local: datetime  # naive wall-clock time
    offset: timedelta | None  # from the value itself, when it carries one


def parse_exif_date(value: Any, *, now: datetime | None = None) -> ParsedDate | None:
    """`YYYY:MM:DD HH:MM:SS[.fff][±HH:MM|Z]`, or None when absent, malformed or absurd."""
    if not isinstance(value, str):
        return None
    match = _DATE_RE.match(value)
    if not match:
        return None
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    fraction = (match.group(7) or "0")[:6].ljust(6, "0")
    try:
        local = datetime(year, month, day, hour, minute, min(second, 59), int(fraction))
    except ValueError:
        return None
    limit = (now or datetime.now(UTC)).replace(tzinfo=None) + timedelta(days=366)
    if year < MIN_YEAR or local > limit:
        return None
    zone = match.group(8)
    offset = None if zone is None else (timedelta(0) if zone == "Z" else parse_offset(zone))
    return ParsedDate(local=local, offset=offset)


def parse_offset(value: Any) -> timedelta | None:
    """`+02:00`, `-0530`, or hours as a number (TimeZoneOffset); None beyond ±14:00."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            return None
        delta = timedelta(hours=float(value))
    elif isinstance(value, str):
        match = _OFFSET_RE.match(value)
        if not match:
            return None
        sign = -1 if match.group(1) == "-" else 1
        delta = sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0))
    else:
        return None
    return delta if abs(delta) <= timedelta(hours=14) else None


def zone_name(offset: timedelta) -> str:
    """`UTC`, `UTC+2`, `UTC-8`, `UTC+5:30`, as exiftool-vendored names a fixed offset."""
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def first_date(tags: Mapping[str, Any], *, now: datetime | None = None) -> tuple[str, ParsedDate] | None:
    for tag in DATE_TAGS:
        parsed = parse_exif_date(tags.get(tag), now=now)
        if parsed is not None:
            return tag, parsed
    return None


def _time_zone(tags: Mapping[str, Any], chosen: tuple[str, ParsedDate] | None) -> timedelta | None:
    if chosen is not None and chosen[1].offset is not None and chosen[0] not in UTC_TAGS:
        return chosen[1].offset
    for tag in OFFSET_TAGS:
        offset = parse_offset(tags.get(tag))
        if offset is not None:
            return offset
    for tag in DATE_TAGS:  # any other date that carries its offset (Apple's CreationDate)
        parsed = parse_exif_date(tags.get(tag))
        if parsed is not None and parsed.offset is not None and tag not in UTC_TAGS:
            return parsed.offset
    return _offset_from_gps(tags)


def _offset_from_gps(tags: Mapping[str, Any]) -> timedelta | None:
    """Local DateTimeOriginal minus the UTC GPSDateTime, rounded to 15 minutes."""
    gps = parse_exif_date(tags.get("GPSDateTime"))
    local = parse_exif_date(tags.get("DateTimeOriginal"))
    if gps is None or local is None:
        return None
    seconds = (local.local - gps.local).total_seconds()
    quarter = round(seconds / 900) * 900
    if abs(seconds - quarter) > 120:
        return None
    offset = timedelta(seconds=quarter)
    return offset if abs(offset) <= timedelta(hours=14) else None


def resolve_dates(
    tags: Mapping[str, Any], *, is_video: bool, mtime: datetime, now: datetime | None = None
) -> tuple[datetime, datetime, str | None, str]:
    """(dateTimeOriginal as aware UTC, localDateTime naive, timeZone, source tag)."""
    chosen = first_date(tags, now=now)
    offset = _time_zone(tags, chosen)
    if chosen is None:
        moment = mtime.astimezone(UTC)
        return moment, moment.replace(tzinfo=None), None, "mtime"
    tag, parsed = chosen
    is_utc = tag in UTC_TAGS or (is_video and tag in UTC_VIDEO_TAGS and parsed.offset is None)
    if is_utc:
        instant = parsed.local.replace(tzinfo=UTC) - (parsed.offset or timedelta(0))
        local = instant + offset if offset is not None else instant
        return instant, local.replace(tzinfo=None), _zone(offset), tag
    own = parsed.offset if parsed.offset is not None else offset
    # No zone anywhere: the wall-clock time is read as UTC, as Immich's container (TZ=UTC) does.
    instant = parsed.local.replace(tzinfo=timezone(own or timedelta(0))).astimezone(UTC)
    zone = _zone(own)
    if zone is None and parsed.offset is not None:
        zone = "UTC"
    return instant, parsed.local, zone, tag


def _zone(offset: timedelta | None) -> str | None:
    return None if offset is None else zone_name(offset)


# --- the other fields -----------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, str):
            try:
                value = float(value.split()[0])
            except (ValueError, IndexError):
                return None
        else:
            return None
    number = float(value)
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _text(value: Any, limit: int = 200) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = _CONTROL_RE.sub("", str(value)).strip()
    return text[:limit] or None


def exposure_text(value: Any) -> str | None:
    """exiftool's printed exposure time: `1/250` below 0.25 s, else seconds (`0.5`, `2`)."""
    seconds = _number(value)
    if seconds is None or seconds <= 0:
        return _text(value, 32) if isinstance(value, str) else None
    if seconds < 0.25001:
        return f"1/{int(0.5 + 1 / seconds)}"
    return f"{seconds:.1f}".rstrip("0").rstrip(".")


def gps(tags: Mapping[str, Any]) -> tuple[float | None, float | None]:
    lat, lon = _number(tags.get("GPSLatitude")), _number(tags.get("GPSLongitude"))
    if (lat is None or lon is None) and isinstance(tags.get("GPSCoordinates"), str):
        parts = str(tags["GPSCoordinates"]).replace(",", " ").split()
        if len(parts) >= 2:
            lat, lon = _number(parts[0]), _number(parts[1])
    if lat is None or lon is None:
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None
    return lat, lon


def keywords(tags: Mapping[str, Any]) -> list[str]:
    def listed(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    if tags.get("TagsList") is not None:
        found = [str(tag) for tag in listed(tags["TagsList"])]
    elif tags.get("HierarchicalSubject") is not None:
        found = [
            "/".join(part.replace("/", "|") for part in str(tag).split("|"))
            for tag in listed(tags["HierarchicalSubject"])
        ]
    elif tags.get("Keywords") is not None:
        found = [str(tag) for tag in listed(tags["Keywords"])]
    else:
        found = []
    cleaned = [_text(tag, MAX_TEXT) for tag in found[:500]]
    return [tag for tag in cleaned if tag]


def dimensions(tags: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """ImageSize first (right for CR2/RAF, whose ImageWidth is the preview's), then ImageWidth/Height."""
    size = tags.get("ImageSize")
    if isinstance(size, str):
        parts = size.replace("x", " ").split()
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            return int(parts[0]) or None, int(parts[1]) or None
    return _int(tags.get("ImageWidth")) or None, _int(tags.get("ImageHeight")) or None


def motion_markers(tags: Mapping[str, Any]) -> MotionMarkers | None:
    """Immich's `isMotionPhoto`/`applyMotionPhotos` tests, as data."""
    if tags.get("MotionPhotoVideo"):
        return MotionMarkers("MotionPhotoVideo", 0, 0)
    if tags.get("EmbeddedVideoType") == "MotionPhoto_Data" and tags.get("EmbeddedVideoFile"):
        return MotionMarkers("EmbeddedVideoFile", 0, 0)
    length = padding = 0
    directory = tags.get("ContainerDirectory")
    if tags.get("MotionPhoto") and isinstance(directory, list):
        for entry in directory:
            item = entry.get("Item") if isinstance(entry, dict) else None
            if isinstance(item, dict) and item.get("Semantic") == "MotionPhoto":
                length, padding = _int(item.get("Length")) or 0, _int(item.get("Padding")) or 0
                break
    if tags.get("MicroVideo") and _int(tags.get("MicroVideoOffset")):
        length = _int(tags.get("MicroVideoOffset")) or 0
    return MotionMarkers(None, length, padding) if length > 0 else None


def merge_sidecar(media: Mapping[str, Any], sidecar: Mapping[str, Any] | None) -> dict[str, Any]:
    """Sidecar values win; a sidecar date replaces every embedded date (so no stale tag can outrank it)."""
    merged = dict(media)
    if not sidecar:
        return merged
    if first_date(sidecar) is not None:
        for tag in DATE_TAGS:
            merged.pop(tag, None)
    sidecar_values = {k: v for k, v in sidecar.items() if k not in _FILE_TAGS}
    merged.update(sidecar_values)
    return merged


_FILE_TAGS = frozenset(
    {"SourceFile", "FileName", "Directory", "FileSize", "FileModifyDate", "FileAccessDate",
     "FileInodeChangeDate", "FilePermissions", "FileType", "FileTypeExtension", "MIMEType", "ExifToolVersion"}
)


def build_metadata(
    tags: Mapping[str, Any],
    *,
    mtime: datetime,
    file_size: int,
    is_video: bool,
    sidecar: Mapping[str, Any] | None = None,
    video: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> MediaMetadata:
    """The pure heart of the metadata job. `video` holds ffprobe's facts (duration, size, rotation, GPS)."""
    merged = merge_sidecar(tags, sidecar)
    if video:
        merged.update({k: v for k, v in video.items() if v is not None})
    original, local, zone, source = resolve_dates(merged, is_video=is_video, mtime=mtime, now=now)
    width, height = dimensions(merged)
    lat, lon = gps(merged)
    rating = _int(merged.get("Rating"))
    orientation = _int(merged.get("Orientation"))
    bits = _int(next((merged[t] for t in ("BitsPerSample", "ComponentBitDepth", "BitDepth") if t in merged), None))
    if bits and bits >= 24 and bits % 3 == 0:
        bits //= 3
    duration = _number(merged.get("Duration"))
    fps = _number(merged.get("VideoFrameRate"))
    return MediaMetadata(
        date_time_original=original,
        local_date_time=local,
        time_zone=zone,
        date_source=source,
        file_modified_at=mtime.astimezone(UTC),
        file_size=file_size,
        width=width,
        height=height,
        orientation=orientation if orientation in range(1, 9) else None,
        make=_text(merged.get("Make") or merged.get("AndroidMake")),
        model=_text(merged.get("Model") or merged.get("AndroidModel")),
        lens_model=_lens(merged),
        exposure_time=exposure_text(merged.get("ExposureTime")),
        f_number=_number(merged.get("FNumber")),
        focal_length=_number(merged.get("FocalLength")),
        iso=_int(merged.get("ISO")),
        latitude=lat,
        longitude=lon,
        description=_text(merged.get("ImageDescription") or merged.get("Description"), MAX_TEXT) or "",
        rating=rating if rating is not None and -1 <= rating <= 5 else None,
        tags=keywords(merged),
        projection_type=(_text(merged.get("ProjectionType")) or "").upper() or None,
        live_photo_cid=_text(merged.get("ContentIdentifier") or merged.get("MediaGroupUUID")),
        auto_stack_id=_text(
            next((merged[t] for t in ("BurstID", "BurstUUID", "CameraBurstID", "MediaUniqueID") if merged.get(t)), None)
        ),
        profile_description=_text(merged.get("ProfileDescription")),
        colorspace=_text(merged.get("ColorSpace")),
        bits_per_sample=bits,
        fps=fps if fps and fps > 0 else None,
        duration_ms=int(duration * 1000) if duration and duration > 0 else None,
        motion=None if is_video else motion_markers(merged),
    )


def _lens(tags: Mapping[str, Any]) -> str | None:
    for tag in ("LensModel", "Lens", "LensID", "LensType", "LensSpec"):
        value = tags.get(tag)
        if isinstance(value, str):
            text = _text(value)
            if text and text != "----" and not text.startswith("Unknown"):
                return text
    return None


# --- the exiftool process -----------------------------------------------------------------------------

EXIFTOOL_ARGS = ("-json", "-n", "-struct", "-api", "largefilesupport=1", "-charset", "filename=utf8")


class ExifTool:
    """One `exiftool -stay_open True -@ -` process, shared by all jobs and restarted when it dies or hangs.

    Requests are serialised (exiftool answers one at a time); each has a timeout after which the process is
    killed, so a hostile file costs one timeout, not the queue."""

    def __init__(self, *, executable: str = "exiftool", timeout: float = 30.0) -> None:
        self.executable = executable
        self.timeout = timeout
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._counter = 0
        self._stderr_task: asyncio.Task[None] | None = None
        self._stderr_tail: list[str] = []

    async def start(self) -> None:
        if self._process is not None and self._process.returncode is None:
            return
        tied = await asyncio.to_thread(ends_with_this_process)  # tried once, off the event loop
        self._process = await asyncio.create_subprocess_exec(
            # dies with this process (it would poll its pipe for ever as an orphan), niced like the other
            # background tools (the API must stay quick while metadata is read)
            *tied, *background_prefix(19), self.executable, "-stay_open", "True", "-@", "-",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,
        )
        self._stderr_task = asyncio.create_task(self._drain_stderr(self._process))

    async def _drain_stderr(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        async for line in process.stderr:
            self._stderr_tail = (self._stderr_tail + [line.decode("utf-8", "replace").strip()])[-5:]

    async def close(self) -> None:
        """Idempotent: asks exiftool to exit, kills it if it doesn't."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(Exception):
                assert process.stdin is not None
                process.stdin.write(b"-stay_open\nFalse\n")
                await process.stdin.drain()
            try:
                await asyncio.wait_for(process.wait(), 3)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._stderr_task is not None:
            self._stderr_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stderr_task

    async def read_tags(self, path: Path) -> dict[str, Any]:
        """All tags of one file (numeric values, structures kept). Raises ToolFailed on timeout or a crash."""
        output = await self.execute([*EXIFTOOL_ARGS, _file_arg(path)])
        try:
            parsed = json.loads(output) if output.strip() else []
        except json.JSONDecodeError as err:
            raise ToolFailed(f"exiftool returned unreadable output for {path.name}") from err
        if not parsed:
            return {}
        tags = parsed[0]
        return tags if isinstance(tags, dict) else {}

    async def execute(self, args: list[str]) -> str:
        if any("\n" in arg for arg in args):
            raise ToolFailed("argument with a newline")
        async with self._lock:
            await self.start()
            process = self._process
            assert process is not None and process.stdin is not None and process.stdout is not None
            self._counter += 1
            marker = f"{{ready{self._counter}}}".encode()
            self._stderr_tail = []
            process.stdin.write(("\n".join(args) + f"\n-execute{self._counter}\n").encode())
            try:
                await process.stdin.drain()
                raw = await asyncio.wait_for(process.stdout.readuntil(marker), self.timeout)
                await asyncio.wait_for(process.stdout.readline(), self.timeout)
            except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as err:
                log.warning("exiftool failed (%s); restarting it", type(err).__name__)
                await self._kill()
                raise ToolFailed(f"exiftool timed out or died after {self.timeout:.0f}s") from err
            except asyncio.CancelledError:
                await self._kill()  # its answer would arrive for the next caller: start afresh
                raise
            return raw[: -len(marker)].decode("utf-8", "replace")

    async def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        if self._stderr_task is not None:
            self._stderr_task.cancel()

    async def extract_binary(self, path: Path, tag: str, dest: Path) -> bool:
        """Write a binary tag (e.g. MotionPhotoVideo) to `dest`; False when the tag is empty."""
        await asyncio.to_thread(_remove_blocking, dest)
        await self.execute(["-b", f"-{tag}", "-W", _file_arg(dest), _file_arg(path)])
        return await asyncio.to_thread(_nonempty_blocking, dest)


def _remove_blocking(path: Path) -> None:
    path.unlink(missing_ok=True)


def _nonempty_blocking(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _file_arg(path: Path) -> str:
    """A file name exiftool cannot take for an option ("--" is not honoured in an -@ argument file)."""
    return str(path) if path.is_absolute() else f"./{path}"
