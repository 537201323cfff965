"""The copier asks the source for the next files before it copies them, within a byte budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.importer import copier
from appliance.importer.policy import SourceFile


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
