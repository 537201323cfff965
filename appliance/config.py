"""Settings: the only reader of environment variables and the TOML file. Flags win over the
environment, which wins over the file, which wins over the defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

ENV_PREFIX = "SHOEBOX_"


class Settings(NamedTuple):
    """Immutable. A NamedTuple, not a dataclass: `shoebox import` reads its settings before it forks its copy
    process, and loading `dataclasses` (with inspect, ast and dis) took 11-17 ms there."""

    data_dir: Path = Path("./data")
    host: str = "0.0.0.0"
    port: int = 2283
    log_level: str = "info"
    mdns: bool = True
    mdns_interfaces: tuple[str, ...] = ()
    box_name: str = "shoebox"
    max_upload_bytes: int = 50 * 1024**3
    max_json_bytes: int = 10 * 1024**2
    min_free_bytes: int = 64 * 1024**2
    trash_days: int = 30
    sysroot: Path = Path("/")
    jobs_enabled: bool = True
    import_user_email: str = ""
    import_album_template: str = "{label} {date}"
    import_auto: bool = True  # import cards as they are inserted (needs udev and shoebox-import@.service)
    import_runtime_dir: Path = Path("/run/shoebox-import")  # where shoebox-mount-helper mounts and reports
    geodata_dir: Path | None = None  # where the place database is built (default: <data>/cache)
    # months of the timeline kept in memory (gzipped) once built (appliance/library/timeline.py); 0: none
    timeline_cache_bytes: int = 24 * 1024 * 1024
    extra: Mapping[str, Any] = MappingProxyType({})  # the file's keys Shoebox does not know (read-only)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "shoebox.db"

    @property
    def places_cache_dir(self) -> Path:
        return self.geodata_dir or self.data_dir / "cache"


def _declared_type(name: str) -> str:
    """A field's type as written (NamedTuple keeps a postponed annotation as a ForwardRef)."""
    kind = Settings.__annotations__.get(name, "str")
    return str(getattr(kind, "__forward_arg__", kind))


def _coerce(name: str, value: Any) -> Any:
    kind = _declared_type(name)
    if kind in ("Path", "Path | None"):
        return Path(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in {"1", "true", "yes", "on"}
    if kind.startswith("tuple"):
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return tuple(value)
    return value


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Merge defaults, the TOML file, `SHOEBOX_*` variables and explicit overrides (flags)."""
    env = os.environ if env is None else env
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    known = set(Settings._fields) - {"extra"}

    from_env = {name: env[ENV_PREFIX + name.upper()] for name in known if ENV_PREFIX + name.upper() in env}
    path = config_file or (Path(p) if (p := overrides.get("config") or env.get(ENV_PREFIX + "CONFIG")) else None)
    data_dir_hint = Path(overrides.get("data_dir") or from_env.get("data_dir") or Settings._field_defaults["data_dir"])
    if path is None and (data_dir_hint / "shoebox.toml").is_file():
        path = data_dir_hint / "shoebox.toml"
    from_file: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    if path is not None:
        with open(path, "rb") as handle:
            import tomllib  # only when there is a config file: not on every start

            raw = tomllib.load(handle)
        section = raw.get("shoebox", raw)
        for key, value in section.items():
            (from_file if key in known else extra)[key] = value

    merged: dict[str, Any] = {}
    for source in (from_file, from_env, overrides):
        for key, value in source.items():
            if key in known:
                merged[key] = _coerce(key, value)
    return Settings(**merged, extra=extra)
