"""shoebox doctor, as a subprocess (python -m appliance doctor) and in-process for the table."""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.hardware.doctor import run_doctor

from .conftest import HW_PROFILES, REPO

KEYS = {
    "board",
    "profile",
    "memory_mb",
    "cpu_cores",
    "thermal",
    "pressure",
    "encoders",
    "transcode",
    "throttle",
}


def shoebox(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )


@pytest.fixture(autouse=True)
def _needs_ffmpeg() -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (scripts/setup.sh installs it)")


def test_doctor_json_on_a_captured_pi4() -> None:
    done = shoebox("doctor", "--sysroot", "hw-profiles/rpi-4b/sysroot", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) >= KEYS
    assert report["board"] == {"id": "rpi-4b", "model": "Raspberry Pi 4 Model B Rev 1.5"}
    assert (report["profile"], report["memory_mb"], report["cpu_cores"]) == ("rpi-4b", 3794, 4)
    assert report["thermal"]["celsius"] == 52.582 and report["thermal"]["state"] == "normal"
    assert report["pressure"]["cpu"]["some"]["avg10"] == 2.31
    assert report["pressure"]["io"]["full"]["avg10"] == 0.59
    assert report["firmware_flags"]["now"] == []
    names = [e["name"] for e in report["encoders"]]
    assert names == ["h264_v4l2m2m", "libx264"]
    assert all(set(e) >= {"name", "usable", "reason"} for e in report["encoders"])
    x264 = report["encoders"][1]
    assert x264["usable"] is True
    v4l2 = report["encoders"][0]
    if not v4l2["usable"]:  # on anything but a real Pi 4
        assert v4l2["reason"]
        assert report["transcode"]["encoder"] == "libx264"
    assert report["throttle"]["state"] == "RUN"
    assert "52.6 °C" in report["throttle"]["reason"]


def test_doctor_json_on_this_machine() -> None:
    done = shoebox("doctor", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) >= KEYS
    assert report["transcode"]["encoder"] is not None
    assert any(e["name"] == "libx264" and e["usable"] for e in report["encoders"])
    assert report["throttle"]["state"] in {"RUN", "SLOW", "PAUSE"}


def test_doctor_on_a_broken_sysroot_reports_the_generic_profile(tmp_path: Path) -> None:
    done = shoebox("doctor", "--sysroot", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["board"]["id"] == "unknown"
    assert report["profile"].startswith("generic")
    assert "nothing identifies the board" in report["profile_reason"]
    assert report["thermal"] == {**report["thermal"], "celsius": None, "state": "unknown"}
    assert report["pressure"] == {"cpu": None, "io": None, "memory": None}
    assert report["transcode"]["encoder"] == "libx264"


def test_doctor_table_is_readable() -> None:
    out = io.StringIO()
    args = argparse.Namespace(
        sysroot=str(HW_PROFILES / "intel-n100" / "sysroot"), json=False, profiles_dir=None
    )
    assert run_doctor(args, out=out) == 0
    text = out.getvalue()
    assert "AZW EQ12 (Intel(R) N100) [intel-n100]" in text
    assert "44.0 °C (normal; x86_pkg_temp" in text
    assert "encoder h264_qsv" in text and "encoder libx264" in text
    assert "throttle" in text and "RUN" in text


def test_doctor_uses_the_profiles_dir_it_is_given(tmp_path: Path) -> None:
    out = io.StringIO()
    args = argparse.Namespace(
        sysroot=str(HW_PROFILES / "rpi-5" / "sysroot"), json=True, profiles_dir=str(tmp_path)
    )
    run_doctor(args, out=out)
    report = json.loads(out.getvalue())
    assert report["profile"] == "generic"  # an empty profiles folder: built-in defaults
