"""Encoder detection: a fake ffmpeg failing in each recorded way, the cache, the real ffmpeg, the breaker."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from appliance.hardware import sysroot as sysroot_module
from appliance.hardware.encoders import (
    EncoderBreaker,
    Status,
    classify_failure,
    detect_encoders,
    detect_encoders_blocking,
    trial_encode_command,
)
from appliance.hardware.probe import HardwareInfo, probe
from appliance.hardware.sysroot import Sysroot

from .conftest import HW_PROFILES, write

OUTPUT_ERROR = (
    "Error initializing output stream 0:0 -- Error while opening encoder for output stream #0:0 - "
    "maybe incorrect parameters such as bit_rate, rate, width or height\n"
)

# One row per failure recorded on Debian 12's ffmpeg 5.1 (appliance.md §0) or seen from vendor builds:
# (id, encoder, exit code, stderr, expected status, words of the expected reason)
FAILURES = [
    (
        "v4l2m2m-no-device",
        "h264_v4l2m2m",
        1,
        "[h264_v4l2m2m @ 0x557b492ba480] Could not find a valid device\n"
        "[h264_v4l2m2m @ 0x557b492ba480] can't configure encoder\n" + OUTPUT_ERROR,
        Status.NO_DEVICE,
        "Could not find a valid device",
    ),
    (
        "vaapi-no-display",
        "h264_vaapi",
        1,
        "[AVHWDeviceContext @ 0x55fad7d18980] No VA display found for device /dev/dri/renderD128.\n"
        "Device creation failed: -22.\n"
        "Failed to set value 'vaapi=va:/dev/dri/renderD128' for option 'init_hw_device': Invalid argument\n",
        Status.NO_DEVICE,
        "No VA display found",
    ),
    (
        "vaapi-no-driver",
        "h264_vaapi",
        1,
        "libva info: VA-API version 1.17.0\n"
        "libva info: Trying to open /usr/lib/x86_64-linux-gnu/dri/iHD_drv_video.so\n"
        "libva info: va_openDriver() returns -1\n"
        "[AVHWDeviceContext @ 0x5612] Failed to initialise VAAPI connection: -1 (unknown libva error).\n"
        "Device creation failed: -5.\n",
        Status.NO_DRIVER,
        "va_openDriver",
    ),
    (
        "qsv-no-mfx",
        "h264_qsv",
        1,
        "[h264_qsv @ 0x562966b68480] Error initializing an internal MFX session: unsupported (-3)\n"
        + OUTPUT_ERROR,
        Status.NO_DRIVER,
        "MFX session",
    ),
    (
        "qsv-device-creation",
        "h264_qsv",
        1,
        "Device creation failed: -1313558101.\n"
        "Failed to set value 'qsv=hw,child_device=/dev/dri/renderD128' for option 'init_hw_device': "
        "Generic error in an external library\n",
        Status.NO_DRIVER,
        "Device creation failed",
    ),
    (
        "nvenc-no-cuda",
        "h264_nvenc",
        1,
        "[h264_nvenc @ 0x5563d1adf480] Cannot load libcuda.so.1\n" + OUTPUT_ERROR,
        Status.NO_DRIVER,
        "Cannot load libcuda.so.1",
    ),
    (
        "rkmpp-unknown",
        "h264_rkmpp",
        1,
        "Unknown encoder 'h264_rkmpp'\n",
        Status.ENCODER_ABSENT,
        "Unknown encoder",
    ),
    (
        "rkmpp-no-permission",
        "h264_rkmpp",
        1,
        "[h264_rkmpp @ 0x5590] Failed to open /dev/mpp_service: Permission denied\n",
        Status.NO_PERMISSION,
        "Permission denied",
    ),
    ("vaapi-other", "h264_vaapi", 1, "Conversion failed!\n", Status.FAILED, "Conversion failed!"),
    ("v4l2m2m-silent", "h264_v4l2m2m", 187, "", Status.FAILED, "ffmpeg exited with 187"),
]


@pytest.fixture
def gpu_box(tmp_path: Path) -> tuple[HardwareInfo, Sysroot]:
    """A sysroot with every kind of encoder device node (as empty marker files)."""
    root = Sysroot(tmp_path / "sysroot")
    for node in ("dev/dri/renderD128", "dev/video11", "dev/mpp_service", "dev/nvidia0"):
        write(root, node, "")
    write(root, "sys/class/video4linux/video11/name", "bcm2835-codec-encode\n")
    write(root, "proc/sys/kernel/arch", "x86_64\n")
    return probe(root), root


@pytest.mark.parametrize(
    ("encoder", "rc", "stderr", "status", "words"),
    [pytest.param(*row[1:], id=row[0]) for row in FAILURES],
)
def test_each_recorded_failure_is_classified_and_software_takes_over(
    fake_ffmpeg, gpu_box, encoder: str, rc: int, stderr: str, status: Status, words: str
) -> None:
    fake = fake_ffmpeg({encoder: (rc, stderr)})
    info, root = gpu_box
    report = detect_encoders_blocking(info, root, ladder=[encoder, "libx264"])
    first = report.probes[0]
    assert (first.name, first.usable, first.status) == (encoder, False, status)
    assert words in first.reason
    assert "0x55" not in first.reason  # the per-run pointer is dropped
    # recovery: software x264 is still probed and chosen
    assert report.chosen == "libx264"
    assert fake.test_encodes() == [encoder, "libx264"]


def test_a_passing_hardware_encoder_is_chosen_before_software(fake_ffmpeg, gpu_box) -> None:
    fake = fake_ffmpeg({})
    info, root = gpu_box
    report = detect_encoders_blocking(info, root, ladder=["h264_vaapi", "libx264"])
    assert report.chosen == "h264_vaapi"
    assert report.usable() == ["h264_vaapi", "libx264"]
    vaapi_call = next(c for c in fake.calls() if "h264_vaapi" in c)
    assert "vaapi=va:/dev/dri/renderD128" in vaapi_call  # the node as the system sees it


def test_encoders_not_built_in_are_ruled_out_without_a_test_encode(fake_ffmpeg, gpu_box) -> None:
    fake = fake_ffmpeg({}, built=["libx264", "h264_vaapi"])
    info, root = gpu_box
    report = detect_encoders_blocking(info, root, ladder=["h264_rkmpp", "libx264"])
    assert report.probes[0].status is Status.ENCODER_ABSENT
    assert fake.test_encodes() == ["libx264"]


def test_missing_device_nodes_are_no_device_without_a_test_encode(fake_ffmpeg, tmp_path: Path) -> None:
    fake = fake_ffmpeg({})
    root = Sysroot(tmp_path / "empty")
    report = detect_encoders_blocking(probe(root), root, ladder=["h264_qsv", "h264_v4l2m2m", "h264_rkmpp"])
    assert [p.status for p in report.probes] == [Status.NO_DEVICE] * 3 + [Status.OK]
    assert "/dev/dri/renderD*" in report.probes[0].reason
    assert fake.test_encodes() == ["libx264"]


def test_v4l2_nodes_that_are_not_encoders_do_not_count(fake_ffmpeg, tmp_path: Path) -> None:
    fake_ffmpeg({})
    root = Sysroot(tmp_path / "pi5")
    write(root, "dev/video19", "")
    write(root, "sys/class/video4linux/video19/name", "rpi-hevc-dec\n")
    report = detect_encoders_blocking(probe(root), root, ladder=["h264_v4l2m2m"])
    assert report.probes[0].status is Status.NO_DEVICE


def test_a_node_we_may_not_open_is_no_permission_with_the_group_to_add(
    fake_ffmpeg, gpu_box, monkeypatch: pytest.MonkeyPatch
) -> None:
    # We run as root here, so fake what a non-root service user sees: access() says no for the node.
    real_access = os.access
    monkeypatch.setattr(
        sysroot_module.os,
        "access",
        lambda p, m: False if str(p).endswith("renderD128") else real_access(p, m),
    )
    fake = fake_ffmpeg({})
    info, root = gpu_box
    report = detect_encoders_blocking(info, root, ladder=["h264_vaapi"])
    vaapi = report.probes[0]
    assert vaapi.status is Status.NO_PERMISSION
    assert "group 'render'" in vaapi.reason and "DeviceAllow" in vaapi.reason
    assert fake.test_encodes() == ["libx264"]


def test_a_hanging_encoder_times_out(fake_ffmpeg, gpu_box) -> None:
    fake_ffmpeg({"h264_qsv": (0, "", 30)})
    info, root = gpu_box
    report = detect_encoders_blocking(info, root, ladder=["h264_qsv"], encode_timeout=0.5)
    assert report.probes[0].status is Status.TIMEOUT
    assert report.chosen == "libx264"


def test_no_ffmpeg_at_all_means_nothing_usable(gpu_box, tmp_path: Path) -> None:
    info, root = gpu_box
    report = detect_encoders_blocking(info, root, ffmpeg=str(tmp_path / "no-such-ffmpeg"))
    assert report.chosen is None
    assert {p.status for p in report.probes} == {Status.NO_FFMPEG}


def test_the_second_run_is_a_cache_hit(fake_ffmpeg, gpu_box, tmp_path: Path) -> None:
    fake = fake_ffmpeg({"h264_vaapi": (1, "No VA display found for device /dev/dri/renderD128.\n")})
    info, root = gpu_box
    cache = tmp_path / "cache" / "encoders.json"
    first = detect_encoders_blocking(info, root, ladder=["h264_vaapi"], cache_path=cache)
    calls = len(fake.calls())
    second = detect_encoders_blocking(info, root, ladder=["h264_vaapi"], cache_path=cache)
    assert not first.from_cache and second.from_cache
    assert second.probes == first.probes and second.chosen == "libx264"
    assert fake.calls()[calls:] == [["-version"]]  # only the fingerprint's version check ran


def test_a_new_ffmpeg_build_invalidates_the_cache(fake_ffmpeg, gpu_box, tmp_path: Path) -> None:
    info, root = gpu_box
    cache = tmp_path / "encoders.json"
    fake_ffmpeg({"h264_vaapi": (1, "Cannot load libva\n")})
    old = detect_encoders_blocking(info, root, ladder=["h264_vaapi"], cache_path=cache)
    fake = fake_ffmpeg({}, version="ffmpeg version 7.1-jellyfin")
    new = detect_encoders_blocking(info, root, ladder=["h264_vaapi"], cache_path=cache)
    assert old.fingerprint != new.fingerprint and not new.from_cache
    assert new.chosen == "h264_vaapi"
    assert "h264_vaapi" in fake.test_encodes()


def test_a_corrupt_cache_is_ignored(fake_ffmpeg, gpu_box, tmp_path: Path) -> None:
    fake_ffmpeg({})
    info, root = gpu_box
    cache = tmp_path / "encoders.json"
    cache.write_text("{not json")
    report = detect_encoders_blocking(info, root, ladder=["libx264"], cache_path=cache)
    assert not report.from_cache and report.chosen == "libx264"
    assert '"fingerprint"' in cache.read_text()


def test_real_ffmpeg_software_x264_is_usable_here() -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (scripts/setup.sh installs it)")
    root = Sysroot(Path("/"))
    info = probe(root)
    report = detect_encoders_blocking(info, root)
    x264 = next(p for p in report.probes if p.name == "libx264")
    assert x264.usable and x264.status is Status.OK
    assert report.chosen is not None and report.chosen in report.usable()
    assert report.ffmpeg_version and report.ffmpeg_version.startswith("ffmpeg version")


def test_real_ffmpeg_against_a_captured_pi4_says_why_v4l2_failed() -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (scripts/setup.sh installs it)")
    root = Sysroot(HW_PROFILES / "rpi-4b" / "sysroot")
    report = detect_encoders_blocking(probe(root), root)
    assert [p.name for p in report.probes] == ["h264_v4l2m2m", "libx264"]
    v4l2 = report.probes[0]
    if not v4l2.usable:
        assert v4l2.status in (Status.NO_DEVICE, Status.ENCODER_ABSENT, Status.NO_DRIVER)
        assert "not the captured board" in v4l2.reason or v4l2.status is Status.ENCODER_ABSENT
    assert report.probes[1].usable


async def test_detection_can_run_from_the_event_loop(fake_ffmpeg, gpu_box) -> None:
    fake_ffmpeg({})
    info, root = gpu_box
    report = await detect_encoders(info, root, ladder=["h264_nvenc"])
    assert report.chosen == "h264_nvenc"


@pytest.mark.parametrize(
    ("encoder", "expected"),
    [
        ("h264_vaapi", ["-init_hw_device", "vaapi=va:/dev/dri/renderD129", "-vf", "format=nv12,hwupload"]),
        ("h264_qsv", ["qsv=hw,child_device=/dev/dri/renderD129", "format=nv12,hwupload=extra_hw_frames=64"]),
        ("h264_v4l2m2m", ["-pix_fmt", "yuv420p", "-b:v"]),
        ("h264_rkmpp", ["-pix_fmt", "nv12"]),
        ("libx264", ["-preset", "ultrafast", "-crf", "23"]),
    ],
)
def test_each_family_gets_its_upload_path(encoder: str, expected: list[str]) -> None:
    cmd = trial_encode_command("ffmpeg", encoder, "/dev/dri/renderD129")
    assert cmd[cmd.index("-c:v") + 1] == encoder
    assert all(part in cmd for part in expected)
    assert cmd[-2:] == ["null", "-"]


def test_success_is_ok_whatever_stderr_says() -> None:
    assert classify_failure(0, "some warning about Permission denied\n")[0] is Status.OK


# --- the runtime breaker -------------------------------------------------------------------------------


def test_breaker_falls_back_per_job_and_disables_after_three_failures_in_a_row() -> None:
    breaker = EncoderBreaker(["h264_vaapi", "libx264"], threshold=3)
    assert breaker.choose() == "h264_vaapi"
    assert breaker.record_failure(
        "h264_vaapi", "[h264_vaapi @ 0x1] Failed to end picture encode issue: 24\n"
    ) == ("libx264")
    breaker.record_success("h264_vaapi")  # a success resets the count
    for _ in range(2):
        breaker.record_failure("h264_vaapi", "Failed to end picture encode issue: 24")
    assert breaker.choose() == "h264_vaapi"
    breaker.record_failure("h264_vaapi", "Failed to end picture encode issue: 24")
    assert breaker.choose() == "libx264"
    assert breaker.is_disabled("h264_vaapi")
    reason = breaker.disabled()["h264_vaapi"]
    assert "3 failures in a row" in reason and "Failed to end picture encode" in reason
    assert breaker.status()["encoder"] == "libx264"
    breaker.reset()
    assert breaker.choose() == "h264_vaapi"


def test_breaker_never_disables_software() -> None:
    breaker = EncoderBreaker(["libx264"], threshold=1)
    assert breaker.record_failure("libx264", "disk full") == "libx264"
    assert breaker.choose() == "libx264" and breaker.disabled() == {}


async def test_breaker_encode_retries_a_failed_hardware_job_in_software() -> None:
    breaker = EncoderBreaker(["h264_qsv", "libx264"], threshold=2)
    used: list[str] = []

    async def attempt(encoder: str) -> str:
        used.append(encoder)
        if encoder != "libx264":
            raise RuntimeError("[h264_qsv @ 0x2] Error during encoding: device failed (-17)")
        return f"done with {encoder}"

    assert await breaker.encode(attempt) == "done with libx264"
    assert await breaker.encode(attempt) == "done with libx264"
    assert used == ["h264_qsv", "libx264", "h264_qsv", "libx264"]
    assert await breaker.encode(attempt) == "done with libx264"
    assert used[4:] == ["libx264"]  # disabled now: straight to software
    assert "device failed" in breaker.disabled()["h264_qsv"]


async def test_breaker_encode_lets_a_software_failure_propagate() -> None:
    breaker = EncoderBreaker(["libx264"])

    async def attempt(encoder: str) -> str:
        raise ValueError("corrupt input")

    with pytest.raises(ValueError):
        await breaker.encode(attempt)


def test_a_timeout_is_not_cached(fake_ffmpeg, gpu_box, tmp_path: Path) -> None:
    fake_ffmpeg({"h264_qsv": (0, "", 30)})
    info, root = gpu_box
    cache = tmp_path / "encoders.json"
    detect_encoders_blocking(info, root, ladder=["h264_qsv"], cache_path=cache, encode_timeout=0.5)
    assert not cache.exists()


def test_nothing_usable_is_not_cached(fake_ffmpeg, gpu_box, tmp_path: Path) -> None:
    fake_ffmpeg({"libx264": (1, "Unknown encoder 'libx264'\n")})
    info, root = gpu_box
    cache = tmp_path / "encoders.json"
    report = detect_encoders_blocking(info, root, ladder=["libx264"], cache_path=cache)
    assert report.chosen is None and not cache.exists()


def test_media_can_supply_its_own_test_encode(fake_ffmpeg, gpu_box) -> None:
    fake = fake_ffmpeg({})
    info, root = gpu_box

    def production(ffmpeg: str, encoder: str, device: str | None) -> list[str]:
        source = ["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30", "-t", "2"]
        return [ffmpeg, *source, "-vf", "scale=-2:720", "-c:v", encoder, "-f", "null", "-"]

    report = detect_encoders_blocking(info, root, ladder=["libx264"], command=production)
    assert report.chosen == "libx264"
    assert "scale=-2:720" in fake.calls()[-1]
