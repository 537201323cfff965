"""A module's lazy logger: `logging` is loaded at the first message, and messages go where logging's go."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from appliance.logs import logger


def test_messages_reach_the_named_logger(caplog: pytest.LogCaptureFixture) -> None:
    log = logger("appliance.test_logs")
    with caplog.at_level("INFO", logger="appliance.test_logs"):
        log.info("copied %d files", 3)
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("appliance.test_logs", "INFO", "copied 3 files")
    ]


def test_logging_is_loaded_only_when_a_message_comes() -> None:
    probe = ("import sys; from appliance.logs import logger; log = logger('x'); before = 'logging' in sys.modules; "
             "log.warning('now'); print(before, 'logging' in sys.modules)")
    run = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert run.stdout.split() == ["False", "True"]
    assert "now" in run.stderr  # logging's last-resort handler: the message was not lost
