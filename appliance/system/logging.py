"""Where log records go: the journal under systemd, stderr otherwise.

Under systemd (`JOURNAL_STREAM` names our stderr) records go to journald through systemd-python's
`JournalHandler` when it is installed, so the priority and fields like `CODE_FILE` are structured. Without
it they go to stderr with a `<N>` syslog-priority prefix (journald reads it as the priority) and no
timestamp (journald adds its own). Anywhere else: stderr with timestamps.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TextIO

SYSLOG_IDENTIFIER = "shoebox"
_MARK = "_shoebox_handler"

# logging level -> syslog priority (sd-daemon(3) prefixes)
_PRIORITIES = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


class SyslogPrefixFormatter(logging.Formatter):
    """Prefixes each line with `<N>` so journald records the right priority for stderr output."""

    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITIES.get(record.levelno, 7 if record.levelno < logging.INFO else 6)
        text = super().format(record)
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines() or [""])


def under_journal(env: Mapping[str, str] | None = None, stream: TextIO | None = None) -> bool:
    """True when `stream` (default stderr) is the journal stream systemd gave us.

    `JOURNAL_STREAM` is `device:inode` of that stream; comparing it with the stream's own stat tells
    whether stderr was since redirected elsewhere (systemd.exec(5)).
    """
    environ = os.environ if env is None else env
    value = environ.get("JOURNAL_STREAM")
    if not value:
        return False
    target = sys.stderr if stream is None else stream
    try:
        device, inode = (int(part) for part in value.split(":", 1))
        st = os.fstat(target.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


def _journal_handler() -> logging.Handler | None:
    try:
        from systemd.journal import JournalHandler
    except ImportError:
        return None
    handler: logging.Handler = JournalHandler(SYSLOG_IDENTIFIER=SYSLOG_IDENTIFIER)
    return handler


def setup_logging(
    level: str | int = "info",
    prefer_journal: bool = True,
    *,
    env: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install one handler on the root logger (replacing the one a previous call installed) and return it."""
    numeric_level = _level(level)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
        old.close()

    target = sys.stderr if stream is None else stream
    journal = under_journal(env, target)
    handler = _journal_handler() if journal and prefer_journal else None
    if handler is None:
        handler = logging.StreamHandler(target)
        if journal:
            handler.setFormatter(SyslogPrefixFormatter("%(name)s: %(message)s"))
        else:
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    return handler


def _level(level: str | int) -> int:
    if isinstance(level, int):
        return level
    value = logging.getLevelName(level.upper())
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {level!r}")
    return value
