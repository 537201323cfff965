"""The command line parses what the README promises."""

import pytest

from appliance.cli import build_parser


def test_serve_takes_data_dir_host_and_port() -> None:
    args = build_parser().parse_args(["serve", "--data-dir", "/tmp/x", "--host", "127.0.0.1", "--port", "9999"])
    assert (args.command, args.data_dir, args.host, args.port) == ("serve", "/tmp/x", "127.0.0.1", 9999)


def test_help_is_wrapped_to_the_terminal_width(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The help formatter sizes itself without shutil, the way shutil would: `COLUMNS` first."""
    for columns in ("50", "120"):
        monkeypatch.setenv("COLUMNS", columns)
        with pytest.raises(SystemExit):
            build_parser().parse_args(["import", "--help"])
        lines = capsys.readouterr().out.splitlines()
        assert "usage: shoebox import" in lines[0]
        assert max(map(len, lines)) <= int(columns) - 2
        assert (max(map(len, lines)) > 50) == (columns == "120")  # the wide terminal's lines are not wrapped
