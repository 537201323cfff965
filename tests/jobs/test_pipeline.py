"""End to end: assets inserted as ingest does, the job system started, files and rows checked."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
import pyvips

from appliance.jobs.system import JobSystem
from appliance.storage.db import Database

from .conftest import AddAsset


async def test_a_heic_upload_gets_exif_dates_a_place_thumbnails_and_a_thumbhash(
    jobs: JobSystem, db: Database, data_dir: Path, add_asset: AddAsset, test_assets: Path
) -> None:
    asset_id = await add_asset(test_assets / "formats/heic/IMG_2682.heic")
    await jobs.runner.wait_idle()
    asset = await db.fetchone("SELECT * FROM assets WHERE id = ?", (asset_id,))
    exif = await db.fetchone("SELECT * FROM asset_exif WHERE asset_id = ?", (asset_id,))
    files = dict(await db.fetchall("SELECT kind, path FROM asset_files WHERE asset_id = ?", (asset_id,)))
    assert asset["has_metadata"] == 1
    assert asset["file_created_at"] == "2019-03-21T16:04:22.348Z"
    assert asset["local_date_time"] == "2019-03-21T11:04:22.348Z"
    assert (asset["width"], asset["height"]) == (4032, 3024)
    assert asset["thumbhash"]
    assert exif["time_zone"] == "UTC-5"
    assert exif["make"] == "Apple"
    assert exif["latitude"] == pytest.approx(41.2203, abs=1e-3)
    # reverse geocoded from the bundled GeoNames data, as Immich does: a suburb of Omaha
    assert (exif["city"], exif["state"], exif["country"]) == ("Ralston", "Nebraska", "United States of America")
    thumb = pyvips.Image.new_from_file(str(data_dir / files["thumbnail"]))
    preview = pyvips.Image.new_from_file(str(data_dir / files["preview"]))
    assert (thumb.width, thumb.height) == (333, 250)
    assert (preview.width, preview.height) == (1920, 1440)
    assert files["thumbnail"].endswith(f"{asset_id[0:2]}/{asset_id[2:4]}/{asset_id}-thumbnail.webp")


async def test_a_samsung_motion_photo_gets_a_hidden_linked_video(
    jobs: JobSystem, db: Database, data_dir: Path, add_asset: AddAsset, test_assets: Path
) -> None:
    asset_id = await add_asset(test_assets / "formats/motionphoto/samsung-one-ui-6.heic")
    await jobs.runner.wait_idle(within=120)
    photo = await db.fetchone("SELECT * FROM assets WHERE id = ?", (asset_id,))
    assert photo["live_photo_video_id"]
    clip = await db.fetchone("SELECT * FROM assets WHERE id = ?", (photo["live_photo_video_id"],))
    assert clip["type"] == "VIDEO"
    assert clip["visibility"] == "hidden"
    assert clip["owner_id"] == photo["owner_id"]
    assert clip["original_file_name"] == "samsung-one-ui-6.mp4"
    assert (data_dir / clip["original_path"]).read_bytes()[4:8] == b"ftyp"
    assert clip["duration_ms"] and 2500 < clip["duration_ms"] < 4000
    kinds = {row[0] for row in await db.fetchall("SELECT kind FROM asset_files WHERE asset_id = ?", (clip["id"],))}
    assert {"thumbnail", "preview", "encoded_video"} <= kinds
    failed = await db.fetchall("SELECT name, last_error FROM jobs WHERE status = 'failed'")
    assert [tuple(row) for row in failed] == []


async def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(subprocess.run, args, **kwargs)  # type: ignore[call-overload, no-any-return]


XMP_CID = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:apple="http://ns.apple.com/ContentIdentifier/1.0/"'
    ' apple:ContentIdentifier="{cid}"/></rdf:RDF></x:xmpmeta>'
)


async def test_an_iphone_photo_and_video_uploaded_apart_are_linked_by_content_identifier(
    jobs: JobSystem, db: Database, add_asset: AddAsset, test_assets: Path, tmp_path: Path
) -> None:
    clip = tmp_path / "IMG_0001.mov"
    await run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=1",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)], check=True)
    sidecar = tmp_path / "cid.xmp"
    sidecar.write_text(XMP_CID.format(cid="5C1D-LIVE"))
    video_id = await add_asset(clip, sidecar=sidecar)
    await jobs.runner.wait_idle(within=120)
    photo_id = await add_asset(test_assets / "formats/heic/IMG_2682.heic", name="IMG_0001.HEIC", sidecar=sidecar)
    await jobs.runner.wait_idle(within=120)
    photo = await db.fetchone("SELECT live_photo_video_id FROM assets WHERE id = ?", (photo_id,))
    video = await db.fetchone("SELECT visibility, duration_ms FROM assets WHERE id = ?", (video_id,))
    assert photo["live_photo_video_id"] == video_id
    assert video["visibility"] == "hidden"
    assert 900 <= video["duration_ms"] <= 1100


async def test_bad_files_fail_their_job_with_a_reason_and_the_rest_of_the_queue_finishes(
    jobs: JobSystem, db: Database, data_dir: Path, add_asset: AddAsset, test_assets: Path, tmp_path: Path
) -> None:
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes((test_assets / "albums/text/craft-beer.jpg").read_bytes()[:200_000])
    garbage = tmp_path / "garbage.heic"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(range(256)) * 40)
    no_stream = tmp_path / "silent.mp4"
    await run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac",
                    str(no_stream)], check=True)
    absurd = tmp_path / "absurd.jpg"
    shutil.copyfile(test_assets / "albums/nature/el_torcal_rocks.jpg", absurd)
    await run(["exiftool", "-q", "-overwrite_original", "-DateTimeOriginal=0000:00:00 00:00:00",
                    "-CreateDate=2023:02:30 10:00:00", "-GPSLatitude=95", "-GPSLongitude=200", str(absurd)])
    bad = {name: await add_asset(path) for name, path in
           (("truncated", truncated), ("garbage", garbage), ("no_stream", no_stream), ("absurd", absurd))}
    good = await add_asset(test_assets / "albums/nature/prairie_falcon.jpg")
    await jobs.runner.wait_idle(within=120)

    failed = {row["payload"]: row["last_error"] for row in
              await db.fetchall("SELECT payload, last_error FROM jobs WHERE status = 'failed'")}
    reasons = {name: next((err for payload, err in failed.items() if asset_id in payload), None)
               for name, asset_id in bad.items()}
    assert reasons["truncated"] and "CorruptMedia" in reasons["truncated"]
    assert reasons["garbage"] and "Media" in reasons["garbage"]
    assert reasons["no_stream"] and "no video stream" in reasons["no_stream"]
    assert reasons["absurd"] is None  # bad dates and GPS are dropped, the photo is fine
    absurd_row = await db.fetchone("SELECT a.file_created_at, e.latitude FROM assets a JOIN asset_exif e"
                                   " ON e.asset_id = a.id WHERE a.id = ?", (bad["absurd"],))
    assert absurd_row["latitude"] is None
    # DateTimeOriginal 0000:00:00 is skipped; the next valid tag (the camera's CreateDate) is used
    assert absurd_row["file_created_at"] == "2012-08-05T11:39:59.000Z"
    for asset_id in bad.values():  # every original is still there to download
        row = await db.fetchone("SELECT original_path FROM assets WHERE id = ?", (asset_id,))
        assert (data_dir / row["original_path"]).is_file()
    kinds = {r[0] for r in await db.fetchall("SELECT kind FROM asset_files WHERE asset_id = ?", (good,))}
    assert kinds == {"thumbnail", "preview"}


async def test_a_video_gets_a_poster_thumbnail_and_a_720p_transcode(
    jobs: JobSystem, db: Database, data_dir: Path, add_asset: AddAsset, tmp_path: Path
) -> None:
    clip = tmp_path / "wide.webm"
    await run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=10:duration=1",
                    "-c:v", "libvpx-vp9", "-deadline", "realtime", str(clip)], check=True)
    asset_id = await add_asset(clip)
    await jobs.runner.wait_idle(within=180)
    asset = await db.fetchone("SELECT * FROM assets WHERE id = ?", (asset_id,))
    assert (asset["width"], asset["height"]) == (1920, 1080)
    assert asset["encoded_video_path"].endswith(f"{asset_id}.mp4")
    files = dict(await db.fetchall("SELECT kind, path FROM asset_files WHERE asset_id = ?", (asset_id,)))
    assert files["encoded_video"] == asset["encoded_video_path"]
    preview = pyvips.Image.new_from_file(str(data_dir / files["preview"]))
    assert (preview.width, preview.height) == (1920, 1080)
    probe = await run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=codec_name,width,height", "-of", "csv=p=0",
                            str(data_dir / asset["encoded_video_path"])], capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "h264,1280,720"


async def test_a_sidecar_dropped_beside_an_original_is_found_and_wins(
    jobs: JobSystem, db: Database, data_dir: Path, add_asset: AddAsset, test_assets: Path
) -> None:
    asset_id = await add_asset(test_assets / "albums/nature/tanners_ridge.jpg")
    await jobs.runner.wait_idle(within=60)
    row = await db.fetchone("SELECT original_path FROM assets WHERE id = ?", (asset_id,))
    original = data_dir / row["original_path"]
    original.with_suffix(".xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="5"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    await jobs.service.run_command("sidecar", "start", force=False)
    await jobs.runner.wait_idle(within=60)
    exif = await db.fetchone("SELECT rating FROM asset_exif WHERE asset_id = ?", (asset_id,))
    asset = await db.fetchone("SELECT sidecar_path FROM assets WHERE id = ?", (asset_id,))
    assert asset["sidecar_path"].endswith(".xmp")
    assert exif["rating"] == 5
