"""The walk: what is imported from a card, what travels with it, what is left alone."""

from __future__ import annotations

import os
from pathlib import Path

from appliance.importer.policy import Limits, scan_blocking
from tests.importer.conftest import build_card, write


def names(root: Path, limits: Limits | None = None) -> list[str]:
    return [f.relpath for item in scan_blocking(root, limits).items for f in item.files()]


def test_camera_folders_come_first_and_hidden_system_and_non_media_are_skipped(tmp_path: Path) -> None:
    card = build_card(tmp_path / "card", tmp_path / "outside")
    write(card.root / "AAA" / "first.jpg", b"\xff\xd8\xff" + os.urandom(100))
    write(card.root / "DCIM" / ".thumbnails" / "t.jpg", b"\xff\xd8\xff" + os.urandom(100))
    write(card.root / "DCIM" / "100CANON" / ".hidden.jpg", b"\xff\xd8\xff" + os.urandom(100))
    write(card.root / "DCIM" / "100CANON" / "EMPTY.JPG", b"")
    found = names(card.root)
    assert found == [
        "DCIM/100CANON/IMG_0001.JPG", "DCIM/100CANON/IMG_0002.JPG", "DCIM/100CANON/IMG_0003.JPG",
        "DCIM/101APPLE/IMG_1000.MOV", "DCIM/101APPLE/IMG_1000.HEIC", "PRIVATE/M4ROOT/CLIP/C0001.MP4",
        "AAA/first.jpg",
    ]


def test_sidecars_and_live_photo_pairs_travel_together(tmp_path: Path) -> None:
    folder = tmp_path / "card" / "DCIM" / "100TEST"
    for name in ("A.JPG", "A.JPG.xmp", "A.xmp", "B.CR2", "B.xmp", "C.HEIC", "C.MOV", "D.MOV", "E.JPG", "E.MP4"):
        write(folder / name, name.encode() + os.urandom(64))
    items = {item.file.path.name: item for item in scan_blocking(tmp_path / "card").items}
    assert sorted(items) == ["A.JPG", "B.CR2", "C.HEIC", "D.MOV", "E.JPG", "E.MP4"]
    assert items["A.JPG"].sidecar is not None and items["A.JPG"].sidecar.path.name == "A.JPG.xmp"
    assert items["B.CR2"].sidecar is not None and items["B.CR2"].sidecar.path.name == "B.xmp"
    live = items["C.HEIC"].live_video
    assert live is not None and live.file.path.name == "C.MOV"
    assert items["D.MOV"].live_video is None and items["E.JPG"].live_video is None  # only .MOV pairs


def test_symlinks_inside_are_followed_and_outside_are_not(tmp_path: Path) -> None:
    root = tmp_path / "card"
    write(root / "DCIM" / "real.jpg", b"\xff\xd8\xff" + os.urandom(64))
    write(tmp_path / "elsewhere" / "secret.jpg", b"\xff\xd8\xff" + os.urandom(64))
    (root / "DCIM" / "inside.jpg").symlink_to(root / "DCIM" / "real.jpg")
    (root / "DCIM" / "outside.jpg").symlink_to(tmp_path / "elsewhere" / "secret.jpg")
    (root / "DCIM" / "loop").symlink_to(root)  # a folder link is never descended
    (root / "escape").symlink_to(tmp_path / "elsewhere")
    assert names(root) == ["DCIM/inside.jpg", "DCIM/real.jpg"]


def test_depth_and_count_are_capped(tmp_path: Path) -> None:
    root = tmp_path / "card"
    deep = root / "DCIM"
    for level in range(6):
        deep = deep / f"d{level}"
        write(deep / f"p{level}.jpg", b"\xff\xd8\xff" + bytes([level]) * 32)
    assert len(names(root, Limits(max_depth=3))) == 2  # DCIM/d0/p0 and DCIM/d0/d1/p1
    result = scan_blocking(root, Limits(max_files=4))
    assert result.truncated and result.asset_count == 4
