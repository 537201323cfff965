"""Reverse geocoding and place search from the bundled place data, as Immich does it offline.

Immich's rule: the nearest populated place within 25 km names the city, its first-level region the state, and
its country the country. Where no place is that close, Immich falls back to country borders; Shoebox has no
border polygons, so it takes the country of the nearest place within `COUNTRY_FALLBACK_KM` (right away from
borders, which is where a photo with no town within 25 km usually is), and otherwise leaves all three empty.
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import appliance
from appliance.media.background import background_prefix
from appliance.storage.places import Place, PlacesRepository

__all__ = [
    "CITY_RADIUS_KM", "COUNTRY_FALLBACK_KM", "Location", "Place", "PlacesService", "build_in_background_process",
    "valid_coordinates",
]

log = logging.getLogger(__name__)

CITY_RADIUS_KM = 25.0
COUNTRY_FALLBACK_KM = 100.0


@dataclass(frozen=True)
class Location:
    city: str | None
    state: str | None
    country: str | None

    def as_dict(self) -> dict[str, str | None]:
        return {"city": self.city, "state": self.state, "country": self.country}


NOWHERE = Location(None, None, None)


def valid_coordinates(latitude: float | None, longitude: float | None) -> bool:
    if latitude is None or longitude is None:
        return False
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return False
    # (0, 0) is what cameras write when they have no fix; Immich treats it as "no location" too
    return -90 <= latitude <= 90 and -180 <= longitude <= 180 and (latitude, longitude) != (0.0, 0.0)


def build_in_background_process(target: Path) -> None:
    """Build the place database in a child process at background priority: parsing 150,000 places in the
    server would hold its interpreter lock for seconds (a minute on a Pi Zero 2 W) on the first start."""
    root = str(Path(appliance.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run(
        [*background_prefix(), sys.executable, "-m", "appliance.storage.places", str(target)],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=1800,
    )
    if result.returncode != 0:
        tail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        raise RuntimeError(f"building the place database failed: {' '.join(tail)}")


class PlacesService:
    def __init__(self, repo: PlacesRepository) -> None:
        self.repo = repo

    async def prepare(self) -> None:
        """Build the place database if needed (once per data version), so the first lookup is quick."""
        await self.repo.open()

    async def close(self) -> None:
        await self.repo.close()

    async def reverse_geocode(self, latitude: float | None, longitude: float | None) -> Location:
        if not valid_coordinates(latitude, longitude):
            return NOWHERE
        assert latitude is not None and longitude is not None
        place = await self.repo.nearest(latitude, longitude, within_km=CITY_RADIUS_KM)
        if place is not None:
            return Location(place.name, place.admin1_name, place.country_name)
        nearby = await self.repo.nearest(latitude, longitude, within_km=COUNTRY_FALLBACK_KM)
        if nearby is not None:
            return Location(None, None, nearby.country_name)
        return NOWHERE

    async def search(self, name: str) -> list[Place]:
        """Up to 20 places whose name (or region) starts with `name`, accents and case ignored."""
        return await self.repo.search(name, limit=20)
