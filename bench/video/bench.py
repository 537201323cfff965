"""Video transcode: Shoebox's pipeline (probe → policy → command → ffmpeg, through the asyncio runner)
versus the same ffmpeg command typed by hand, on one generated clip. Prints the real-time factor (clip
seconds per wall second) of each and our overhead; medians of N runs, interleaved."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from appliance.media import video  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SECONDS = float(os.environ.get("BENCH_CLIP_SECONDS", "10"))


def make_clip(path: Path) -> None:
    """A 1080p HEVC + PCM clip in QuickTime: not web-playable, so the policy transcodes it (720p H.264/AAC)."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={SECONDS}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={SECONDS}", "-c:v", "libx265", "-preset", "ultrafast",
         "-x265-params", "log-level=error", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", str(path)],
        check=True,
    )


async def probe_only(source: Path) -> float:
    started = time.perf_counter()
    await video.probe(source)
    return time.perf_counter() - started


async def ours(source: Path, dest: Path) -> float:
    started = time.perf_counter()
    info = await video.probe(source)
    result = await video.transcode(source, dest, info)
    assert result.transcoded
    return time.perf_counter() - started


def bare(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clip = work / "clip.mov"
        make_clip(clip)
        info = asyncio.run(video.probe(clip))
        command = video.transcode_command(clip, work / "bare.mp4", info)
        print("ffmpeg command:", " ".join(command))
        # the same niceness the pipeline uses, so the comparison is like for like
        command = ["nice", "-n", "10", *command]
        ours_times, bare_times = [], []
        for run in range(RUNS):  # alternate who goes first, so neither side always meets the warmer cache
            if run % 2:
                bare_times.append(bare(command))
                ours_times.append(asyncio.run(ours(clip, work / "ours.mp4")))
            else:
                ours_times.append(asyncio.run(ours(clip, work / "ours.mp4")))
                bare_times.append(bare(command))
        mine, theirs = statistics.median(ours_times), statistics.median(bare_times)
        print(f"clip: {SECONDS:.0f} s 1080p30 HEVC+PCM → 720p H.264/AAC (libx264 ultrafast CRF 23); {RUNS} runs")
        print(f"shoebox pipeline: {mine:6.2f} s  real-time factor {SECONDS / mine:5.2f}x"
              f"  runs: {', '.join(f'{t:.2f}' for t in ours_times)}")
        print(f"bare ffmpeg:      {theirs:6.2f} s  real-time factor {SECONDS / theirs:5.2f}x"
              f"  runs: {', '.join(f'{t:.2f}' for t in bare_times)}")
        probe = statistics.median(asyncio.run(probe_only(clip)) for _ in range(5))
        print(f"of which ffprobe: {probe * 1000:.0f} ms")
        print(f"overhead of the pipeline (probe + policy + runner): {100 * (mine - theirs) / theirs:+.1f}%")


if __name__ == "__main__":
    main()
