"""Fixtures shared by every test."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_ASSETS = REPO_ROOT.parent / "shared" / "testdata" / "immich-test-assets"


@pytest.fixture(scope="session")
def test_assets() -> Path:
    """Immich's public-domain test photos, beside the repository."""
    if not TEST_ASSETS.is_dir():
        pytest.skip(f"the shared test photos are missing at {TEST_ASSETS}")
    return TEST_ASSETS
