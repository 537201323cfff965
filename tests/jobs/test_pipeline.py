"""End to end: assets inserted as ingest does, the job system started, files and rows checked."""

from __future__ import annotations

from pathlib import Path

import pytest
import pyvips

from appliance.jobs.system import JobSystem
from appliance.storage.db import Database

from .conftest import AddAsset


async def test_a_heic_upload_gets_exif_dates_thumbnails_and_a_thumbhash(
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
    thumb = pyvips.Image.new_from_file(str(data_dir / files["thumbnail"]))
    preview = pyvips.Image.new_from_file(str(data_dir / files["preview"]))
    assert (thumb.width, thumb.height) == (333, 250)
    assert (preview.width, preview.height) == (1920, 1440)
    assert files["thumbnail"].endswith(f"{asset_id[0:2]}/{asset_id[2:4]}/{asset_id}-thumbnail.webp")


async def test_a_samsung_motion_photo_gets_a_hidden_linked_video(
    jobs: JobSystem, db: Database, data_dir: Path, add_asset: AddAsset, test_assets: Path
) -> None:
    asset_id = await add_asset(test_assets / "formats/motionphoto/samsung-one-ui-6.heic")
    await jobs.runner.wait_idle(timeout=120)
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
