"""File types by name: the extension rule matches pathlib's, for every odd name a client or card sends."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from appliance.media import mimetypes

NAMES = ["IMG_0001.JPG", "photo.jpeg", "archive.tar.gz", "noext", ".hidden", ".hidden.png", "ends.", "..",
         ".", "", "a/b/c.HEIC", "a.b/c", "dir/", "clip.MP4/", "x..mov", "trailing.dot.", "café.JPG",
         "back\\slash.png", "space .jpg", "a//b.webp"]


@pytest.mark.parametrize("name", NAMES)
def test_extension_is_the_lower_cased_pathlib_suffix(name: str) -> None:
    assert mimetypes.extension(name) == PurePosixPath(name).suffix.lower()


def test_types_by_extension() -> None:
    assert mimetypes.asset_type("IMG_0001.JPG") == "IMAGE"
    assert mimetypes.asset_type("clip.MOV") == "VIDEO"
    assert mimetypes.asset_type("IMG_0001.xmp") is None
    assert mimetypes.is_sidecar("IMG_0001.XMP")
    assert mimetypes.mime_type("notes.txt") == "application/octet-stream"
