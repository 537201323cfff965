"""Board profiles: every folder parses, is shipped as package data, and its numbers make sense."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.hardware import profiles as profiles_module
from appliance.hardware.profiles import (
    QUEUES,
    SOFTWARE_ENCODER,
    ProfileError,
    load_profile,
    load_profiles,
    parse_profile,
    profiles_dir,
)

from .conftest import BOARDS, HW_PROFILES

PACKAGED = Path(profiles_module.__file__).resolve().parent / "profiles"


def test_the_checkout_uses_hw_profiles() -> None:
    assert profiles_dir() == HW_PROFILES


@pytest.mark.parametrize("board", BOARDS)
def test_each_board_is_shipped_as_package_data(board: str) -> None:
    packaged = PACKAGED / f"{board}.toml"
    assert packaged.is_file(), f"add a symlink: ln -s ../../../hw-profiles/{board}/profile.toml {packaged}"
    assert packaged.read_text() == (HW_PROFILES / board / "profile.toml").read_text()


def test_packaged_profiles_load_like_the_checkout() -> None:
    assert sorted(p.id for p in load_profiles(PACKAGED)) == sorted(p.id for p in load_profiles(HW_PROFILES))


@pytest.mark.parametrize("board", BOARDS)
def test_profile_numbers_are_sane(board: str) -> None:
    profile = load_profile(HW_PROFILES / board / "profile.toml")
    assert profile.id == board
    assert set(QUEUES) <= set(profile.concurrency)
    for queue in QUEUES:
        assert 0 <= profile.slow_concurrency_for(queue) <= profile.run_concurrency(queue)
    t = profile.thermal
    assert t.resume_run_c < t.slow_c < t.pause_c
    assert t.resume_slow_c < t.pause_c and t.hysteresis_c >= 5  # appliance.md R-SCH-1
    assert t.min_dwell_s >= 60
    assert profile.encoders[-1] == SOFTWARE_ENCODER
    assert profile.generic == (
        not any(
            (
                profile.match.device_tree_model,
                profile.match.dmi_product,
                profile.match.cpu_model,
                profile.match.device_tree_compatible,
                profile.match.dmi_board,
            )
        )
    )


def test_there_is_a_generic_profile_per_architecture() -> None:
    generic = {arch for p in load_profiles() if p.generic for arch in p.match.arch}
    assert {"x86_64", "aarch64"} <= generic


def test_pi5_and_zero_default_to_software_video() -> None:
    by_id = {p.id: p for p in load_profiles()}
    assert by_id["rpi-5"].encoders == ("libx264",)
    assert by_id["rpi-zero-2w"].encoders == ("libx264",)


def test_a_profile_without_thermal_limits_is_refused() -> None:
    with pytest.raises(ProfileError):
        parse_profile(
            {"id": "x", "name": "x", "memory": {}, "concurrency": {}, "transcode": {"encoders": []}}
        )


def test_a_broken_profile_file_is_skipped_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "profile.toml").write_text((HW_PROFILES / "rpi-5" / "profile.toml").read_text())
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "profile.toml").write_text("id = [unclosed\n")
    assert [p.id for p in load_profiles(tmp_path)] == ["rpi-5"]
