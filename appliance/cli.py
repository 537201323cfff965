"""The `shoebox` command: `serve`, `doctor` and `import`."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any


def _terminal_columns() -> int:
    """`shutil.get_terminal_size().columns`, without importing shutil (see `_HelpFormatter`)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's own. argparse builds one for every argument added, and its own sizing imports shutil (with
    bz2, lzma and zlib): 3-4 ms before `shoebox import` can fork its copy process."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         width if width is not None else _terminal_columns() - 2)


class _Parser(argparse.ArgumentParser):
    """argparse's, with `_HelpFormatter`; the sub-commands' parsers are of this class too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="shoebox", description="Shoebox photo server")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--data-dir", help="folder for the database, originals and thumbnails")
    serve.add_argument("--host", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port to listen on (default 2283)")
    serve.add_argument("--config", help="a TOML settings file")
    serve.add_argument("--mdns", dest="mdns", action="store_true", default=None, help="advertise on the LAN")
    serve.add_argument("--no-mdns", dest="mdns", action="store_false", help="do not advertise on the LAN")
    serve.add_argument("--log-level", help="debug, info, warning or error")

    doctor = sub.add_parser("doctor", help="print what hardware was detected")
    doctor.add_argument("--sysroot", default="/", help="read /proc, /sys and /dev below this folder")
    doctor.add_argument("--json", action="store_true", help="print JSON")
    doctor.add_argument("--profiles-dir", help="where the board profiles are (default: bundled)")

    imp = sub.add_parser("import", help="import photos from a folder or mounted drive")
    imp.add_argument("path", help="folder to import")
    imp.add_argument("--data-dir", help="the server's data folder")
    imp.add_argument("--config", help="a TOML settings file")
    imp.add_argument("--user", help="email of the user who gets the photos (default: the admin)")
    imp.add_argument("--album", help="album name (default: from the folder name and date; '' for none)")
    return parser


@contextlib.contextmanager
def _without_tls(*, whole_program: bool) -> Iterator[None]:
    """Import asyncio inside this block without its TLS half, in a process that makes no network connection
    (`shoebox import`): asyncio imports `ssl` if it can, which loads OpenSSL's TLS library,
    10-15 ms of CPU while the copying has started beside it. Only when the command is the whole program:
    in a process that goes on (a test calling `main`), asyncio must keep TLS."""
    blocked = whole_program and "ssl" not in sys.modules
    if blocked:
        sys.modules["ssl"] = None  # type: ignore[assignment]  # `import ssl` raises ImportError
    try:
        yield
    finally:
        if blocked and "ssl" in sys.modules and sys.modules["ssl"] is None:
            del sys.modules["ssl"]  # a later `import ssl` (there should be none) gets the real module


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from appliance.system.tls import ca_certificates_deferred

        with ca_certificates_deferred():  # aiohttp's import would read the whole CA bundle
            from appliance.runtime import serve_from_args

        return serve_from_args(args)
    if args.command == "doctor":
        from appliance.hardware.doctor import run_doctor

        return run_doctor(args)
    if args.command == "import":
        import gc

        gc.disable()  # loading the modules makes only objects that live as long as the process: nothing to collect
        from appliance.importer.head_start import start_copying

        head_start = start_copying(args)  # copying starts now, beside the imports below
        with _without_tls(whole_program=argv is None):
            from appliance.importer.command import exit_now, run_import

        gc.freeze()  # and later collections need not look at them again
        gc.enable()
        whole_program = argv is None  # the process's own command line: it ends when the import does
        code = run_import(args, head_start, process_ends=whole_program)
        if whole_program:
            exit_now(code)
        return code
    print(f"unknown command {args.command}", file=sys.stderr)
    return 2
