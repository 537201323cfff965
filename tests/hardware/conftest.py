"""Fixtures for the hardware tests: captured board sysroots copied to tmp_path, and a fake ffmpeg."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.hardware.sysroot import Sysroot

REPO = Path(__file__).resolve().parents[2]
HW_PROFILES = REPO / "hw-profiles"
BOARDS = sorted(p.name for p in HW_PROFILES.iterdir() if (p / "profile.toml").is_file())


@pytest.fixture
def board_sysroot(tmp_path: Path) -> Callable[[str], Sysroot]:
    """A writable copy of a board's captured sysroot (tests change temperatures and PSI in it)."""

    def copy(board: str) -> Sysroot:
        root = tmp_path / f"{board}-sysroot"
        shutil.copytree(HW_PROFILES / board / "sysroot", root)
        return Sysroot(root)

    return copy


def write(sysroot: Sysroot, rel: str, text: str) -> None:
    path = sysroot.path(rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def psi_text(some10: float, full10: float = 0.0) -> str:
    return (
        f"some avg10={some10:.2f} avg60={some10:.2f} avg300={some10:.2f} total=123456\n"
        f"full avg10={full10:.2f} avg60={full10:.2f} avg300={full10:.2f} total=65432\n"
    )


_FAKE = '''#!{python}
"""A fake ffmpeg: answers -version and -encoders, and fails test encodes as its plan says."""
import json, sys, time
PLAN = json.loads({plan!r})
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(json.dumps(args) + "\\n")
if "-version" in args:
    print({version!r})
    print("built with gcc 12 (Debian 12.2.0-14)")
    sys.exit(0)
if "-encoders" in args:
    print("Encoders:")
    print(" V..... = Video")
    print(" ------")
    for name in PLAN["built"]:
        print(" V....D " + name + "              fake " + name)
    sys.exit(0)
encoder = args[args.index("-c:v") + 1]
rc, stderr, sleep = PLAN["encoders"].get(encoder, [0, "", 0])
if sleep:
    time.sleep(sleep)
sys.stderr.write(stderr)
sys.exit(rc)
'''


@dataclass
class FakeFfmpeg:
    path: Path
    log: Path

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def test_encodes(self) -> list[str]:
        """The encoders a test encode was run for, in order."""
        return [c[c.index("-c:v") + 1] for c in self.calls() if "-c:v" in c]


@pytest.fixture
def fake_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeFfmpeg]:
    """Write a fake ``ffmpeg`` first on PATH. ``encoders`` maps name → (exit code, stderr[, sleep s])."""

    def make(
        encoders: Mapping[str, tuple[int, str] | tuple[int, str, float]] | None = None,
        built: list[str] | None = None,
        version: str = "ffmpeg version 5.1.9-fake Copyright (c) 2000-2026 the FFmpeg developers",
    ) -> FakeFfmpeg:
        bindir = tmp_path / "bin"
        bindir.mkdir(exist_ok=True)
        plan = {
            "encoders": {k: [v[0], v[1], v[2] if len(v) > 2 else 0] for k, v in (encoders or {}).items()},
            "built": built
            if built is not None
            else ["libx264", "h264_v4l2m2m", "h264_vaapi", "h264_qsv", "h264_nvenc", "h264_rkmpp"],
        }
        log = tmp_path / "ffmpeg-calls.jsonl"
        script = bindir / "ffmpeg"
        script.write_text(
            _FAKE.format(python=sys.executable, plan=json.dumps(plan), log=str(log), version=version)
        )
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
        return FakeFfmpeg(script, log)

    return make
