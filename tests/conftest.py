"""Fixtures shared by every test."""

from __future__ import annotations

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
