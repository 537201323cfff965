"""Search beyond plain metadata: the 3.2 filter DSL, suggestions, explore, and the ML-less answers."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from appliance.services import Services
from tests.api.browsing import get_json, make_album, photo, send_json, set_exif
from tests.api.conftest import Caller
from tests.contract import assert_matches


async def _ids(client: TestClient, caller: Caller, body: dict[str, object]) -> list[str]:
    found = await send_json(client, "POST", "/api/search/metadata", caller, body)
    assert_matches("SearchResponseDto", found)
    total = (await send_json(client, "POST", "/api/search/statistics", caller, body))["total"]
    assert total == found["assets"]["total"] == len(found["assets"]["items"])
    return [a["id"] for a in found["assets"]["items"]]


async def test_filter_dsl_ids_dates_bools_and_or(client: TestClient, alice: Caller, services: Services) -> None:
    a = await photo(client, alice, "2020-01-01T10:00:00.000Z", favorite=True)
    b = await photo(client, alice, "2021-01-01T10:00:00.000Z")
    c = await photo(client, alice, "2022-01-01T10:00:00.000Z")
    await set_exif(services, a, city="Paris", make="Canon")
    await set_exif(services, b, city="Lyon", make="Nikon")
    album = await make_album(client, alice, [a, b])
    tag = (await send_json(client, "PUT", "/api/tags", alice, {"tags": ["X"]}))[0]
    await send_json(client, "PUT", f"/api/tags/{tag['id']}/assets", alice, {"ids": [b, c]})
    assert await _ids(client, alice, {"filter": {"albumIds": {"all": [album]}}}) == [b, a]
    assert await _ids(client, alice, {"filter": {"albumIds": {"none": [album]}}}) == [c]
    assert await _ids(client, alice, {"filter": {"albumIds": {"any": [album]}, "tagIds": {"all": [tag["id"]]}}}) == [b]
    assert await _ids(client, alice, {"filter": {"takenAt": {"gte": "2021-01-01T00:00:00.000Z"}}}) == [c, b]
    assert await _ids(client, alice, {"filter": {"takenAt": {"lt": "2021-01-01T00:00:00.000Z"}}}) == [a]
    assert await _ids(client, alice, {"filter": {"isFavorite": {"eq": True}}}) == [a]
    assert await _ids(client, alice, {"filter": {"hasAlbums": {"eq": False}}}) == [c]
    assert await _ids(client, alice, {"filter": {"city": {"eq": "Lyon"}}}) == [b]
    assert await _ids(client, alice, {"filter": {"city": {"in": ["Lyon", "Paris"]}}}) == [b, a]
    either = {"or": [{"make": {"eq": "Canon"}}, {"tagIds": {"any": [tag["id"]]}}]}
    assert await _ids(client, alice, {"filter": either}) == [c, b, a]
    assert await _ids(client, alice, {"filter": {"personIds": {"any": [album]}}}) == []
    assert await _ids(client, alice, {"personIds": [album]}) == []
    response = await client.post("/api/search/metadata", json={"filter": {"bogus": {"eq": 1}}},
                                 headers=alice.headers)
    assert response.status == 400


async def test_metadata_paging_and_order(client: TestClient, alice: Caller) -> None:
    ids = [await photo(client, alice, f"2020-0{m}-01T10:00:00.000Z") for m in range(1, 6)]
    first = await send_json(client, "POST", "/api/search/metadata", alice, {"size": 2})
    # as Immich: `total` counts this page's items; /search/statistics counts every match
    assert first["assets"]["nextPage"] == "2" and first["assets"]["total"] == first["assets"]["count"] == 2
    assert (await send_json(client, "POST", "/api/search/statistics", alice, {}))["total"] == 5
    seen = []
    page: str | None = "1"
    while page:
        found = await send_json(client, "POST", "/api/search/metadata", alice, {"size": 2, "page": int(page),
                                                                                  "order": "asc"})
        seen += [a["id"] for a in found["assets"]["items"]]
        page = found["assets"]["nextPage"]
    assert seen == ids


async def test_suggestions_explore_and_cities(client: TestClient, alice: Caller, bob: Caller,
                                              services: Services) -> None:
    a, b, c = [await photo(client, alice) for _ in range(3)]
    more = [await photo(client, alice) for _ in range(4)]
    for asset in more:
        await set_exif(services, asset, city="Lyon")
    await set_exif(services, a, city="Lyon", state="Rhône", country="France", make="Canon", model="EOS R")
    await set_exif(services, b, city="Lyon", state="Rhône", country="France", make="Nikon", model="Z6")
    await set_exif(services, c, city="Turin", state="Piedmont", country="Italy", make="Canon", model="R5",
                   lens_model="RF 50mm")
    assert await get_json(client, "/api/search/suggestions", alice, type="country") == ["France", "Italy"]
    assert await get_json(client, "/api/search/suggestions", alice, type="city", country="Italy") == ["Turin"]
    assert await get_json(client, "/api/search/suggestions", alice, type="camera-model", make="Canon") == [
        "EOS R", "R5"
    ]
    assert await get_json(client, "/api/search/suggestions", alice, type="camera-lens-model",
                          includeNull="true") == ["RF 50mm", None]
    assert await get_json(client, "/api/search/suggestions", bob, type="country") == []
    await get_json(client, "/api/search/suggestions", alice, status=400, type="planet")
    explore = await get_json(client, "/api/search/explore", alice)
    for section in explore:
        assert_matches("SearchExploreResponseDto", section)
    assert explore[0]["fieldName"] == "exifInfo.city"
    assert [item["value"] for item in explore[0]["items"]] == ["Lyon"]  # explore wants 5 photos of a city
    assert set(await _ids(client, alice, {"city": "Lyon"})) == {a, b, *more}  # a common city: scanned by date
    assert await _ids(client, alice, {"city": "Turin", "size": 1}) == [c]
    cities = await get_json(client, "/api/search/cities", alice)
    assert [x["exifInfo"]["city"] for x in cities] == ["Lyon", "Turin"]


async def test_without_machine_learning(client: TestClient, alice: Caller) -> None:
    response = await client.post("/api/search/smart", json={"query": "dog"}, headers=alice.headers)
    assert response.status == 400
    assert (await response.json())["message"] == "Smart search is not enabled"
    assert await get_json(client, "/api/search/person", alice, name="Ann") == []
    features = await get_json(client, "/api/server/features")
    assert features["smartSearch"] is False and features["facialRecognition"] is False
    assert features["map"] is True


async def test_large_assets_biggest_first(client: TestClient, alice: Caller) -> None:
    from tests.api.conftest import jpeg_bytes

    small = await photo(client, alice, data=jpeg_bytes(1, (16, 16)))
    big_data = jpeg_bytes(2, (400, 300))
    big = await photo(client, alice, data=big_data)
    response = await client.post("/api/search/large-assets", params={"size": "10"}, headers=alice.headers)
    assert response.status == 200
    found = await response.json()
    assert [a["id"] for a in found] == [big, small]
    for asset in found:
        assert_matches("AssetResponseDto", asset)
    response = await client.post("/api/search/large-assets", params={"minFileSize": str(len(big_data))},
                                 headers=alice.headers)
    assert [a["id"] for a in await response.json()] == [big]
