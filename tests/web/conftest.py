"""Headless Chromium (Debian's `chromium`) driven by Playwright, against a real `shoebox serve`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, TEST_ASSETS
from tests.server_process import ServerProcess

CHROMIUM = os.environ.get("SHOEBOX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"


def shared_photos() -> Path:
    """The shared test photos: beside the repository, or beside the worktrees' parent."""
    for candidate in (TEST_ASSETS, REPO_ROOT.parent.parent / "shared" / "testdata" / "immich-test-assets"):
        if candidate.is_dir():
            return candidate
    pytest.skip(f"the shared test photos are missing at {TEST_ASSETS}")


@pytest.fixture(scope="module")
def photos() -> Path:
    return shared_photos()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("web") / "data").start()
    yield process
    process.stop()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.wait_for_timeout(300)  # let the fade-ins finish
    page.screenshot(path=str(path))
    return path
