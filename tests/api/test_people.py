"""People and faces, truthfully empty until face detection exists; map markers from GPS EXIF."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from appliance.services import Services
from tests.api.browsing import get_json, make_album, photo, set_exif
from tests.api.conftest import Caller
from tests.contract import assert_matches

PERSON = "00000000-0000-4000-8000-0000000000aa"


async def test_no_people_and_no_faces(client: TestClient, alice: Caller, bob: Caller) -> None:
    people = await get_json(client, "/api/people", alice, page="1", size="200")
    assert_matches("PeopleResponseDto", people)
    assert people == {"people": [], "total": 0, "hidden": 0, "hasNextPage": False}
    for path in (f"/api/people/{PERSON}", f"/api/people/{PERSON}/statistics", f"/api/people/{PERSON}/thumbnail"):
        body = await get_json(client, path, alice, status=400)
        assert body["message"] == "Not found or no person.read access"
    asset = await photo(client, alice)
    assert await get_json(client, "/api/faces", alice, id=asset) == []
    await get_json(client, "/api/faces", bob, status=400, id=asset)


async def test_map_markers(client: TestClient, alice: Caller, bob: Caller, services: Services) -> None:
    here = await photo(client, alice, favorite=True)
    await photo(client, alice)  # no GPS
    bobs = await photo(client, bob)
    await set_exif(services, here, latitude=48.85, longitude=2.35, city="Paris", country="France")
    await set_exif(services, bobs, latitude=1.0, longitude=2.0)
    markers = await get_json(client, "/api/map/markers", alice)
    for marker in markers:
        assert_matches("MapMarkerResponseDto", marker)
    assert markers == [{"id": here, "lat": 48.85, "lon": 2.35, "city": "Paris", "state": None, "country": "France"}]
    assert await get_json(client, "/api/map/markers", alice, isFavorite="false") == []
    album = await make_album(client, bob, [bobs], [{"userId": alice.id, "role": "viewer"}])
    with_shared = await get_json(client, "/api/map/markers", alice, withSharedAlbums="true")
    assert {m["id"] for m in with_shared} == {here, bobs}
    assert [m["id"] for m in await get_json(client, f"/api/albums/{album}/map-markers", alice)] == [bobs]
    await get_json(client, f"/api/albums/{album}/map-markers", alice.__class__(
        id="x", email="x", token="bad"), status=401)
