"""Fixtures for media tests: generated files (videos made with ffmpeg, damaged and hostile images) on
tmp_path, made deterministically in code."""

from __future__ import annotations

import subprocess
import zlib
from pathlib import Path

import pytest


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def h264_mp4(media_dir: Path) -> Path:
    """2 s 640x360 H.264/AAC MP4 with a creation time and QuickTime GPS: web-playable as it is."""
    path = media_dir / "clip.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=2",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        "-metadata", "creation_time=2023-06-04T19:00:00.000000Z",
        "-metadata", "location=+48.8584+002.2945/",
        "-movflags", "+use_metadata_tags", str(path),
    )
    return path


@pytest.fixture(scope="session")
def hevc_mov(media_dir: Path) -> Path:
    """1 s 1920x1080 HEVC in QuickTime, rotated 90° (a phone held upright): needs transcoding."""
    plain = media_dir / "landscape.mov"
    path = media_dir / "portrait.mov"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=1",
        "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p",
        str(plain),
    )
    # ffmpeg 5 writes the display matrix only when remuxing with the `rotate` tag.
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(path))
    return path


@pytest.fixture(scope="session")
def webm_vp9(media_dir: Path) -> Path:
    path = media_dir / "clip.webm"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=1", "-c:v", "libvpx-vp9",
           "-deadline", "realtime", str(path))
    return path


@pytest.fixture(scope="session")
def no_stream_mp4(media_dir: Path) -> Path:
    """An MP4 container with only a data-less audio track removed: no video stream at all."""
    path = media_dir / "audio-only.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", str(path))
    return path


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A valid grey PNG of width x height that compresses to almost nothing (a decompression bomb)."""
    row = b"\x00" + b"\x00" * width
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path
