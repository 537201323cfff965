"""The page's own decoders checked against reference implementations: thumbhash (thumbhash-python, the
server's encoder) and the pure-JS SHA-1 used when `crypto.subtle` is missing (plain http on the LAN)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import thumbhash
from PIL import Image

from tests.server_process import ServerProcess


@pytest.fixture(scope="module")
def page(browser: Any, server: ServerProcess) -> Iterator[Any]:
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    page.goto("/app/thumbhash.js")  # any same-origin page lets us import the modules
    yield page
    context.close()


def test_thumbhash_decoding_matches_the_reference(page: Any, photos: Path) -> None:
    sources = sorted((photos / "albums" / "nature").glob("*.jpg"))[:4]
    sources.append(photos / "formats" / "png" / "density_plot.png")
    for source in sources:
        with Image.open(source) as image:
            image.thumbnail((100, 100))
            encoded = thumbhash.image_to_thumbhash(image.convert("RGBA"))
        reference = thumbhash.thumbhash_to_image(encoded)
        decoded = page.evaluate(
            """async (hash) => {
                const m = await import('/app/thumbhash.js');
                const { w, h, rgba } = m.thumbHashToRGBA(m.base64ToBytes(hash));
                return { w, h, rgba: Array.from(rgba) };
            }""",
            encoded,
        )
        assert (decoded["w"], decoded["h"]) == reference.size, source.name
        expected = list(reference.tobytes())
        worst = max(abs(a - b) for a, b in zip(decoded["rgba"], expected, strict=True))
        assert worst <= 2, f"{source.name}: a channel differs by {worst}"


def test_thumbhash_becomes_an_image_url(page: Any) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "PNG")
    encoded = thumbhash.image_to_thumbhash(Image.open(io.BytesIO(buffer.getvalue())).convert("RGBA"))
    url = page.evaluate("async (hash) => (await import('/app/thumbhash.js')).thumbHashDataURL(hash)", encoded)
    assert url.startswith("data:image/png;base64,")


@pytest.mark.parametrize("size", [0, 1, 55, 56, 63, 64, 65, 1000, 200_003])
def test_the_fallback_sha1_matches_hashlib(page: Any, size: int) -> None:
    data = bytes((i * 7 + size) % 256 for i in range(size))
    digest = page.evaluate(
        """async (bytes) => {
            const m = await import('/app/sha1.js');
            return Array.from(m.sha1Bytes(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
        }""",
        list(data),
    )
    assert digest == hashlib.sha1(data).hexdigest()
