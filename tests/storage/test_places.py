"""The bundled place data: built once into its own SQLite file, nearest-place and name lookups."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.storage.places import PlacesRepository, _longitude_ranges, data_version, distance_km, search_key


@pytest.fixture
async def places(geodata_dir: Path) -> AsyncIterator[PlacesRepository]:
    repo = PlacesRepository(geodata_dir)
    yield repo
    await repo.close()


async def test_the_place_database_is_built_once_under_the_data_version(places: PlacesRepository) -> None:
    await places.open()
    assert places.path.name == f"places-{data_version()}.sqlite"
    with sqlite3.connect(places.path) as conn:
        count = conn.execute("SELECT count(*) FROM places").fetchone()[0]
        plan = " ".join(r[3] for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT name FROM places WHERE latitude BETWEEN 1 AND 2 AND longitude BETWEEN 3 AND 4"))
    assert count > 100_000
    assert "places_position" in plan
    assert not list(places.cache_dir.glob("*.building"))


async def test_the_nearest_place_names_city_region_and_country(places: PlacesRepository) -> None:
    berlin = await places.nearest(52.5163, 13.3777, within_km=25)  # the Brandenburg Gate
    assert berlin is not None
    assert (berlin.name, berlin.admin1_name, berlin.country_name) == ("Berlin", "State of Berlin", "Germany")
    omaha_suburb = await places.nearest(41.2203, -96.071625, within_km=25)
    assert omaha_suburb is not None and omaha_suburb.country_name == "United States of America"
    assert omaha_suburb.admin1_name == "Nebraska" and omaha_suburb.distance_km < 25


async def test_city_districts_are_left_out_as_immich_leaves_them_out(places: PlacesRepository) -> None:
    zurich = await places.nearest(47.3769, 8.5417, within_km=25)
    assert zurich is not None and zurich.name == "Zürich"


async def test_nothing_within_reach_in_the_middle_of_the_ocean(places: PlacesRepository) -> None:
    assert await places.nearest(45.0, -30.0, within_km=25) is None


async def test_places_across_the_antimeridian_are_found(places: PlacesRepository) -> None:
    # Fiji straddles 180°: a point just east of the line still finds Labasa, 78 km away just west of it
    east = await places.nearest(-16.4332, -179.9, within_km=100)
    assert east is not None and east.name == "Labasa" and east.distance_km == pytest.approx(78.5, abs=1)
    assert await places.nearest(-16.4332, -179.9, within_km=50) is None
    assert _longitude_ranges(179.9, 180.3) == [(179.9, 180.0), (-180.0, -179.7)]
    assert _longitude_ranges(-180.2, -179.9) == [(-180.0, -179.9), (179.8, 180.0)]


async def test_place_search_ignores_case_and_accents_and_ranks_big_places_first(places: PlacesRepository) -> None:
    found = await places.search("sao paulo")
    assert found[0].name == "São Paulo" and found[0].country_code == "BR"
    assert [p.name for p in await places.search("ZURICH")][0] == "Zürich"
    assert len(await places.search("s")) == 20
    assert await places.search("   ") == []
    assert await places.search("%") == []
    bavaria = await places.search("Bavaria")  # no town is called that: the region's biggest towns come back
    assert bavaria and {p.admin1_name for p in bavaria} == {"Bavaria"}
    assert bavaria[0].name == "Munich"


async def test_a_damaged_place_database_is_rebuilt(tmp_path: Path, geodata_dir: Path) -> None:
    built = PlacesRepository(geodata_dir)
    await built.open()
    await built.close()
    copy = PlacesRepository(tmp_path)
    copy.path.write_bytes(b"this is not a database" * 100)
    (tmp_path / "places-00000000old.sqlite").write_bytes(b"an older version")
    try:
        found = await copy.nearest(52.5163, 13.3777, within_km=25)
    finally:
        await copy.close()
    assert found is not None and found.name == "Berlin"
    assert sorted(p.name for p in tmp_path.iterdir()) == [copy.path.name]


def test_distance_and_search_keys() -> None:
    assert distance_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(343.5, abs=1.0)  # Paris–London
    assert search_key(" Zürich ") == "zurich"
    assert search_key("São Tomé") == "sao tome"
