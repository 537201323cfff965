"""The `shoebox` command: `serve`, `doctor` and `import`."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shoebox", description="Shoebox photo server")
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
