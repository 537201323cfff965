"""Rendering an image to fit a screen (the photo frame's cache): libvips thumbnail, JPEG out."""

from __future__ import annotations

import os
from pathlib import Path


def render_fit_blocking(source: Path, target: Path, width: int, height: int, *, quality: int = 82) -> None:
    """Shrink `source` to fit inside width×height (never enlarging), honour EXIF orientation, write a JPEG
    atomically (temp then rename: a half-written cache file is never served)."""
    import pyvips

    image = pyvips.Image.thumbnail(str(source), width, height=height, size="down")
    if image.hasalpha():
        image = image.flatten(background=[0, 0, 0])
    if image.interpretation not in ("srgb", "b-w"):
        image = image.colourspace("srgb")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    image.jpegsave(str(temporary), Q=quality, strip=True, optimize_coding=True)
    os.replace(temporary, target)
