"""The copier asks the source for the next files before it copies them, within a byte budget, and copies
the last files largest first."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.importer import copier
from appliance.importer.policy import SourceFile
from appliance.library.staging import Stager
from appliance.storage.files import MediaStore


def _files(tmp_path: Path, sizes: list[int]) -> list[tuple[SourceFile, SourceFile | None]]:
    files = []
    for number, size in enumerate(sizes):
        path = tmp_path / f"IMG_{number}.JPG"
        path.write_bytes(b"x" * size)
        files.append((SourceFile(path.name, path, size, 0), None))
    return files


def test_files_come_in_order_each_once_with_the_next_ones_asked_for_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    advised: list[str] = []
    real = copier._advise_will_need
    monkeypatch.setattr(copier, "_advise_will_need", lambda file: (advised.append(file.relpath), real(file))[1])
    files = _files(tmp_path, [400, 300, 300, 500, 100, 100])
    seen = []
    for handed, _ in copier.read_ahead(files, budget=1000):
        seen.append(handed.relpath)
        # the file handed out was asked for before, and so were the ones after it, up to the budget
        assert handed.relpath in advised
        ahead = [name for name in advised if name not in seen]
        assert sum(f.size for f, _ in files if f.relpath in ahead) < 1000 or len(ahead) == 1
    assert seen == [f.relpath for f, _ in files]
    assert advised == seen  # each file asked for once, in order


def test_a_file_that_cannot_be_opened_is_still_handed_out(tmp_path: Path) -> None:
    """Read-ahead is only a hint: a vanished file is reported by its copy, not by the read-ahead."""
    files = _files(tmp_path, [10, 10])
    files[0][0].path.unlink()
    assert [f.relpath for f, _ in copier.read_ahead(files, budget=1 << 20)] == ["IMG_0.JPG", "IMG_1.JPG"]


def test_sidecars_are_asked_for_with_their_photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    advised: list[str] = []
    monkeypatch.setattr(copier, "_advise_will_need", lambda file: (advised.append(file.relpath), file.size)[1])
    photo, sidecar = (f for f, _ in _files(tmp_path, [100, 5]))
    assert list(copier.read_ahead([(photo, sidecar)], budget=1 << 20)) == [(photo, sidecar)]
    assert advised == [photo.relpath, sidecar.relpath]


def test_once_the_end_of_the_list_is_in_sight_the_rest_goes_largest_first(tmp_path: Path) -> None:
    """A big video near the end would otherwise be copied by one thread alone after the others ran out."""
    files = _files(tmp_path, [100, 100, 100, 900, 100, 50])
    in_order = [f.relpath for f, _ in copier.read_ahead(files, budget=100, largest_first=lambda rest: True,
                                                         horizon=400)]
    # a 400-byte horizon sees the end only once the video is next anyway; with a farther one, it goes first
    assert in_order == ["IMG_0.JPG", "IMG_1.JPG", "IMG_2.JPG", "IMG_3.JPG", "IMG_4.JPG", "IMG_5.JPG"]
    shuffled = [f.relpath for f, _ in copier.read_ahead(files, budget=100, largest_first=lambda rest: True,
                                                        horizon=10_000)]
    assert shuffled == ["IMG_3.JPG", "IMG_0.JPG", "IMG_1.JPG", "IMG_2.JPG", "IMG_4.JPG", "IMG_5.JPG"]
    kept = [f.relpath for f, _ in copier.read_ahead(files, budget=100, largest_first=lambda rest: False,
                                                    horizon=10_000)]
    assert kept == [f.relpath for f, _ in files]


@pytest.mark.parametrize(("window", "expected"), [
    (8, ["IMG_2.JPG", "IMG_1.JPG", "IMG_0.JPG"]),  # the window takes them all: largest first
    # it does not: a copy could wait for room that only taking a file not yet copied would free: in order
    (2, ["IMG_0.JPG", "IMG_1.JPG", "IMG_2.JPG"]),
])
def test_the_copier_reorders_the_last_files_only_if_its_window_takes_them_all(
    tmp_path: Path, window: int, expected: list[str]
) -> None:
    (tmp_path / "card").mkdir()
    files = _files(tmp_path / "card", [10, 20, 30])
    store = MediaStore(tmp_path / "data")
    store.staging.mkdir(parents=True)
    delivered: list[copier.Copy] = []
    threads = copier.CopyThreads(Stager(store, 1 << 20), threading.Event(), delivered.append, lambda error: None,
                                 threads=1, window=window)
    threads.start(files)
    _wait_until(lambda: len(delivered) >= min(window, len(files)))
    for copy in list(delivered):  # the session takes them: the window frees up
        threads.release(copy.reserved)
    _wait_until(lambda: len(delivered) == len(files))
    threads.stop_blocking()
    assert [copy.file.relpath for copy in delivered] == expected
    copier.remove_all([staged for copy in delivered for staged in copier.staged_of(copy)])


def _wait_until(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the copier did not get there"
        time.sleep(0.005)
