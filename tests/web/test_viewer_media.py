"""The viewer with a video, and the timeline's selection bar doing its work (archive, favourite, trash, restore)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server_process import ServerProcess
from tests.web.conftest import screenshot
from tests.web.test_sources import _upload
from tests.web.test_web_app import wait_for_cells

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=15",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)],
        capture_output=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"ffmpeg could not make a test video: {result.stderr.decode()[-300:]}")
    return path


@pytest.fixture(scope="module")
def page(browser: Any, server: ServerProcess) -> Iterator[Any]:
    server.sign_up_admin_with_key()
    _, login = server.request("PUT", "/api/appliance/settings", {"setupCompleted": True},
                              {"Authorization": f"Bearer {_token(server)}"})
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.request.post("/api/auth/login", data={"email": "admin@example.com", "password": "admin-password"})
    yield page
    context.close()


def _token(server: ServerProcess) -> str:
    _, login = server.request("POST", "/api/auth/login", {"email": "admin@example.com", "password": "admin-password"})
    return str(login["accessToken"])


def test_a_video_plays_in_the_viewer(page: Any, server: ServerProcess, video: Path) -> None:
    page.goto("/upload")
    page.locator("input[data-testid=file-input]").set_input_files(str(video))
    page.locator(".summary").filter(has_text="1 uploaded").wait_for()
    page.goto("/photos")
    cell = page.locator(".cell").first
    cell.wait_for()
    assert cell.locator(".badge.video").count() == 1
    cell.click()
    player = page.get_by_role("dialog", name="Photo viewer").locator("video")
    player.wait_for(state="attached")
    assert "/video/playback" in player.get_attribute("src")
    # Debian's Chromium decodes H.264; at least the metadata must load (the server answers with the file).
    page.wait_for_function("() => (v => v.readyState >= 1 || v.error)(document.querySelector('.viewer video'))")
    error = page.evaluate("(v => v.error && v.error.message)(document.querySelector('.viewer video'))")
    assert error is None
    screenshot(page, "20-video")
    page.keyboard.press("Escape")


def test_the_selection_bar_archives_favourites_trashes_and_restores(page: Any, server: ServerProcess) -> None:
    token = _token(server)
    for seed in range(3):
        _upload(server, token, 500 + seed)
    page.goto("/photos")
    cells = page.locator(".cell")
    cells.first.wait_for()
    wait_for_cells(page, 4)

    def select(count: int) -> None:
        for index in range(count):
            cells.nth(index).hover()
            cells.nth(index).get_by_role("button", name="Select").click()
        page.get_by_text(f"{count} selected").wait_for()

    bar = page.get_by_role("toolbar", name="Selected photos")
    select(2)
    bar.get_by_role("button", name="Favourite").click()
    page.get_by_text("Added 2 to favourites").wait_for()
    page.locator(".cell .badge.fav").nth(1).wait_for()

    select(1)
    bar.get_by_role("button", name="Archive").click()
    page.get_by_text("Archived 1").wait_for()
    wait_for_cells(page, 3)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Archive").click()
    page.locator(".cell").first.wait_for()
    wait_for_cells(page, 1)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Photos").click()
    wait_for_cells(page, 3)
    select(1)
    bar.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog", name="Move to trash?").get_by_role("button", name="Move to trash").click()
    page.get_by_text("Moved 1 to the trash").wait_for()
    wait_for_cells(page, 2)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Trash").click()
    page.locator(".cell").first.wait_for()
    select(1)
    bar.get_by_role("button", name="Restore").click()
    page.get_by_text("Restored 1").wait_for()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Photos").click()
    wait_for_cells(page, 3)
