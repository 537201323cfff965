"""Video: ffprobe facts, the poster frame, and the transcode policy and command lines (pure functions).

Defaults are Immich's (server config `ffmpeg`): H.264 + AAC in MP4, 720p target, CRF 23, preset ultrafast,
transcode policy "required" (only when the original is not already playable in a browser). The encoder is a
parameter (`VideoEncoder`): software libx264 here; the hardware layer supplies its own with extra arguments.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.media.background import background_prefix
from appliance.media.errors import CorruptMedia, ToolFailed

_ISO6709 = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)")
WEB_CONTAINERS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "mp4", "mov"})


@dataclass(frozen=True)
class VideoStream:
    index: int
    codec: str
    width: int
    height: int
    rotation: int  # degrees, as the display matrix says (-90, 90, 180)
    frame_count: int
    pixel_format: str
    is_hdr: bool
    fps: float | None


@dataclass(frozen=True)
class AudioStream:
    index: int
    codec: str


@dataclass(frozen=True)
class VideoInfo:
    format_name: str
    duration: float  # seconds
    bitrate: int
    video: list[VideoStream]
    audio: list[AudioStream]
    creation_time: str | None
    latitude: float | None
    longitude: float | None

    @property
    def main_video(self) -> VideoStream | None:
        return max(self.video, key=lambda s: s.frame_count, default=None)

    @property
    def main_audio(self) -> AudioStream | None:
        return self.audio[0] if self.audio else None

    def as_tags(self) -> dict[str, Any]:
        """ffprobe's facts in exiftool's tag names, to merge over exiftool's (Immich prefers ffprobe's)."""
        stream = self.main_video
        tags: dict[str, Any] = {"Duration": self.duration or None}
        if stream is not None:
            tags["Orientation"] = {-90: 6, 270: 6, 90: 8, -270: 8, 180: 3, -180: 3, 0: 1}.get(stream.rotation, 1)
            tags["ImageWidth"], tags["ImageHeight"] = stream.width or None, stream.height or None
            tags["ImageSize"] = None
            tags["VideoFrameRate"] = stream.fps
        if self.latitude is not None and self.longitude is not None:
            tags.setdefault("GPSLatitude", self.latitude)
            tags.setdefault("GPSLongitude", self.longitude)
        return tags


def _int(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _rate(value: Any) -> float | None:
    if not isinstance(value, str) or "/" not in value:
        return None
    num, _, den = value.partition("/")
    try:
        return round(float(num) / float(den), 3) if float(den) else None
    except ValueError:
        return None


def _rotation(stream: dict[str, Any]) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return _int(side["rotation"])
    return -_int((stream.get("tags") or {}).get("rotate", 0))


def parse_probe(data: dict[str, Any]) -> VideoInfo:
    """ffprobe `-print_format json -show_format -show_streams` output → VideoInfo."""
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    video = [
        VideoStream(
            index=_int(s.get("index")),
            codec="hevc" if s.get("codec_name") == "h265" else str(s.get("codec_name") or ""),
            width=_int(s.get("width")),
            height=_int(s.get("height")),
            rotation=_rotation(s),
            frame_count=_int(s.get("nb_frames")),
            pixel_format=str(s.get("pix_fmt") or "yuv420p"),
            is_hdr=s.get("color_transfer") in ("smpte2084", "arib-std-b67"),
            fps=_rate(s.get("avg_frame_rate")) or _rate(s.get("r_frame_rate")),
        )
        for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    audio = [
        AudioStream(index=_int(s.get("index")), codec=str(s.get("codec_name") or ""))
        for s in streams
        if s.get("codec_type") == "audio"
    ]
    tags = fmt.get("tags") or {}
    lat = lon = None
    location = tags.get("com.apple.quicktime.location.ISO6709") or tags.get("location")
    if isinstance(location, str) and (match := _ISO6709.match(location)):
        lat, lon = float(match.group(1)), float(match.group(2))
    try:
        duration = float(fmt.get("duration") or 0)
    except ValueError:
        duration = 0.0
    return VideoInfo(
        format_name=str(fmt.get("format_name") or ""),
        duration=duration,
        bitrate=_int(fmt.get("bit_rate")),
        video=video,
        audio=audio,
        creation_time=tags.get("creation_time"),
        latitude=lat,
        longitude=lon,
    )


async def run_tool(args: list[str], *, time_limit: float, nice: int = 19) -> bytes:
    """Run ffmpeg/ffprobe niced (as Immich does), killed after `time_limit` s; stdout, or ToolFailed."""
    process = await asyncio.create_subprocess_exec(
        *background_prefix(nice), *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), time_limit)
    except TimeoutError as exc:
        process.kill()
        await process.wait()
        raise ToolFailed(f"{Path(args[0]).name} timed out after {time_limit:.0f}s") from exc
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-2:]
        raise ToolFailed(f"{Path(args[0]).name} exited {process.returncode}: {' | '.join(tail)[:300]}")
    return out


def probe_command(path: Path) -> list[str]:
    return ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]


async def probe(path: Path, *, time_limit: float = 60.0) -> VideoInfo:
    try:
        out = await run_tool(probe_command(path), time_limit=time_limit)
    except ToolFailed as err:
        raise CorruptMedia(f"not a readable video: {err}") from err
    return parse_probe(json.loads(out or b"{}"))


# --- poster frame ----------------------------------------------------------------------------------------


def poster_command(source: Path, dest: Path, *, seek: float, size: int = 1440) -> list[str]:
    """One frame (a keyframe near `seek`), scaled so the shorter edge is at most `size`, as PNG."""
    scale = (
        f"scale=w='if(lt(iw,ih),min({size},iw),-2)':h='if(lt(iw,ih),-2,min({size},ih))'"
    )
    return [
        "ffmpeg", "-hide_banner", "-v", "error", "-nostdin", "-y",
        "-skip_frame", "nokey", "-ss", f"{seek:.3f}", "-i", str(source),
        "-frames:v", "1", "-vf", scale, "-f", "image2", "-c:v", "png", str(dest),
    ]


async def extract_poster(source: Path, dest: Path, info: VideoInfo, *, time_limit: float = 120.0) -> None:
    """A frame 10% in (Immich seeks a little into the clip to skip black starts); first frame as fallback."""
    if info.main_video is None:
        raise CorruptMedia("video has no video stream")
    for seek in (min(info.duration * 0.1, 5.0), 0.0):
        await run_tool(poster_command(source, dest, seek=seek), time_limit=time_limit)
        if await asyncio.to_thread(_nonempty_blocking, dest):
            return
    raise CorruptMedia("no frame could be decoded")


# --- transcoding -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TranscodeConfig:
    """Immich's `ffmpeg` defaults."""

    crf: int = 23
    threads: int = 0
    preset: str = "ultrafast"
    target_video_codec: str = "h264"
    accepted_video_codecs: tuple[str, ...] = ("h264",)
    target_audio_codec: str = "aac"
    accepted_audio_codecs: tuple[str, ...] = ("aac", "mp3", "libopus", "opus")
    accepted_containers: tuple[str, ...] = ("mov", "ogg", "webm")
    target_resolution: int | None = 720  # None = original
    max_bitrate: str = "0"
    gop_size: int = 0
    policy: str = "required"  # all | optimal | bitrate | required | disabled
    timeout: float = 6 * 3600.0


