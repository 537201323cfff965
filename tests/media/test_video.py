"""Video: ffprobe facts from clips made with ffmpeg, the transcode policy, the command line, the poster frame,
and the motion-photo extraction."""

from __future__ import annotations

from pathlib import Path

import pytest
import pyvips

from appliance.media import video
from appliance.media.errors import CorruptMedia
from appliance.media.metadata import ExifTool, motion_markers
from appliance.media.motion import extract_motion_video, read_trailer_blocking


async def test_probe_reads_duration_codecs_size_creation_time_and_quicktime_gps(h264_mp4: Path) -> None:
    info = await video.probe(h264_mp4)
    stream = info.main_video
    assert stream is not None and stream.codec == "h264"
    assert (stream.width, stream.height, stream.rotation) == (640, 360, 0)
    assert info.main_audio is not None and info.main_audio.codec == "aac"
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.creation_time and info.creation_time.startswith("2023-06-04T19:00:00")
    assert (info.latitude, info.longitude) == (pytest.approx(48.8584), pytest.approx(2.2945))


async def test_a_web_playable_mp4_is_not_transcoded(h264_mp4: Path, tmp_path: Path) -> None:
    info = await video.probe(h264_mp4)
    assert not video.needs_transcode(info, video.TranscodeConfig())
    result = await video.transcode(h264_mp4, tmp_path / "out.mp4", info)
    assert not result.transcoded and not (tmp_path / "out.mp4").exists()


async def test_a_rotated_hevc_mov_is_transcoded_to_720p_h264_upright(hevc_mov: Path, tmp_path: Path) -> None:
    info = await video.probe(hevc_mov)
    assert info.main_video is not None and abs(info.main_video.rotation) == 90
    assert video.needs_transcode(info, video.TranscodeConfig())
    result = await video.transcode(hevc_mov, tmp_path / "out.mp4", info)
    assert result.transcoded
    out = await video.probe(tmp_path / "out.mp4")
    assert out.main_video is not None and out.main_video.codec == "h264"
    assert (out.main_video.width, out.main_video.height) == (720, 1280)
    assert out.main_video.rotation == 0


async def test_webm_vp9_is_transcoded(webm_vp9: Path) -> None:
    assert video.needs_transcode(await video.probe(webm_vp9), video.TranscodeConfig())


def test_transcode_command_follows_immich_defaults_and_takes_any_encoder(tmp_path: Path) -> None:
    stream = video.VideoStream(0, "hevc", 3840, 2160, 0, 100, "yuv420p10le", False, 30.0)
    info = video.VideoInfo("mov,mp4,m4a,3gp,3g2,mj2", 3.0, 0, [stream], [video.AudioStream(1, "pcm_s16le")],
                           None, None, None)
    command = video.transcode_command(Path("in.mov"), Path("out.mp4"), info)
    joined = " ".join(command)
    for part in ("-c:v libx264", "-preset ultrafast", "-crf 23", "scale=1280:720,format=yuv420p", "-c:a aac",
                 "-movflags faststart", "-map 0:0 -map 0:1", "-tag:v avc1"):
        assert part in joined
    vaapi = video.VideoEncoder(
        name="h264_vaapi", input_args=("-hwaccel", "vaapi", "-hwaccel_output_format", "vaapi"),
        quality_args=("-qp", "23"), filters_suffix=("format=nv12|vaapi", "hwupload"),
    )
    hardware = " ".join(video.transcode_command(Path("in.mov"), Path("out.mp4"), info, encoder=vaapi))
    assert "-hwaccel vaapi" in hardware and "-c:v h264_vaapi" in hardware and "-qp 23" in hardware
    assert "-crf" not in hardware


@pytest.mark.parametrize(
    ("policy", "codec", "audio", "short_edge", "expected"),
    [
        ("required", "h264", "aac", 1080, False),
        ("required", "hevc", "aac", 720, True),
        ("required", "h264", "pcm_s16le", 720, True),
        ("optimal", "h264", "aac", 1080, True),
        ("optimal", "h264", "aac", 720, False),
        ("all", "h264", "aac", 480, True),
        ("disabled", "hevc", "aac", 2160, False),
    ],
)
def test_transcode_policy_table(policy: str, codec: str, audio: str, short_edge: int, expected: bool) -> None:
    stream = video.VideoStream(0, codec, short_edge * 16 // 9, short_edge, 0, 10, "yuv420p", False, 30.0)
    info = video.VideoInfo("mov,mp4,m4a,3gp,3g2,mj2", 1.0, 0, [stream], [video.AudioStream(1, audio)], None, None, None)
    assert video.needs_transcode(info, video.TranscodeConfig(policy=policy)) is expected


async def test_poster_frame_is_a_decodable_image(h264_mp4: Path, tmp_path: Path) -> None:
    info = await video.probe(h264_mp4)
    await video.extract_poster(h264_mp4, tmp_path / "poster.png", info)
    frame = pyvips.Image.new_from_file(str(tmp_path / "poster.png"))
    assert (frame.width, frame.height) == (640, 360)


async def test_a_video_without_a_video_stream_fails_clearly(no_stream_mp4: Path, tmp_path: Path) -> None:
    info = await video.probe(no_stream_mp4)
    assert info.main_video is None
    assert not video.needs_transcode(info, video.TranscodeConfig())
    with pytest.raises(CorruptMedia, match="no video stream"):
        await video.extract_poster(no_stream_mp4, tmp_path / "poster.png", info)


async def test_garbage_named_mp4_is_not_a_readable_video(tmp_path: Path) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x00" * 1000)
    with pytest.raises(CorruptMedia, match="not a readable video"):
        await video.probe(fake)


async def test_samsung_heic_motion_photo_video_is_extracted(test_assets: Path, tmp_path: Path) -> None:
    tool = ExifTool()
    try:
        source = test_assets / "formats/motionphoto/samsung-one-ui-6.heic"
        markers = motion_markers(await tool.read_tags(source))
        assert markers is not None
        await extract_motion_video(tool, source, markers, tmp_path / "motion.mp4")
    finally:
        await tool.close()
    info = await video.probe(tmp_path / "motion.mp4")
    assert info.main_video is not None and info.main_video.codec == "hevc"
    assert info.duration == pytest.approx(3.13, abs=0.05)


def test_google_trailer_layout_is_cut_from_the_end(h264_mp4: Path, tmp_path: Path) -> None:
    clip = h264_mp4.read_bytes()
    photo = tmp_path / "PXL_MP.jpg"
    photo.write_bytes(b"\xff\xd8fake jpeg\xff\xd9" + clip + b"PAD!")
    read_trailer_blocking(photo, tmp_path / "out.mp4", length=len(clip), padding=4)
    assert (tmp_path / "out.mp4").read_bytes() == clip
    with pytest.raises(CorruptMedia):
        read_trailer_blocking(photo, tmp_path / "bad.mp4", length=10**9, padding=0)
