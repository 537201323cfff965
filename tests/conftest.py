"""Fixtures shared by every test."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Beside the repository; a git worktree under /work/wt/<name> finds it one level further up.
TEST_ASSETS = next(
    (
        root / "shared" / "testdata" / "immich-test-assets"
        for root in (REPO_ROOT.parent, REPO_ROOT.parent.parent)
        if (root / "shared" / "testdata" / "immich-test-assets").is_dir()
    ),
    REPO_ROOT.parent / "shared" / "testdata" / "immich-test-assets",
)


@pytest.fixture(scope="session")
def test_assets() -> Path:
    """Immich's public-domain test photos, beside the repository."""
    if not TEST_ASSETS.is_dir():
        pytest.skip(f"the shared test photos are missing at {TEST_ASSETS}")
    return TEST_ASSETS


def pytest_configure(config: pytest.Config) -> None:
    """Every server a test starts (in process or as `shoebox serve`) shares one place database, built once,
    instead of each building its own a few seconds after start."""
    if "SHOEBOX_GEODATA_DIR" not in os.environ:
        shared = Path(tempfile.mkdtemp(prefix="shoebox-test-geodata-"))
        os.environ["SHOEBOX_GEODATA_DIR"] = str(shared)
        config.add_cleanup(lambda: shutil.rmtree(shared, ignore_errors=True))


@pytest.fixture(scope="session")
def geodata_dir() -> Path:
    """The shared place-database folder (see `pytest_configure`)."""
    return Path(os.environ["SHOEBOX_GEODATA_DIR"])
