"""Reverse geocoding rules (Immich's: nearest town within 25 km; country only when further) and the server's
way of building the place database: in a background child process, not in its own interpreter."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.library.places import NOWHERE, Location, PlacesService, build_in_background_process
from appliance.storage.places import PlacesRepository


@pytest.fixture
async def places(geodata_dir: Path) -> PlacesService:
    return PlacesService(PlacesRepository(geodata_dir))


async def test_a_town_nearby_names_city_region_and_country(places: PlacesService) -> None:
    assert await places.reverse_geocode(46.6, 7.9) == Location("Lauterbrunnen", "Bern", "Switzerland")


async def test_far_from_towns_only_the_country_is_named(places: PlacesService) -> None:
    assert await places.reverse_geocode(-31.0, -69.8) == Location(None, None, "Argentina")
    assert await places.reverse_geocode(23.0, 10.0) == NOWHERE  # deep in the Sahara: nothing within 100 km


@pytest.mark.parametrize("lat, lon", [(None, None), (0.0, 0.0), (91.0, 0.0), (0.0, 200.0), (float("nan"), 1.0)])
async def test_no_usable_coordinates_means_no_place(
    places: PlacesService, lat: float | None, lon: float | None
) -> None:
    assert await places.reverse_geocode(lat, lon) == NOWHERE


async def test_the_server_builds_the_place_database_in_a_child_process(tmp_path: Path) -> None:
    repo = PlacesRepository(tmp_path, build=build_in_background_process)
    try:
        found = await PlacesService(repo).reverse_geocode(48.1374, 11.5755)
    finally:
        await repo.close()
    assert found == Location("Munich", "Bavaria", "Germany")
    assert [p.name for p in tmp_path.iterdir()] == [repo.path.name]
