"""Settings come from flags, then the environment, then a TOML file, then defaults."""

from pathlib import Path

from appliance.config import load_settings


def test_defaults_listen_on_immichs_port() -> None:
    settings = load_settings(env={})
    assert settings.port == 2283 and settings.host == "0.0.0.0"


def test_flags_win_over_environment_over_file(tmp_path: Path) -> None:
    toml = tmp_path / "shoebox.toml"
    toml.write_text('port = 3000\nhost = "10.0.0.1"\nbox_name = "attic"\nmdns = false\n')
    env = {"SHOEBOX_PORT": "4000", "SHOEBOX_CONFIG": str(toml)}
    settings = load_settings({"port": 5000, "data_dir": str(tmp_path)}, env=env)
    assert settings.port == 5000
    assert settings.host == "10.0.0.1"
    assert settings.box_name == "attic" and settings.mdns is False
    assert load_settings({"data_dir": str(tmp_path)}, env=env).port == 4000


def test_data_dir_toml_is_found_without_naming_it(tmp_path: Path) -> None:
    (tmp_path / "shoebox.toml").write_text("[shoebox]\ntrash_days = 7\n")
    assert load_settings({"data_dir": str(tmp_path)}, env={}).trash_days == 7


def test_the_place_database_lives_in_the_cache_unless_told_otherwise(tmp_path: Path) -> None:
    assert load_settings({"data_dir": tmp_path}, env={}).places_cache_dir == tmp_path / "cache"
    moved = load_settings({"data_dir": tmp_path}, env={"SHOEBOX_GEODATA_DIR": "/var/cache/shoebox"})
    assert moved.places_cache_dir == Path("/var/cache/shoebox")


def test_the_timeline_month_cache_size_is_a_setting(tmp_path: Path) -> None:
    from appliance.services import build_services

    assert load_settings({"data_dir": tmp_path}, env={}).timeline_cache_bytes == 24 * 1024 * 1024
    off = load_settings({"data_dir": tmp_path}, env={"SHOEBOX_TIMELINE_CACHE_BYTES": "0"})
    assert off.timeline_cache_bytes == 0
    assert build_services(off).browse.timeline.cache.max_bytes == 0