@dataclass(frozen=True)
class VideoEncoder:
    """Which encoder ffmpeg uses. Hardware encoders (chosen by appliance/hardware) bring their own name,
    input args (e.g. `-hwaccel vaapi`) and output args; quality args are theirs too when `quality_args` is set."""

    name: str = "libx264"
    input_args: tuple[str, ...] = ()
    output_args: tuple[str, ...] = ()
    quality_args: tuple[str, ...] | None = None
    filters_prefix: tuple[str, ...] = ()
    filters_suffix: tuple[str, ...] = ()


SOFTWARE_H264 = VideoEncoder()


def needs_transcode(info: VideoInfo, config: TranscodeConfig) -> bool:
    """Immich's `isTranscodeRequired`: False for a video the browsers play as it is."""
    stream = info.main_video
    if stream is None or not stream.width or not stream.height:
        return False
    audio = info.main_audio
    video_ok = stream.codec in config.accepted_video_codecs
    audio_ok = audio is None or audio.codec in config.accepted_audio_codecs
    container_ok = info.format_name in WEB_CONTAINERS or info.format_name in config.accepted_containers
    all_ok = video_ok and audio_ok and container_ok
    policy = config.policy
    if policy == "disabled":
        return False
    if policy == "all":
        return True
    needs = not all_ok or stream.is_hdr or stream.pixel_format not in ("yuv420p", "yuvj420p")
    if policy == "optimal" and config.target_resolution is not None:
        needs = needs or min(stream.width, stream.height) > config.target_resolution
    return needs


