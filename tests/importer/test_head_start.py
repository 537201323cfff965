"""`shoebox import`'s copy process: it walks and copies ahead, and never outlives what it was started for."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from appliance.config import Settings
from appliance.importer import head_start as head_start_module
from appliance.importer.copier import staged_files
from appliance.importer.head_start import HeadStart, _receive
from tests.importer.conftest import build_card, staging_leftovers


def _wait_for_exit(pid: int, limit: float = 20.0) -> int:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.02)
    raise AssertionError(f"the copy process {pid} is still running")


async def test_the_walk_comes_first_and_closing_stops_the_process_and_empties_staging(
    settings: Settings, tmp_path: Path
) -> None:
    card = build_card(tmp_path / "card", tmp_path / "outside")
    head_start = HeadStart.fork(card.root, settings.data_dir, 1 << 30)
    scan = await asyncio.to_thread(head_start.scan_blocking)
    assert scan.asset_count == 6
    await asyncio.sleep(0.3)  # it copies meanwhile, nobody takes the copies
    await head_start.close()
    await head_start.close()  # twice is fine
    assert staging_leftovers(settings) == []
    try:
        os.kill(head_start.pid, 0)
    except ProcessLookupError:
        pass
    else:
        raise AssertionError("the copy process outlived its close")


async def test_copying_starts_while_the_walk_is_sent_and_every_copy_is_reported_after_it(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child starts its copier threads before it sends the walk (the send takes a millisecond or two of a
    short import's start). Held back here for 0.5 s, the walk is still the first message, and the staging
    folder already holds copies when it arrives."""
    card = build_card(tmp_path / "card", tmp_path / "outside")
    send = head_start_module._send

    def slow_walk(fd: int, message: object) -> None:  # runs in the forked child
        if isinstance(message, tuple) and message[0] == "walk":
            time.sleep(0.5)
        send(fd, message)

    monkeypatch.setattr(head_start_module, "_send", slow_walk)
    head_start = HeadStart.fork(card.root, settings.data_dir, 1 << 30)
    try:
        first = await asyncio.to_thread(_receive, head_start.reports_fd)
        assert first is not None and first[0] == "walk"
        assert staging_leftovers(settings)  # copied while the walk was on its way
        second = await asyncio.to_thread(_receive, head_start.reports_fd)
        assert second is not None and second[0] == "copy"
    finally:
        os.close(head_start.commands_fd)
        await asyncio.to_thread(_wait_for_exit, head_start.pid)
        while _receive(head_start.reports_fd) is not None:
            pass
        os.close(head_start.reports_fd)
        for path in staging_leftovers(settings):
            path.unlink()


async def test_when_its_parent_goes_away_the_process_stops(settings: Settings, tmp_path: Path) -> None:
    """The parent's end of the command pipe closing (the parent killed) is the child's signal to stop; what it
    still finishes is removed, not reported (what it reported before was the parent's to remove)."""
    card = build_card(tmp_path / "card", tmp_path / "outside")
    head_start = HeadStart.fork(card.root, settings.data_dir, 1 << 30)
    await asyncio.to_thread(head_start.scan_blocking)
    os.close(head_start.commands_fd)  # as the kernel does when the parent dies
    status = await asyncio.to_thread(_wait_for_exit, head_start.pid)
    assert os.waitstatus_to_exitcode(status) == 0
    reported = []
    while (message := _receive(head_start.reports_fd)) is not None:
        reported.append(message)
    os.close(head_start.reports_fd)
    staged = {item.path for message in reported if message[0] == "copy" for item in staged_files(message[3])}
    assert set(staging_leftovers(settings)) <= staged  # nothing else left behind


def _many_photos(root: Path, count: int) -> Path:
    folder = root / "DCIM" / "100TEST"
    folder.mkdir(parents=True)
    for number in range(count):
        (folder / f"IMG_{number:04d}.JPG").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(2000 + number))
    return root


async def _take_all(head_start: HeadStart, *, timeout: float = 30.0,
                    once_short: bool = False) -> tuple[int, list[tuple[object, ...]]]:
    """Take every copy in the session's order, as `ImportService` does, recording what goes to the child.
    `once_short`: start taking only once the child has said it is out of room."""
    sent: list[tuple[object, ...]] = []
    send = head_start.copier.send
    head_start.copier.send = lambda message: (sent.append(message), send(message))[1]  # type: ignore[method-assign]
    scan = await asyncio.to_thread(head_start.scan_blocking)
    taken = 0
    if once_short:
        head_start.copier.attach()
        deadline = time.monotonic() + timeout
        while not head_start.copier._child_short:  # the child's message, as the copier keeps it
            assert time.monotonic() < deadline, "the child never ran out of room"
            await asyncio.sleep(0.01)

    async def take_each() -> None:
        nonlocal taken
        for item in scan.items:
            staged, _ = await head_start.copier.take(item.file)
            staged.path.unlink()
            head_start.copier.done(item.file)
            taken += 1

    await asyncio.wait_for(take_each(), timeout)
    await head_start.close()
    return taken, [message for message in sent if message[0] == "done"]


async def test_freed_room_goes_back_to_the_child_in_batches(settings: Settings, tmp_path: Path) -> None:
    """Room in the copy window is handed back an eighth of the window at a time, not with a message (a
    wake-up of the child) per file."""
    root = _many_photos(tmp_path / "card", 40)
    head_start = HeadStart.fork(root, settings.data_dir, 1 << 30, window=64)
    taken, handed_back = await _take_all(head_start)
    assert taken == 40
    assert [message[1] for message in handed_back] == [8] * 5  # 64 // 8 files at a time
    assert staging_leftovers(settings) == []


async def test_a_child_short_of_room_is_given_it_at_once(settings: Settings, tmp_path: Path) -> None:
    """With a window smaller than the card, the child fills it and says it waits: what is freed then goes
    back at once, whatever the batch size, so the import never stalls."""
    root = _many_photos(tmp_path / "card", 40)
    head_start = HeadStart.fork(root, settings.data_dir, 1 << 30, window=16)
    taken, handed_back = await _take_all(head_start, once_short=True)
    assert taken == 40
    assert sum(message[1] for message in handed_back) <= 40
    assert handed_back[0][1] == 1  # the first file freed goes back at once, below the batch of 16 // 8
    assert staging_leftovers(settings) == []


def test_what_runs_before_the_fork_loads_only_what_copying_needs() -> None:
    """Everything imported before `shoebox import` forks its copy process delays the copying: the head
    start's modules must not pull in the event loop, the database or what only the other process needs,
    nor dataclasses (11-17 ms with inspect, ast and dis) or logging (6-8 ms) for what they give."""
    import subprocess
    import sys

    heavy = ["asyncio", "sqlite3", "aiosqlite", "shutil", "uuid", "platform", "datetime", "appliance.storage.records",
             "dataclasses", "inspect", "logging"]
    # what `main` does before the fork: read the command line, load the head start
    probe = ("import sys, appliance.cli, appliance.importer.head_start; "
             "appliance.cli.build_parser().parse_args(['import', '.']); "
             f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}).stdout.strip()
    assert loaded == ""
