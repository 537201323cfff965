"""The bundled place data (GeoNames populated places, see `geodata/README.md`) as a small SQLite file.

The data is a rebuildable cache, not library data, so it lives in its own file under the data folder
(`cache/places-<version>.sqlite`) rather than in the main database: building it never holds the library's
writer, and a damaged or outdated copy is simply rebuilt. The file is built once, from the compressed TSV
shipped in the package, into a temporary file that is renamed into place when complete.

Lookups are bounding-box queries on a (latitude, longitude) index followed by an exact great-circle distance
in Python over the few hundred candidates.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import hashlib
import logging
import math
import os
import sqlite3
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180
_SCHEMA = """
CREATE TABLE places (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    admin1_name TEXT,
    admin2_name TEXT,
    country_code TEXT NOT NULL,
    latitude REAL NOT NULL,
    longitude REAL NOT NULL,
    population INTEGER NOT NULL,
    search_name TEXT NOT NULL,
    search_admin1 TEXT
);
CREATE INDEX places_position ON places (latitude, longitude);
CREATE INDEX places_search_name ON places (search_name, population);
CREATE INDEX places_search_admin1 ON places (search_admin1, population);
CREATE TABLE countries (code TEXT PRIMARY KEY, name TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Place:
    name: str
    admin1_name: str | None
    admin2_name: str | None
    country_code: str
    country_name: str | None
    latitude: float
    longitude: float
    distance_km: float = 0.0


def search_key(text: str) -> str:
    """Lower case without accents, so "zurich" finds "Zürich" and "sao" finds "São Paulo"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip()


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _bundled(name: str) -> Path:
    return Path(str(resources.files("appliance.storage") / "geodata" / name))


@functools.cache
def data_version() -> str:
    """Changes whenever the bundled data changes: names the cache file."""
    digest = hashlib.sha1()
    for name in ("places.tsv.gz", "countries.tsv"):
        digest.update(_bundled(name).read_bytes())
    return digest.hexdigest()[:12]


def _place_rows() -> Iterator[tuple[object, ...]]:
    with gzip.open(_bundled("places.tsv.gz"), "rt", encoding="utf-8") as source:
        for line in source:
            name, admin1, admin2, code, lat, lon, population = line.rstrip("\n").split("\t")
            yield (name, admin1 or None, admin2 or None, code, float(lat), float(lon), int(population),
                   search_key(name), search_key(admin1) or None)


def _country_rows() -> Iterator[tuple[str, str]]:
    for line in _bundled("countries.tsv").read_text(encoding="utf-8").splitlines():
        code, name = line.split("\t", 1)
        yield code, name


def build_blocking(target: Path) -> None:
    """Write the places database to `target` atomically (temporary file, then rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.building")
    temp.unlink(missing_ok=True)
    conn = sqlite3.connect(temp)
    try:
        conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
        conn.executescript(_SCHEMA)
        conn.executemany(
            "INSERT INTO places (name, admin1_name, admin2_name, country_code, latitude, longitude, population,"
            " search_name, search_admin1) VALUES (?,?,?,?,?,?,?,?,?)", _place_rows(),
        )
        conn.executemany("INSERT INTO countries (code, name) VALUES (?, ?)", _country_rows())
        conn.commit()
        conn.execute("ANALYZE")
    except BaseException:
        conn.close()
        temp.unlink(missing_ok=True)
        raise
    conn.close()
    temp.replace(target)  # whole or not at all; two servers building at once both write the same bytes


class PlacesRepository:
    """Nearest place and place-name search over the bundled data. `open()` builds the file on first use."""

    def __init__(self, cache_dir: Path, *, build: Callable[[Path], None] = build_blocking) -> None:
        self.cache_dir = cache_dir
        self.build = build  # how the file gets built: in this thread, or (the server) in a child process
        self._conn: sqlite3.Connection | None = None
        self._opening = asyncio.Lock()
        self._using = threading.Lock()  # one sqlite3 connection, used from worker threads one at a time

    @property
    def path(self) -> Path:
        return self.cache_dir / f"places-{data_version()}.sqlite"

    async def open(self) -> None:
        """Idempotent; builds the file in a thread the first time (a few seconds on a Pi)."""
        async with self._opening:
            if self._conn is not None:
                return
            self._conn = await asyncio.to_thread(self._open_blocking)

    def _open_blocking(self) -> sqlite3.Connection:
        path = self.path
        for attempt in range(2):
            if not path.exists():
                log.info("building the place database %s", path.name)
                self.build(path)
                self._remove_stale(path)
            try:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
                conn.execute("SELECT count(*) FROM countries").fetchone()
                return conn
            except sqlite3.DatabaseError:
                if attempt:
                    raise
                log.warning("the place database %s is damaged; rebuilding it", path.name)
                path.unlink(missing_ok=True)
        raise AssertionError("unreachable")

    def _remove_stale(self, keep: Path) -> None:
        for old in self.cache_dir.glob("places-*.sqlite*"):
            if old != keep and not old.name.endswith(".building"):
                with contextlib.suppress(OSError):
                    old.unlink()

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def nearest(self, latitude: float, longitude: float, *, within_km: float) -> Place | None:
        await self.open()
        return await asyncio.to_thread(self._nearest_blocking, latitude, longitude, within_km)

    def _nearest_blocking(self, latitude: float, longitude: float, within_km: float) -> Place | None:
        assert self._conn is not None
        d_lat = within_km / KM_PER_DEGREE
        cos_lat = math.cos(math.radians(latitude))
        d_lon = 180.0 if cos_lat < 0.01 else min(180.0, d_lat / cos_lat)
        ranges = _longitude_ranges(longitude - d_lon, longitude + d_lon)
        sql = (
            "SELECT p.name, p.admin1_name, p.admin2_name, p.country_code, c.name, p.latitude, p.longitude"
            " FROM places p LEFT JOIN countries c ON c.code = p.country_code"
            " WHERE p.latitude BETWEEN ? AND ? AND ("
            + " OR ".join("p.longitude BETWEEN ? AND ?" for _ in ranges) + ")"
        )
        args: list[float] = [latitude - d_lat, latitude + d_lat]
        for low, high in ranges:
            args += [low, high]
        best: Place | None = None
        with self._using:
            rows = self._conn.execute(sql, args).fetchall()
        for name, admin1, admin2, code, country, lat, lon in rows:
            distance = distance_km(latitude, longitude, lat, lon)
            if distance <= within_km and (best is None or distance < best.distance_km):
                best = Place(name, admin1, admin2, code, country, lat, lon, distance)
        return best

    async def search(self, text: str, *, limit: int = 20) -> list[Place]:
        await self.open()
        return await asyncio.to_thread(self._search_blocking, text, limit)

    def _search_blocking(self, text: str, limit: int) -> list[Place]:
        """Places whose name (or, after those, whose region) starts with `text`; exact names first, then the
        most populous."""
        assert self._conn is not None
        key = search_key(text)
        if not key:
            return []
        columns = ("p.name, p.admin1_name, p.admin2_name, p.country_code, c.name, p.latitude, p.longitude")
        found: list[Place] = []
        seen: set[tuple[str, float, float]] = set()
        for column in ("search_name", "search_admin1"):
            with self._using:
                rows = self._conn.execute(
                    f"SELECT {columns} FROM places p LEFT JOIN countries c ON c.code = p.country_code"
                    f" WHERE p.{column} >= ? AND p.{column} < ?"  # a prefix, as an index range
                    f" ORDER BY p.{column} = ? DESC, p.population DESC LIMIT ?",
                    (key, key + "\U0010ffff", key, limit),
                ).fetchall()
            for name, admin1, admin2, code, country, lat, lon in rows:
                if (name, lat, lon) not in seen and len(found) < limit:
                    seen.add((name, lat, lon))
                    found.append(Place(name, admin1, admin2, code, country, lat, lon))
        return found


def _longitude_ranges(low: float, high: float) -> list[tuple[float, float]]:
    """[low, high] in degrees, split where it crosses the antimeridian."""
    if high - low >= 360:
        return [(-180.0, 180.0)]
    if low < -180:
        return [(-180.0, high), (low + 360, 180.0)]
    if high > 180:
        return [(low, 180.0), (-180.0, high - 360)]
    return [(low, high)]


if __name__ == "__main__":  # python -m appliance.storage.places TARGET: what the server's child process runs
    build_blocking(Path(sys.argv[1]))
