"""Limits on untrusted images, in a module without pyvips so the server process can name them without
loading libvips (decoding happens in worker processes)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageLimits:
    max_pixels: int = 300_000_000  # refuse larger images before decoding (decompression bombs)
    vips_threads: int = 1  # per worker process: the pool gives parallelism, one thread keeps memory flat
    tool_timeout: float = 60.0  # exiftool preview extraction