def target_size(stream: VideoStream, config: TranscodeConfig) -> tuple[int, int] | None:
    """Scaled output size (shorter edge = target, even numbers), or None to keep the size."""
    if config.target_resolution is None:
        return None
    # ffmpeg auto-rotates before our filters run, so scale the displayed (rotated) size.
    width, height = stream.width, stream.height
    if abs(stream.rotation) in (90, 270):
        width, height = height, width
    short = min(width, height)
    if short <= config.target_resolution:
        return None
    factor = config.target_resolution / short
    return int(round(width * factor / 2)) * 2, int(round(height * factor / 2)) * 2


def transcode_command(
    source: Path,
    dest: Path,
    info: VideoInfo,
    config: TranscodeConfig = TranscodeConfig(),
    encoder: VideoEncoder = SOFTWARE_H264,
) -> list[str]:
    """The whole ffmpeg command line, built without side effects (tests assert on it)."""
    stream = info.main_video
    if stream is None:
        raise CorruptMedia("video has no video stream")
    audio = info.main_audio
    args = ["ffmpeg", "-hide_banner", "-v", "error", "-nostdin", "-y", *encoder.input_args, "-i", str(source)]
    args += ["-map", f"0:{stream.index}"]
    if audio is not None:
        args += ["-map", f"0:{audio.index}"]
    args += ["-map_metadata", "-1", "-movflags", "faststart", "-fps_mode", "passthrough"]
    args += ["-c:v", encoder.name]
    if audio is None:
        pass
    elif audio.codec in config.accepted_audio_codecs and audio.codec in ("aac", "mp3"):
        args += ["-c:a", "copy"]
    else:
        args += ["-c:a", config.target_audio_codec]
    filters = list(encoder.filters_prefix)
    size = target_size(stream, config)
    if size is not None:
        filters.append(f"scale={size[0]}:{size[1]}")
    if encoder.name.startswith("lib") or not encoder.filters_suffix:
        filters.append("format=yuv420p")
    filters += encoder.filters_suffix
    if filters:
        args += ["-vf", ",".join(filters)]
    if encoder.quality_args is not None:
        args += list(encoder.quality_args)
    else:
        args += ["-preset", config.preset, "-crf", str(config.crf)]
        if config.max_bitrate not in ("0", ""):
            args += ["-maxrate", config.max_bitrate, "-bufsize", config.max_bitrate]
        if config.gop_size > 0:
            args += ["-g", str(config.gop_size)]
        args += ["-threads", str(config.threads)]
    args += ["-tag:v", "avc1" if config.target_video_codec == "h264" else "hvc1"]
    args += [*encoder.output_args, "-f", "mp4", str(dest)]
    return args


@dataclass
class TranscodeResult:
    transcoded: bool
    command: list[str] = field(default_factory=list)


async def transcode(
    source: Path,
    dest: Path,
    info: VideoInfo,
    config: TranscodeConfig = TranscodeConfig(),
    encoder: VideoEncoder = SOFTWARE_H264,
) -> TranscodeResult:
    """Transcode into `dest` via a temporary file when the policy says so; nothing is written otherwise."""
    if not needs_transcode(info, config):
        return TranscodeResult(transcoded=False)
    await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
    temp = dest.with_name(f".{dest.name}.tmp.mp4")
    command = transcode_command(source, temp, info, config, encoder)
    try:
        await run_tool(command, time_limit=config.timeout)
        await asyncio.to_thread(temp.replace, dest)
    finally:
        await asyncio.to_thread(temp.unlink, missing_ok=True)
    return TranscodeResult(transcoded=True, command=command)


def _nonempty_blocking(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0
