"""Metadata with Immich's rules: the real exiftool on the shared photos, and the pure rules on tag tables."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.media.errors import ToolFailed
from appliance.media.metadata import (
    ExifTool,
    build_metadata,
    exposure_text,
    gps,
    keywords,
    motion_markers,
    parse_exif_date,
    resolve_dates,
)

MTIME = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
async def exiftool() -> AsyncIterator[ExifTool]:
    tool = ExifTool(timeout=20)
    yield tool
    await tool.close()


async def read(exiftool: ExifTool, path: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    tags = await exiftool.read_tags(path)
    size = (await asyncio.to_thread(path.stat)).st_size
    return build_metadata(tags, mtime=MTIME, file_size=size, is_video=False, **kwargs)  # type: ignore[arg-type]


# (file, dateTimeOriginal UTC, localDateTime, timeZone, (lat, lon) or None, make, orientation)
PHOTOS = [
    ("formats/heic/IMG_2682.heic", "2019-03-21T16:04:22.348", "2019-03-21T11:04:22.348", "UTC-5",
     (41.2203, -96.0716), "Apple", 1),
    ("formats/motionphoto/samsung-one-ui-6.heic", "2024-01-13T05:38:53.853", "2024-01-12T21:38:53.853", "UTC-8",
     None, "samsung", 6),
    ("albums/nature/prairie_falcon.jpg", "2022-03-31T11:31:56.180", "2022-03-31T11:31:56.180", "UTC", None, "Canon", 1),
    ("albums/nature/cyclamen_persicum.jpg", "2007-12-06T05:33:18", "2007-12-06T14:33:18", "UTC+9", None,
     "FUJIFILM", 1),
    ("formats/webp/denali.webp", "2010-08-13T21:00:01.850", "2010-08-13T21:00:01.850", None, None, "Canon", 1),
]


@pytest.mark.parametrize(("name", "original", "local", "zone", "where", "make", "orientation"), PHOTOS,
                         ids=[p[0] for p in PHOTOS])
async def test_dates_zone_gps_and_camera_of_the_shared_photos(
    exiftool: ExifTool, test_assets: Path, name: str, original: str, local: str, zone: str | None,
    where: tuple[float, float] | None, make: str, orientation: int,
) -> None:
    meta = await read(exiftool, test_assets / name)
    assert meta.date_time_original == datetime.fromisoformat(original).replace(tzinfo=UTC)
    assert meta.local_date_time == datetime.fromisoformat(local)
    assert meta.time_zone == zone
    assert meta.make == make
    assert meta.orientation == orientation
    if where is None:
        assert meta.latitude is None and meta.longitude is None
    else:
        assert meta.latitude == pytest.approx(where[0], abs=1e-3)
        assert meta.longitude == pytest.approx(where[1], abs=1e-3)


async def test_camera_fields_read_as_immich_shows_them(exiftool: ExifTool, test_assets: Path) -> None:
    meta = await read(exiftool, test_assets / "albums/nature/prairie_falcon.jpg")
    assert (meta.model, meta.lens_model) == ("Canon EOS R5", "RF100-500mm F4.5-7.1 L IS USM")
    assert (meta.exposure_time, meta.f_number, meta.iso) == ("1/4000", 7.1, 1000)
    assert meta.focal_length and meta.focal_length > 100
    assert (meta.width, meta.height) == (800, 533)
    assert "raptors" in meta.tags


async def test_a_photo_without_dates_falls_back_to_the_file_time(exiftool: ExifTool, test_assets: Path) -> None:
    meta = await read(exiftool, test_assets / "albums/nature/silver_fir.jpg")
    assert meta.date_source == "mtime"
    assert meta.date_time_original == MTIME
    assert meta.local_date_time == MTIME.replace(tzinfo=None)


async def test_hierarchical_keywords_and_the_motion_photo_marker(exiftool: ExifTool, test_assets: Path) -> None:
    faces = await read(exiftool, test_assets / "metadata/faces/portrait.jpg")
    assert faces.tags == ["People/Marie Curie", "People/Pierre Curie"]
    motion = await read(exiftool, test_assets / "formats/motionphoto/samsung-one-ui-6.heic")
    assert motion.motion is not None and motion.motion.binary_tag == "MotionPhotoVideo"
    assert motion.oriented_size == (3000, 4000)


async def test_an_xmp_sidecar_overrides_dates_description_rating_and_gps(
    exiftool: ExifTool, test_assets: Path, tmp_path: Path
) -> None:
    sidecar = tmp_path / "photo.jpg.xmp"
    sidecar.write_text(
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""'
        ' xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' exif:DateTimeOriginal="1999-12-31T23:59:58+01:00" xmp:Rating="4"'
        ' exif:GPSLatitude="48,51.5N" exif:GPSLongitude="2,17.7E">'
        '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">From the sidecar</rdf:li></rdf:Alt></dc:description>'
        "</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
    )
    photo = test_assets / "formats/heic/IMG_2682.heic"
    meta = await read(exiftool, photo, sidecar=await exiftool.read_tags(sidecar))
    assert meta.date_time_original == datetime(1999, 12, 31, 22, 59, 58, tzinfo=UTC)
    assert meta.local_date_time == datetime(1999, 12, 31, 23, 59, 58)
    assert meta.time_zone == "UTC+1"
    assert meta.rating == 4
    assert meta.description == "From the sidecar"
    assert meta.latitude == pytest.approx(48.858, abs=1e-3)
    assert meta.make == "Apple"  # what the sidecar doesn't say still comes from the file


async def test_a_hung_exiftool_times_out_and_the_next_request_works(test_assets: Path, tmp_path: Path) -> None:
    fake = tmp_path / "slow-exiftool"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(0o755)
    slow = ExifTool(executable=str(fake), timeout=0.5)
    with pytest.raises(ToolFailed, match="timed out"):
        await slow.read_tags(test_assets / "formats/png/density_plot.png")
    await slow.close()
    real = ExifTool(timeout=20)
    try:
        tags = await real.read_tags(test_assets / "formats/png/density_plot.png")
        assert tags["ImageWidth"] == 800
        # a missing file is an empty answer, not a dead process
        assert await real.read_tags(tmp_path / "missing.jpg") == {}
        assert (await real.read_tags(test_assets / "formats/png/density_plot.png"))["ImageHeight"] == 800
    finally:
        await real.close()


# --- the pure rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("2024:01:12 21:38:53", datetime(2024, 1, 12, 21, 38, 53)),
        ("2024:01:12 21:38:53.853-08:00", datetime(2024, 1, 12, 21, 38, 53, 853000)),
        ("0000:00:00 00:00:00", None),
        ("2023:02:30 10:00:00", None),  # no 30 February
        ("0999:01:01 00:00:00", None),  # before photography
        ("9999:12:31 23:59:59", None),  # far future
        ("    :  :     :  :  ", None),
        (1234, None),
    ],
)
def test_absurd_dates_are_ignored_not_raised(value: object, parsed: datetime | None) -> None:
    result = parse_exif_date(value, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert (result.local if result else None) == parsed


def test_date_tag_priority_follows_immich() -> None:
    tags = {"CreateDate": "2020:01:01 00:00:00", "DateTimeOriginal": "2019:05:05 05:05:05",
            "ModifyDate": "2021:01:01 00:00:00"}
    _, local, _, source = resolve_dates(tags, is_video=False, mtime=MTIME)
    assert (source, local) == ("DateTimeOriginal", datetime(2019, 5, 5, 5, 5, 5))
    tags["DateTimeOriginal"] = "0000:00:00 00:00:00"  # broken: the next tag is used
    assert resolve_dates(tags, is_video=False, mtime=MTIME)[3] == "CreateDate"


def test_zone_from_offset_tags_and_from_gps_time() -> None:
    original, local, zone, _ = resolve_dates(
        {"DateTimeOriginal": "2022:07:01 12:00:00", "OffsetTimeOriginal": "+05:30"}, is_video=False, mtime=MTIME
    )
    assert (original, local, zone) == (datetime(2022, 7, 1, 6, 30, tzinfo=UTC), datetime(2022, 7, 1, 12), "UTC+5:30")
    _, _, zone, _ = resolve_dates(
        {"DateTimeOriginal": "2022:07:01 12:00:00", "GPSDateTime": "2022:07:01 10:00:03Z"}, is_video=False,
        mtime=MTIME,
    )
    assert zone == "UTC+2"


def test_video_dates_are_utc_and_shift_to_the_local_zone() -> None:
    tags = {"CreateDate": "2023:06:04 19:00:00", "CreationDate": "2023:06:04 12:00:00-07:00"}
    original, local, zone, source = resolve_dates(tags, is_video=True, mtime=MTIME)
    assert source == "CreateDate"
    assert original == datetime(2023, 6, 4, 19, tzinfo=UTC)
    assert (local, zone) == (datetime(2023, 6, 4, 12), "UTC-7")


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"GPSLatitude": 48.85, "GPSLongitude": 2.29}, (48.85, 2.29)),
        ({"GPSLatitude": 0, "GPSLongitude": 0}, (None, None)),
        ({"GPSLatitude": 91.0, "GPSLongitude": 2.0}, (None, None)),
        ({"GPSLatitude": 45.0, "GPSLongitude": -181.0}, (None, None)),
        ({"GPSLatitude": float("nan"), "GPSLongitude": 2.0}, (None, None)),
        ({"GPSLatitude": "north", "GPSLongitude": 2.0}, (None, None)),
        ({"GPSCoordinates": "37.3349 -122.009 12.1"}, (37.3349, -122.009)),
    ],
)
def test_gps_rejects_absurd_values_and_null_island(tags: dict[str, object], expected: tuple[object, object]) -> None:
    assert gps(tags) == expected


def test_hostile_strings_are_cleaned_and_capped() -> None:
    meta = build_metadata(
        {"ImageDescription": "hi\u202ethere\x00" + "x" * 10_000, "Make": "\x1b[31mEvil", "Rating": 99,
         "Keywords": ["ok", "\x00"]},
        mtime=MTIME, file_size=1, is_video=False,
    )
    assert meta.description.startswith("hithere") and len(meta.description) == 2000
    assert meta.make == "[31mEvil"
    assert meta.rating is None
    assert meta.tags == ["ok"]


def test_keywords_prefer_tagslist_then_hierarchical_subject() -> None:
    assert keywords({"HierarchicalSubject": ["A|B/C", "D"], "Keywords": "x"}) == ["A/B|C", "D"]
    assert keywords({"TagsList": ["T"], "Keywords": "x"}) == ["T"]
    assert keywords({"Keywords": "solo"}) == ["solo"]


def test_exposure_time_is_printed_like_exiftool() -> None:
    assert [exposure_text(v) for v in (0.004, 1 / 4000, 0.5, 2, 0)] == ["1/250", "1/4000", "0.5", "2", None]


def test_google_motion_photo_container_and_micro_video_markers() -> None:
    container = {"MotionPhoto": 1, "ContainerDirectory": [
        {"Item": {"Mime": "image/jpeg", "Semantic": "Primary"}},
        {"Item": {"Mime": "video/mp4", "Semantic": "MotionPhoto", "Length": 1000, "Padding": 0}},
    ]}
    assert motion_markers(container).length == 1000  # type: ignore[union-attr]
    assert motion_markers({"MicroVideo": 1, "MicroVideoOffset": 2048}).length == 2048  # type: ignore[union-attr]
    assert motion_markers({"MotionPhoto": 0}) is None


def test_file_time_fallback_is_the_modified_time() -> None:
    when = datetime(2015, 5, 5, 5, 5, 5, tzinfo=UTC)
    meta = build_metadata({}, mtime=when, file_size=0, is_video=False)
    assert (meta.date_time_original, meta.time_zone, meta.date_source) == (when, None, "mtime")
    assert meta.file_modified_at == when


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for its new parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state


async def test_exiftool_does_not_outlive_a_killed_server(tmp_path: Path) -> None:
    """exiftool -stay_open keeps polling its pipe after the end of it: a server killed with SIGKILL (no
    chance to close it) must not leave it running for ever."""
    program = (
        "import asyncio, sys\n"
        "from appliance.media.metadata import ExifTool\n"
        "async def main():\n"
        "    tool = ExifTool()\n"
        "    await tool.start()\n"
        "    print(tool._process.pid, flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", program, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert server.stdout is not None
    exiftool_pid = int(await asyncio.wait_for(server.stdout.readline(), 30))
    assert _running(exiftool_pid)
    server.kill()
    await server.wait()
    for _ in range(100):
        if not _running(exiftool_pid):
            break
        await asyncio.sleep(0.05)
    assert not _running(exiftool_pid)
