"""Places: reverse geocoding (`GET /map/reverse-geocode`) and place search (`GET /search/places`) from the
bundled GeoNames data, as the mobile app's map and the web's place search call them."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.api.browsing import get_json
from tests.api.conftest import Caller
from tests.contract import assert_matches


async def test_the_server_says_it_reverse_geocodes(client: TestClient) -> None:
    features = await get_json(client, "/api/server/features")
    assert features["reverseGeocoding"] is True


async def test_reverse_geocode_names_city_state_and_country(client: TestClient, alice: Caller) -> None:
    found = await get_json(client, "/api/map/reverse-geocode", alice, lat="48.1374", lon="11.5755")
    assert found == [{"city": "Munich", "state": "Bavaria", "country": "Germany"}]
    assert_matches("MapReverseGeocodeResponseDto", found[0])


async def test_far_from_any_town_only_the_country_or_nothing(client: TestClient, alice: Caller) -> None:
    outback = await get_json(client, "/api/map/reverse-geocode", alice, lat="-25.0", lon="131.0")
    assert outback == [{"city": None, "state": None, "country": "Australia"}]
    ocean = await get_json(client, "/api/map/reverse-geocode", alice, lat="45", lon="-30")
    assert ocean == [{"city": None, "state": None, "country": None}]


async def test_reverse_geocode_checks_its_input_and_its_caller(client: TestClient, alice: Caller) -> None:
    for params in ({"lat": "91", "lon": "0"}, {"lat": "0", "lon": "181"}, {"lat": "north", "lon": "0"}, {"lat": "1"}):
        response = await client.get("/api/map/reverse-geocode", params=params, headers=alice.headers)
        assert response.status == 400, params
        assert set(await response.json()) >= {"message", "error", "statusCode", "correlationId"}
    response = await client.get("/api/map/reverse-geocode", params={"lat": "1", "lon": "1"})
    assert response.status == 401


async def test_place_search_finds_towns_by_the_start_of_their_name(client: TestClient, alice: Caller) -> None:
    found = await get_json(client, "/api/search/places", alice, name="zuri")
    assert found[0]["name"] == "Zürich" and found[0]["admin1name"] == "Zurich"
    for place in found:
        assert_matches("PlacesResponseDto", place)
        assert isinstance(place["latitude"], float) and isinstance(place["longitude"], float)
    assert len(await get_json(client, "/api/search/places", alice, name="san")) == 20
    assert await get_json(client, "/api/search/places", alice, name="qqqqzzz") == []
    response = await client.get("/api/search/places", headers=alice.headers)
    assert response.status == 400
