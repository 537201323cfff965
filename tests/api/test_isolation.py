"""Two users on one box: every id-taking route answers a stranger exactly as it answers a missing id."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.api.conftest import Caller, jpeg_bytes, upload

MISSING = "22222222-2222-4222-8222-222222222222"


@pytest.fixture
async def alices_things(client: TestClient, alice: Caller) -> dict[str, str]:
    _, asset = await upload(client, alice, jpeg_bytes(900), "private.jpg")
    album = await (await client.post("/api/albums", headers=alice.headers,
                                      json={"albumName": "Private", "assetIds": [asset["id"]]})).json()
    key = await (await client.post("/api/api-keys", headers=alice.headers, json={"permissions": ["all"]})).json()
    sessions = await (await client.get("/api/sessions", headers=alice.headers)).json()
    return {"asset": asset["id"], "album": album["id"], "key": key["id"], "session": sessions[0]["id"]}


ROUTES = [
    ("get", "/api/assets/{asset}", None),
    ("put", "/api/assets/{asset}", {"isFavorite": True}),
    ("get", "/api/assets/{asset}/original", None),
    ("get", "/api/assets/{asset}/thumbnail", None),
    ("get", "/api/assets/{asset}/video/playback", None),
    ("put", "/api/assets", {"ids": ["{asset}"], "isFavorite": True}),
    ("delete", "/api/assets", {"ids": ["{asset}"], "force": True}),
    ("get", "/api/albums/{album}", None),
    ("patch", "/api/albums/{album}", {"albumName": "Mine now"}),
    ("delete", "/api/albums/{album}", None),
    ("put", "/api/albums/{album}/assets", {"ids": ["{asset}"]}),
    ("delete", "/api/albums/{album}/assets", {"ids": ["{asset}"]}),
    ("put", "/api/albums/{album}/users", {"albumUsers": [{"userId": "{bob}", "role": "editor"}]}),
    ("get", "/api/api-keys/{key}", None),
    ("put", "/api/api-keys/{key}", {"name": "x"}),
    ("delete", "/api/api-keys/{key}", None),
    ("delete", "/api/sessions/{session}", None),
]


def _fill(value: object, ids: dict[str, str]) -> object:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "payload"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
async def test_strangers_see_nothing(client: TestClient, alice: Caller, bob: Caller, alices_things: dict[str, str],
                                     method: str, path: str, payload: object) -> None:
    ids = {**alices_things, "bob": bob.id}
    missing = {k: MISSING for k in alices_things} | {"bob": bob.id}
    kwargs = {"json": _fill(payload, ids)} if payload is not None else {}
    stranger = await getattr(client, method)(_fill(path, ids), headers=bob.headers, **kwargs)
    kwargs_missing = {"json": _fill(payload, missing)} if payload is not None else {}
    absent = await getattr(client, method)(_fill(path, missing), headers=bob.headers, **kwargs_missing)
    assert stranger.status == absent.status
    assert stranger.status in (400, 404) or (method, path) in {("put", "/api/albums/{album}/assets"),
                                                               ("delete", "/api/albums/{album}/assets")}
    assert (await stranger.json())["message"] == (await absent.json())["message"]
    # and alice's things are untouched
    asset = await (await client.get(f"/api/assets/{alices_things['asset']}", headers=alice.headers)).json()
    assert asset["isFavorite"] is False and asset["isTrashed"] is False
    album = await client.get(f"/api/albums/{alices_things['album']}", headers=alice.headers)
    assert album.status == 200 and (await album.json())["albumName"] == "Private"


async def test_search_and_statistics_only_count_your_own(client: TestClient, alice: Caller, bob: Caller,
                                                         alices_things: dict[str, str]) -> None:
    found = await (await client.post("/api/search/metadata", headers=bob.headers, json={})).json()
    assert found["assets"]["total"] == 0
    stats = await (await client.get("/api/assets/statistics", headers=bob.headers)).json()
    assert stats["total"] == 0
    albums = await (await client.get("/api/albums", headers=bob.headers)).json()
    assert albums == []
    check = await client.post("/api/search/metadata", headers=bob.headers, json={"albumIds": [alices_things["album"]]})
    assert check.status == 400
    random = await (await client.post("/api/search/random", headers=bob.headers, json={})).json()
    assert random == []
