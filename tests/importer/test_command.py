"""`shoebox import PATH` as a separate process, beside an open database (as with the server running)."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from appliance.config import Settings
from appliance.importer.command import Progress, import_folder
from appliance.importer.head_start import start_copying
from appliance.services import Services
from appliance.storage.records import UserRecord
from tests.conftest import REPO_ROOT
from tests.importer.conftest import asset_names, build_card, rows, staging_leftovers


async def shoebox(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "appliance", *args], capture_output=True, text=True, env=env,
        timeout=120,
    )


async def test_import_command_imports_a_folder_once_while_the_database_is_open_elsewhere(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    card = build_card(tmp_path / "Holiday", tmp_path / "outside")
    first = await shoebox("import", str(card.root), "--data-dir", str(settings.data_dir))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1].startswith("completed: 6 found, 6 imported into album 'Holiday 20")
    assert asset_names(settings) == sorted(card.new_files | {"IMG_0003.JPG"})

    second = await shoebox("import", str(card.root), "--data-dir", str(settings.data_dir))
    assert second.returncode == 0, second.stderr
    assert "completed: 6 found, 0 imported, 6 already in the library" in second.stdout
    # the "server" (this process) sees both sessions in its own connection
    sessions = await services.imports.list_sessions()
    assert [s.state for s in sessions] == ["completed", "completed"]
    assert [s.imported for s in sessions] == [0, 6]
    assert len(rows(settings, "SELECT id FROM albums")) == 1
    assert staging_leftovers(settings) == []


async def test_the_import_command_alone_leaves_its_commits_in_the_wal_and_loses_none(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    """With no server running, the command ends without a checkpoint (closing the last connection would fold
    the WAL into the database file, 13-17 ms): what it committed is read back whole from the WAL by the
    next connection, which then folds it in on closing."""
    await services.db.close()  # no other connection: this process plays no server
    card = build_card(tmp_path / "Holiday", tmp_path / "outside")
    run = await shoebox("import", str(card.root), "--data-dir", str(settings.data_dir))
    assert run.returncode == 0, run.stderr
    wal = Path(f"{settings.database_path}-wal")
    assert wal.stat().st_size > 0  # the session's commits are still in the WAL
    connection = sqlite3.connect(settings.database_path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("SELECT state, imported FROM import_sessions").fetchall() == [("completed", 6)]
        assert connection.execute("SELECT count(*) FROM assets").fetchone() == (len(card.new_files) + 1,)
        in_album = "SELECT count(*) FROM album_assets"
        visible = "SELECT count(*) FROM assets WHERE visibility != 'hidden'"  # all but the live photo's video
        assert connection.execute(in_album).fetchone() == connection.execute(visible).fetchone() == (5,)
    finally:
        connection.close()
    assert not wal.exists() or wal.stat().st_size == 0  # folded in by the last connection to close
    await services.db.open()  # for the fixture's own close


async def test_the_import_command_runs_without_loading_tls_or_password_hashing(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    """The command makes no network connection, so its asyncio goes without `ssl` (10-15 ms of start-up),
    and it acts for a user without signing anyone in (bcrypt and the rest of authentication: 5-7 ms)."""
    card = build_card(tmp_path / "Holiday", tmp_path / "outside")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    run = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-X", "importtime", "-m", "appliance", "import", str(card.root),
                         "--data-dir", str(settings.data_dir)], capture_output=True, text=True, env=env, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1].startswith("completed: 6 found, 6 imported")
    loaded = {line.rpartition("|")[2].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert "asyncio" in loaded  # the probe sees the imports
    assert "_ssl" not in loaded  # OpenSSL's TLS half (`ssl` itself is listed: asyncio's attempts to import it)
    assert not loaded & {"bcrypt", "appliance.library.auth"}


async def test_import_command_user_and_album_options(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    card = build_card(tmp_path / "card", tmp_path / "outside")
    unknown = await shoebox("import", str(card.root), "--data-dir", str(settings.data_dir), "--user", "x@y.z")
    assert unknown.returncode == 2 and "No user 'x@y.z'" in unknown.stderr
    assert staging_leftovers(settings) == []  # what its head start had copied is gone with it

    named = await shoebox("import", str(card.root), "--data-dir", str(settings.data_dir), "--user",
                          "ADMIN@example.com", "--album", "Summer")
    assert named.returncode == 0, named.stderr
    assert [r[0] for r in rows(settings, "SELECT name FROM albums")] == ["Summer"]

    other = build_card(tmp_path / "card2", tmp_path / "outside2", uuid="9999-0000")
    (other.root / "DCIM" / "100CANON" / "IMG_0001.JPG").write_bytes(b"\xff\xd8\xff" + os.urandom(5000))
    no_album = await shoebox("import", str(other.root), "--data-dir", str(settings.data_dir), "--album", "")
    assert no_album.returncode == 0, no_album.stderr
    assert [r[0] for r in rows(settings, "SELECT name FROM albums")] == ["Summer"]

    missing = await shoebox("import", str(tmp_path / "nope"), "--data-dir", str(settings.data_dir))
    assert missing.returncode == 2 and "is not a folder" in missing.stderr


async def test_files_copied_before_the_database_said_they_were_known_are_dropped(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    """`shoebox import` starts copying before its database is open, so on a second run it copies files the
    first run brought. The session drops those copies: nothing new, nothing left in staging."""
    card = build_card(tmp_path / "Holiday", tmp_path / "outside")
    args = argparse.Namespace(path=str(card.root), data_dir=str(settings.data_dir), config=None, user=None,
                              album=None)
    assert await import_folder(args, io.StringIO()) == 0
    assets = rows(settings, "SELECT id FROM assets")
    head_start = start_copying(args)  # the copy process
    assert head_start is not None
    await _settled(lambda: len(staging_leftovers(settings)))
    assert len(staging_leftovers(settings)) >= 5  # every file copied again, sidecars included

    out = io.StringIO()
    assert await import_folder(args, out, head_start) == 0
    assert "completed: 6 found, 0 imported, 6 already in the library" in out.getvalue()
    assert staging_leftovers(settings) == []
    assert rows(settings, "SELECT id FROM assets") == assets


async def _settled(count: Callable[[], int], quiet: float = 0.5, limit: float = 20.0) -> None:
    """Wait until `count()` is non-zero and has not changed for `quiet` seconds."""
    last, since, waited = -1, 0.0, 0.0
    while waited < limit:
        now = count()
        since = since + 0.05 if now == last and now else 0.0
        if since >= quiet:
            return
        last = now
        await asyncio.sleep(0.05)
        waited += 0.05
    raise AssertionError("the count never settled")


def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise() -> None:
    session = {"imported": 3, "duplicates": 1, "failed": 0, "found": 8, "bytes": 4_000_000}
    tty = io.StringIO()
    bar = Progress(tty, tty=True)
    bar({"type": "progress", "session": session})
    bar.close()
    assert tty.getvalue().startswith("\r[############............] 4/8 files, 3 new, 1 already there")
    plain = io.StringIO()
    lines = Progress(plain, tty=False, every=0)
    lines({"type": "progress", "session": session})
    lines({"type": "started", "session": session})
    assert plain.getvalue().count("\n") == 1 and "\r" not in plain.getvalue()


def test_import_command_builds_its_import_service_like_the_server_does(tmp_path: Path) -> None:
    from appliance.importer.command import build_import_service
    from appliance.services import build_services

    settings = Settings(data_dir=tmp_path / "data", import_user_email="ann@example.com",
                        import_album_template="{label}", max_upload_bytes=12345, min_free_bytes=678, mdns=False,
                        jobs_enabled=False, import_auto=False)
    server, command = build_services(settings).imports, build_import_service(settings)

    def shape(service: object) -> dict[str, object]:
        return {name: value for name, value in vars(service).items()
                if isinstance(value, (str, int, float, bool, Path)) or name == "limits"}

    assert shape(command) == shape(server)
    assert shape(command.ingest) == shape(server.ingest)
    assert command.ingest.store.root == server.ingest.store.root
    assert command.ingest.db.path == server.ingest.db.path
    assert type(command.albums) is type(server.albums)
