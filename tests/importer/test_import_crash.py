"""kill -9 of `shoebox import` in the middle of a batch (files staged without an fsync each, placed, synced
once per group) never leaves an asset without its complete file, a stray library file or a staging file
once the server has started again; the next import completes the set, each file once."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.config import Settings
from appliance.services import Services
from appliance.storage.records import UserRecord
from tests.importer.conftest import asset_names, write
from tests.server_process import REPO_ROOT
from tests.test_crash import check_library

pytestmark = pytest.mark.slow


def asset_count(settings: Settings) -> int:
    db = sqlite3.connect(settings.database_path)
    try:
        return int(db.execute("SELECT count(*) FROM assets").fetchone()[0])
    finally:
        db.close()


async def test_kill_9_during_import_leaves_a_consistent_library_and_the_next_import_completes(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    tree = tmp_path / "card"
    names = []
    for i in range(120):
        names.append(f"IMG_{i:04d}.JPG")
        write(tree / "DCIM" / f"{100 + i // 40}CANON" / names[-1], b"\xff\xd8\xff\xe1" + os.urandom(400_000))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    argv = [sys.executable, "-m", "appliance", "import", str(tree), "--data-dir", str(settings.data_dir)]
    rng = random.Random(5)
    killed_mid_import = 0
    for _ in range(3):
        before = asset_count(settings)
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 60
        while asset_count(settings) == before and process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        await asyncio.sleep(rng.uniform(0, 0.05))  # somewhere in the next groups: copying, placed, syncing
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed_mid_import += 1
        process.wait()
        await services.ingest.recover()  # what the server does when it starts
        await services.imports.recover()
        check_library(settings.data_dir)
    assert killed_mid_import >= 1

    final = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert final.returncode == 0, final.stderr
    assert asset_names(settings) == sorted(names)  # every file once, whatever was cut short before
    check_library(settings.data_dir)
