"""probe(): each captured board sysroot yields its profile; broken sysroots fall back with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from appliance.hardware.probe import classify_memory, effective_concurrency, parse_cpu_list, probe
from appliance.hardware.profiles import load_profile
from appliance.hardware.sysroot import Sysroot

from .conftest import BOARDS, HW_PROFILES


class Expected(NamedTuple):
    board_id: str
    profile: str
    model: str
    arch: str
    cores: int
    memory_class: str
    thumbnails: int
    videos: int
    ladder: tuple[str, ...]


SW = ("libx264",)
V4L2 = ("h264_v4l2m2m", "libx264")
EXPECTED = {
    "rpi-zero-2w": Expected(
        "rpi-zero-2w", "rpi-zero-2w", "Raspberry Pi Zero 2 W Rev 1.0", "aarch64", 4, "tiny", 1, 1, SW,
    ),
    "rpi-3b": Expected(
        "rpi-3b", "rpi-3b", "Raspberry Pi 3 Model B Plus Rev 1.3", "aarch64", 4, "small", 1, 1, V4L2,
    ),
    "rpi-4b": Expected(
        "rpi-4b", "rpi-4b", "Raspberry Pi 4 Model B Rev 1.5", "aarch64", 4, "medium", 2, 1, V4L2,
    ),
    "rpi-5": Expected("rpi-5", "rpi-5", "Raspberry Pi 5 Model B Rev 1.0", "aarch64", 4, "large", 3, 1, SW),
    "rk3588": Expected(
        "rk3588", "rk3588", "Orange Pi 5", "aarch64", 8, "large", 4, 2, ("h264_rkmpp", "libx264"),
    ),
    "intel-n100": Expected(
        "intel-n100", "intel-n100", "AZW EQ12 (Intel(R) N100)", "x86_64", 4, "large", 3, 1,
        ("h264_qsv", "h264_vaapi", "libx264"),
    ),
    "generic-x86-64": Expected(
        "unknown", "generic-x86-64", "Dell Inc. OptiPlex 3050 (Intel(R) Core(TM) i5-7500T CPU @ 2.70GHz)",
        "x86_64", 4, "large", 2, 1, ("h264_nvenc", "h264_qsv", "h264_vaapi", "libx264"),
    ),
    "generic-arm64": Expected(
        "unknown", "generic-arm64", "Pine64 RockPro64 v2.1", "aarch64", 6, "medium", 1, 1, SW,
    ),
}  # fmt: skip


def test_every_profile_folder_has_an_expectation() -> None:
    assert set(BOARDS) == set(EXPECTED)


@pytest.mark.parametrize("board", BOARDS)
def test_captured_sysroot_yields_its_board_and_profile(board: str) -> None:
    info = probe(Sysroot(HW_PROFILES / board / "sysroot"))
    want = EXPECTED[board]
    assert (info.board_id, info.profile.id, info.model, info.arch) == (
        want.board_id,
        want.profile,
        want.model,
        want.arch,
    )
    assert (info.cpu_cores, info.memory_class) == (want.cores, want.memory_class)
    assert info.concurrency["thumbnailGeneration"] == want.thumbnails
    assert info.concurrency["videoConversion"] == want.videos
    assert info.encoder_ladder == want.ladder
    assert info.fallback is board.startswith("generic")
    assert info.reason


@pytest.mark.parametrize("board", BOARDS)
def test_concurrency_covers_the_immich_queues_and_fits_memory(board: str) -> None:
    info = probe(Sysroot(HW_PROFILES / board / "sysroot"))
    assert set(info.concurrency) >= {
        "thumbnailGeneration",
        "metadataExtraction",
        "videoConversion",
        "sidecar",
        "library",
    }
    assert all(n >= 1 for n in info.concurrency.values())
    assert info.memory_mb is not None
    assert max(info.concurrency.values()) * info.profile.memory.per_job_mb <= max(
        info.memory_mb - info.profile.memory.reserve_mb, info.profile.memory.per_job_mb
    )


def test_device_nodes_of_the_pi4_are_found() -> None:
    info = probe(Sysroot(HW_PROFILES / "rpi-4b" / "sysroot"))
    assert {"dev/video11", "dev/dri/renderD128"} <= set(info.devices)
    assert info.to_dict()["devices"][0].startswith("/dev/")


def test_rk3588_without_kernel_arch_file_gets_arch_from_cpuinfo() -> None:
    sysroot = Sysroot(HW_PROFILES / "rk3588" / "sysroot")
    assert not sysroot.exists("proc/sys/kernel/arch")
    info = probe(sysroot)
    assert info.arch == "aarch64"
    assert info.cpu_model == "4x Cortex-A55 + 4x Cortex-A76"


def test_empty_sysroot_gives_the_generic_profile_and_says_why(tmp_path: Path) -> None:
    info = probe(Sysroot(tmp_path))
    assert info.fallback and info.board_id == "unknown"
    assert info.profile.generic
    assert "nothing identifies the board" in info.reason
    assert "/proc/cpuinfo" in info.reason and "/proc/meminfo" in info.reason


def test_missing_sysroot_folder_is_named_in_the_reason(tmp_path: Path) -> None:
    info = probe(Sysroot(tmp_path / "nope"))
    assert info.profile.generic
    assert "does not exist" in info.reason


def test_unknown_arm_board_gets_generic_arm64(board_sysroot) -> None:
    sysroot = board_sysroot("rpi-4b")
    sysroot.path("proc/device-tree/model").write_bytes(b"Acme Widget Board\x00")
    sysroot.path("proc/device-tree/compatible").write_bytes(b"acme,widget\x00")
    cpuinfo = sysroot.path("proc/cpuinfo")
    cpuinfo.write_text(cpuinfo.read_text().replace("Raspberry Pi 4 Model B Rev 1.5", "Acme Widget"))
    info = probe(sysroot)
    assert info.profile.id == "generic-arm64"
    assert "no board profile matched 'Acme Widget Board'" in info.reason


def test_partial_sysroot_with_only_cpuinfo_still_identifies_a_pi(board_sysroot) -> None:
    sysroot = board_sysroot("rpi-4b")
    for rel in ("proc/device-tree", "proc/meminfo", "sys", "dev", "proc/sys"):
        path = sysroot.path(rel)
        if path.is_dir():
            import shutil

            shutil.rmtree(path)
        else:
            path.unlink()
    info = probe(sysroot)
    # /proc/cpuinfo of a Pi kernel carries the model line, which is enough.
    assert info.profile.id == "rpi-4b"
    assert info.memory_mb is None and info.memory_class == "unknown"
    assert info.devices == ()


def test_garbage_kernel_files_do_not_raise(tmp_path: Path) -> None:
    root = tmp_path / "junk"
    (root / "proc" / "device-tree").mkdir(parents=True)
    (root / "proc" / "cpuinfo").write_bytes(b"\xff\xfe\x00garbage: :: \n\n")
    (root / "proc" / "meminfo").write_text("MemTotal: lots\n")
    (root / "proc" / "device-tree" / "model").mkdir()  # a folder where a file should be
    (root / "sys" / "devices" / "system" / "cpu").mkdir(parents=True)
    (root / "sys" / "devices" / "system" / "cpu" / "online").write_text("zero-three\n")
    info = probe(Sysroot(root))
    assert info.profile.generic
    assert info.memory_mb is None and info.cpu_cores is None


def test_missing_profiles_folder_uses_built_in_defaults(tmp_path: Path) -> None:
    info = probe(Sysroot(HW_PROFILES / "rpi-4b" / "sysroot"), profiles_dir=tmp_path)
    assert info.profile.id == "generic"
    assert "built-in defaults" in info.reason
    assert info.encoder_ladder == ("libx264",)


def test_dmi_product_beats_a_cpu_name_match(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    for board in ("intel-n100", "generic-x86-64"):
        (profiles / board).mkdir(parents=True)
        (profiles / board / "profile.toml").write_text((HW_PROFILES / board / "profile.toml").read_text())
    special = (HW_PROFILES / "intel-n100" / "profile.toml").read_text()
    special = special.replace('id = "intel-n100"', 'id = "beelink-eq12"').replace(
        "[match]\n", '[match]\ndmi_product = ["EQ12"]\n'
    )
    (profiles / "beelink-eq12").mkdir()
    (profiles / "beelink-eq12" / "profile.toml").write_text(special)
    info = probe(Sysroot(HW_PROFILES / "intel-n100" / "sysroot"), profiles_dir=profiles)
    assert info.profile.id == "beelink-eq12"
    assert "DMI product 'EQ12'" in info.reason


def test_tiny_boards_never_get_more_than_one_worker() -> None:
    profile = load_profile(HW_PROFILES / "rpi-4b" / "profile.toml")
    assert effective_concurrency(profile, 430) == {q: 1 for q in profile.concurrency}
    assert effective_concurrency(profile, 900)["metadataExtraction"] == 2  # (900 - 300) // 250
    assert effective_concurrency(profile, None) == dict(profile.concurrency)


@pytest.mark.parametrize(
    ("text", "count"), [("0-3", 4), ("0", 1), ("0-3,6", 5), ("0-7", 8), ("", 0), ("a-b", 0)]
)
def test_cpu_lists_are_counted(text: str, count: int) -> None:
    assert parse_cpu_list(text) == count


@pytest.mark.parametrize(
    ("mb", "klass"),
    [(None, "unknown"), (429, "tiny"), (899, "small"), (1850, "small"), (3794, "medium"), (7823, "large")],
)
def test_memory_classes_follow_memtotal(mb: int | None, klass: str) -> None:
    assert classify_memory(mb) == klass
