"""The frame page in a real headless Chromium (Debian's), advancing through the shared album."""

from __future__ import annotations

import shutil

import pytest
from aiohttp.test_utils import TestClient

from tests.api.browsing import make_album, photo, send_json
from tests.api.conftest import Caller, jpeg_bytes

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@pytest.mark.slow
async def test_frame_page_crossfades_through_a_shared_album(client: TestClient, alice: Caller) -> None:
    if shutil.which(CHROMIUM) is None:
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it)")
    playwright_api = pytest.importorskip("playwright.async_api")
    ids = [await photo(client, alice, data=jpeg_bytes(300 + i, (320, 200))) for i in range(3)]
    album = await make_album(client, alice, ids)
    link = await send_json(client, "POST", "/api/shared-links", alice, {"type": "ALBUM", "albumId": album},
                           status=201)
    url = f"http://{client.server.host}:{client.server.port}/frame?key={link['key']}&interval=1&clock=1"

    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 640, "height": 400})
            await page.goto(url)
            await page.wait_for_function("window.shoeboxFrame && window.shoeboxFrame.shown >= 4", timeout=30000)
            state = await page.evaluate("window.shoeboxFrame")
            shown = await page.evaluate(
                "Array.prototype.map.call(document.querySelectorAll('img.slide'),"
                " function (img) { return [img.getAttribute('data-asset-id'), img.className,"
                " img.naturalWidth]; })"
            )
            clock = await page.inner_text("#clock")
        finally:
            await browser.close()
    assert state["errors"] == 0 and state["currentId"] in ids
    visible = [s for s in shown if s[1] == "slide on"]
    assert len(visible) == 1 and visible[0][0] == state["currentId"]
    assert all(s[0] in ids and s[2] > 0 for s in shown)  # both slots hold rendered photos (the crossfade pair)
    assert shown[0][0] != shown[1][0]
    history = state["history"]
    assert set(history[:3]) == set(ids)  # a round shows every photo once
    assert all(a != b for a, b in zip(history, history[1:], strict=False))  # never the same photo twice in a row
    assert ":" in clock
