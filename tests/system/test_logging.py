"""Logs go to journald under systemd, to stderr (with timestamps only off systemd) otherwise."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from appliance.system.logging import setup_logging, under_journal


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture
def journal_stream(tmp_path: Path) -> Iterator[tuple[TextIO, dict[str, str]]]:
    """A stream plus the JOURNAL_STREAM value systemd would set for it."""
    with open(tmp_path / "stderr", "w+") as stream:
        st = os.fstat(stream.fileno())
        yield stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}


def test_off_systemd_lines_have_timestamps(tmp_path: Path) -> None:
    stream = io.StringIO()
    setup_logging("info", env={}, stream=stream)

    logging.getLogger("appliance.test").info("hello %s", "box")

    line = stream.getvalue().strip()
    assert line.endswith("INFO appliance.test: hello box")
    assert line[:4].isdigit()  # the asctime year


def test_under_systemd_without_the_journal_library_stderr_gets_priorities_not_timestamps(
    journal_stream: tuple[TextIO, dict[str, str]],
) -> None:
    stream, env = journal_stream
    setup_logging("debug", prefer_journal=False, env=env, stream=stream)

    logging.getLogger("appliance.test").warning("disk almost full")
    logging.getLogger("appliance.test").debug("two\nlines")

    stream.seek(0)
    assert stream.read().splitlines() == [
        "<4>appliance.test: disk almost full",
        "<7>appliance.test: two",
        "<7>lines",
    ]


def test_under_systemd_the_journal_handler_is_used_when_installed(
    journal_stream: tuple[TextIO, dict[str, str]],
) -> None:
    journal = pytest.importorskip("systemd.journal", reason="systemd-python is not installed")
    stream, env = journal_stream

    handler = setup_logging("info", env=env, stream=stream)

    assert isinstance(handler, journal.JournalHandler)


def test_a_redirected_stderr_is_not_the_journal(
    journal_stream: tuple[TextIO, dict[str, str]], tmp_path: Path
) -> None:
    _stream, env = journal_stream
    with open(tmp_path / "elsewhere", "w") as other:
        assert not under_journal(env, other)
        assert isinstance(setup_logging("info", env=env, stream=other), logging.StreamHandler)
    assert not under_journal({"JOURNAL_STREAM": "garbage"}, _stream)


def test_calling_setup_twice_leaves_one_handler() -> None:
    root = logging.getLogger()
    before = len(root.handlers)
    setup_logging("info", env={}, stream=io.StringIO())
    setup_logging("warning", env={}, stream=io.StringIO())

    assert len(root.handlers) == before + 1
    assert root.level == logging.WARNING


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError):
        setup_logging("loud", env={}, stream=io.StringIO())
