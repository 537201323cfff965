"""A hardware encoder that fails on a real transcode: the job still ends with a playable H.264 file from
software x264, and after repeated failures the breaker stops choosing that encoder, reason visible."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from appliance.hardware.encoders import EncoderBreaker, trial_encode_command
from appliance.hardware.service import HardwareService
from appliance.jobs.system import JobSystem, encoder_for, hardware_encoder, hardware_feedback
from appliance.services import Services
from appliance.storage.db import Database
from tests.jobs.conftest import AddAsset

pytestmark = pytest.mark.slow


async def test_failing_hardware_encoder_falls_back_then_is_disabled(
    services: Services, db: Database, data_dir: Path, add_asset: AddAsset, tmp_path: Path
) -> None:
    hardware = HardwareService(Path("/"), tmp_path / "cache")
    # pretend detection found VA-API; on this machine it has no device, so real encodes with it fail
    hardware.breaker = EncoderBreaker(["h264_vaapi", "libx264"], threshold=2)
    services.extras["hardware"] = hardware
    jobs = JobSystem(db, data_dir, ingest=services.ingest, poll_interval=0.05, retry_base=0.05,
                     encoder=hardware_encoder(services))
    jobs.handlers.encoder_feedback = hardware_feedback(services)
    await jobs.start()
    try:
        ids = []
        for n in range(2):
            clip = tmp_path / f"clip{n}.webm"
            await asyncio.to_thread(subprocess.run, [
                "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=10:duration={n + 1}",
                "-c:v", "libvpx-vp9", "-deadline", "realtime", str(clip)], check=True)
            ids.append(await add_asset(clip))
            await jobs.runner.wait_idle(within=180)
        for asset_id in ids:
            path = await db.fetchval("SELECT encoded_video_path FROM assets WHERE id = ?", (asset_id,))
            assert path, "no transcode despite the software fallback"
            probe = await asyncio.to_thread(subprocess.run, [
                "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name",
                "-of", "csv=p=0", str(data_dir / path)], capture_output=True, text=True, check=True)
            assert probe.stdout.strip() == "h264"
        assert "h264_vaapi" in hardware.breaker.disabled()
        assert hardware.chosen_encoder()[0] == "libx264"
        assert hardware.status()["transcode"]["encoder"] == "libx264"
    finally:
        await jobs.stop()


@pytest.mark.parametrize("encoder", ["h264_vaapi", "h264_qsv"])
def test_real_transcodes_open_the_gpu_as_the_trial_encode_that_proved_it(encoder: str) -> None:
    chosen = encoder_for(encoder, "/dev/dri/renderD129")
    trial = trial_encode_command("ffmpeg", encoder, "/dev/dri/renderD129")
    start = trial.index("-init_hw_device")
    assert list(chosen.input_args) == trial[start : start + 4]
    assert "/dev/dri/renderD129" in chosen.input_args[1]
