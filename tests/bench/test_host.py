"""The benches pause a VM host's free-page reporting for their run, and always put it back."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.host import host_memory_held, reclaim_held

BUDDYINFO = (
    "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n"
    "Node 0, zone   Normal   5753   3903   2987   2321   2184   1433    958    473    267    355   1162 \n"
)


@pytest.fixture
def vm(tmp_path: Path) -> tuple[Path, Path]:
    setting = tmp_path / "page_reporting_order"
    setting.write_text("9\n")
    buddyinfo = tmp_path / "buddyinfo"
    buddyinfo.write_text(BUDDYINFO)
    return setting, buddyinfo


def test_reporting_is_paused_during_the_run_and_restored_after(vm: tuple[Path, Path]) -> None:
    setting, buddyinfo = vm
    with host_memory_held(setting=setting, buddyinfo=buddyinfo) as said:
        assert setting.read_text() == "11\n"  # orders 0-10 exist: no free block reaches order 11
        assert "paused" in said and "9 -> 11" in said
    assert setting.read_text() == "9\n"


def test_restored_even_when_the_run_fails(vm: tuple[Path, Path]) -> None:
    setting, buddyinfo = vm
    with pytest.raises(RuntimeError), host_memory_held(setting=setting, buddyinfo=buddyinfo):
        raise RuntimeError("a contender failed")
    assert setting.read_text() == "9\n"


def test_left_alone_when_asked(vm: tuple[Path, Path]) -> None:
    setting, buddyinfo = vm
    with host_memory_held(False, setting=setting, buddyinfo=buddyinfo) as said:
        assert setting.read_text() == "9\n"
        assert "left as it is" in said


def test_nothing_to_do_without_a_balloon(tmp_path: Path) -> None:
    with host_memory_held(setting=tmp_path / "absent", buddyinfo=tmp_path / "absent") as said:
        assert "none here" in said
    assert not (tmp_path / "absent").exists()


def test_a_setting_that_cannot_be_written_is_reported(vm: tuple[Path, Path]) -> None:
    _, buddyinfo = vm
    read_only = Path("/proc/version")  # readable, refuses every write (root's too)
    with host_memory_held(setting=read_only, buddyinfo=buddyinfo) as said:
        assert "could not pause" in said


def _kdamond(root: Path, number: int, state: str, action: str) -> Path:
    """A stand-in for one kdamond's sysfs folder: its state and one scheme's action."""
    kdamond = root / str(number)
    scheme = kdamond / "contexts" / "0" / "schemes" / "0"
    scheme.mkdir(parents=True)
    (scheme / "action").write_text(action + "\n")
    (kdamond / "state").write_text(state + "\n")
    return kdamond


def test_a_running_pageout_kdamond_is_stopped_for_the_run_and_started_after(tmp_path: Path) -> None:
    pager = _kdamond(tmp_path, 0, "on", "pageout")
    statistics = _kdamond(tmp_path, 1, "on", "stat")  # watches only: left running
    idle = _kdamond(tmp_path, 2, "off", "pageout")  # not running: left off
    with reclaim_held(kdamonds=tmp_path) as said:
        assert (pager / "state").read_text() == "off\n"
        assert (statistics / "state").read_text() == "on\n"
        assert (idle / "state").read_text() == "off\n"
        assert "paused for the run (1 kdamond)" in said
    assert (pager / "state").read_text() == "on\n"
    assert (idle / "state").read_text() == "off\n"


def test_reclaim_is_started_again_even_when_the_run_fails(tmp_path: Path) -> None:
    pager = _kdamond(tmp_path, 0, "on", "pageout")
    with pytest.raises(RuntimeError), reclaim_held(kdamonds=tmp_path):
        raise RuntimeError("a contender failed")
    assert (pager / "state").read_text() == "on\n"


def test_reclaim_left_alone_when_asked_or_absent(tmp_path: Path) -> None:
    pager = _kdamond(tmp_path, 0, "on", "pageout")
    with reclaim_held(False, kdamonds=tmp_path) as said:
        assert (pager / "state").read_text() == "on\n"
        assert "left as it is" in said
    with reclaim_held(kdamonds=tmp_path / "absent") as said:
        assert "none running" in said
