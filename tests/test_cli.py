"""The command line parses what the README promises."""

from appliance.cli import build_parser


def test_serve_takes_data_dir_host_and_port() -> None:
    args = build_parser().parse_args(["serve", "--data-dir", "/tmp/x", "--host", "127.0.0.1", "--port", "9999"])
    assert (args.command, args.data_dir, args.host, args.port) == ("serve", "/tmp/x", "127.0.0.1", 9999)
