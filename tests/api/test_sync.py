"""The Immich mobile app's conversation, replayed in its order: login, sync stream, acks, backup."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from appliance.config import Settings
from appliance.services import Services, build_services
from tests.api.conftest import PASSWORD, Caller, jpeg_bytes, upload
from tests.contract import assert_matches

APP_TYPES = [
    "AuthUsersV1", "UsersV1", "AssetsV2", "AssetExifsV1", "AssetEditsV1", "AssetMetadataV1", "PartnersV1",
    "PartnerAssetsV2", "PartnerAssetExifsV1", "AlbumsV2", "AlbumUsersV1", "AlbumAssetsV2", "AlbumAssetExifsV1",
    "AlbumToAssetsV1", "MemoriesV1", "MemoryToAssetsV1", "StacksV1", "PartnerStacksV1", "UserMetadataV1",
    "PeopleV1", "AssetFacesV2", "AssetOcrV1",
]
APP_HEADERS = {"User-Agent": "Immich_Android_2.3.0", "Accept": "application/jsonlines+json"}

# entity type -> the DTO the app's generated model reads it as
DATA_DTOS = {
    "AuthUserV1": "SyncAuthUserV1", "UserV1": "SyncUserV1", "UserDeleteV1": "SyncUserDeleteV1",
    "AssetV2": "SyncAssetV2", "AssetDeleteV1": "SyncAssetDeleteV1", "AssetExifV1": "SyncAssetExifV1",
    "AlbumV2": "SyncAlbumV2", "AlbumDeleteV1": "SyncAlbumDeleteV1", "AlbumUserV1": "SyncAlbumUserV1",
    "AlbumUserDeleteV1": "SyncAlbumUserDeleteV1", "AlbumToAssetV1": "SyncAlbumToAssetV1",
    "AlbumToAssetDeleteV1": "SyncAlbumToAssetDeleteV1", "AlbumAssetCreateV2": "SyncAssetV2",
    "AlbumAssetExifCreateV1": "SyncAssetExifV1", "UserMetadataV1": "SyncUserMetadataV1",
    "AssetMetadataV1": "SyncAssetMetadataV1", "AssetMetadataDeleteV1": "SyncAssetMetadataDeleteV1",
    "AlbumToAssetBackfillV1": "SyncAlbumToAssetV1", "AlbumAssetBackfillV2": "SyncAssetV2",
    "AlbumAssetExifBackfillV1": "SyncAssetExifV1", "AlbumUserBackfillV1": "SyncAlbumUserV1",
    "PartnerAssetBackfillV2": "SyncAssetV2", "PartnerAssetExifBackfillV1": "SyncAssetExifV1",
    "PartnerStackBackfillV1": "SyncStackV1",
}


class FakeClock:
    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(settings: Settings, clock: FakeClock) -> Services:
    return build_services(settings, clock=clock)


class App:
    """What the app keeps: its token, and the lines it applied (acking each group, as the app does)."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.headers = {**APP_HEADERS, "x-immich-user-token": token}

    async def stream(self, types: list[str] | None = None, *, ack: bool = True, **extra: Any) -> list[dict[str, Any]]:
        response = await self.client.post("/api/sync/stream", json={"types": types or APP_TYPES, **extra},
                                          headers=self.headers)
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"].startswith("application/jsonlines+json")
        assert response.headers.get("Transfer-Encoding") == "chunked"  # streamed, not buffered
        text = await response.text()
        assert text.endswith("\n")
        lines = [json.loads(line) for line in text.splitlines()]
        for line in lines:
            assert set(line) == {"type", "data", "ack"}
            if line["type"] in DATA_DTOS:
                assert_matches(DATA_DTOS[line["type"]], line["data"])
        if ack:
            await self.ack_groups(lines)
        return lines

    async def ack_groups(self, lines: list[dict[str, Any]]) -> None:
        groups: list[str] = []
        for index, line in enumerate(lines):
            if index + 1 == len(lines) or lines[index + 1]["type"] != line["type"]:
                groups.append(line["ack"])
        for ack in groups:
            response = await self.client.post("/api/sync/ack", json={"acks": [ack]}, headers=self.headers)
            assert response.status == 204, await response.text()


def of(lines: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [line["data"] for line in lines if line["type"] == kind]


def sha1_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode()


async def app_upload(client: TestClient, app: App, data: bytes, name: str, **fields: str) -> dict[str, Any]:
    status, body = await upload(
        client, None, data, name,  # type: ignore[arg-type]
        headers={"x-immich-user-token": app.headers["x-immich-user-token"], "x-immich-checksum": sha1_b64(data)},
        fields={"deviceAssetId": f"local-{name}", "deviceId": "phone-1", "isFavorite": "false", "duration": "0",
                **fields},
    )
    assert status == 201, body
    return body


async def login_like_the_app(client: TestClient, caller: Caller) -> App:
    """Server selection and login, in the app's order (immich-api.md §1d)."""
    assert (await (await client.get("/api/server/ping")).json()) == {"res": "pong"}
    well_known = await (await client.get("/.well-known/immich")).json()
    assert well_known["api"]["endpoint"] == "/api"
    for path in ("/api/server/version", "/api/server/features", "/api/server/config"):
        assert (await client.get(path)).status == 200
    response = await client.post("/api/auth/login", json={"email": caller.email, "password": PASSWORD},
                                 headers=APP_HEADERS)
    assert response.status == 201
    login = await response.json()
    assert {"accessToken", "shouldChangePassword", "isAdmin"} <= set(login)
    client.session.cookie_jar.clear()
    app = App(client, login["accessToken"])
    me = await client.get("/api/users/me", headers=app.headers)
    preferences = await client.get("/api/users/me/preferences", headers=app.headers)
    assert me.status == 200 and preferences.status == 200
    assert_matches("UserAdminResponseDto", await me.json())
    return app


async def test_the_apps_first_login_and_sync_sends_every_type_in_order_and_ends_complete(
    client: TestClient, alice: Caller, bob: Caller
) -> None:
    app = await login_like_the_app(client, alice)
    lines = await app.stream()
    kinds = [line["type"] for line in lines]
    assert kinds[0] == "AuthUserV1" and kinds[-1] == "SyncCompleteV1"
    assert of(lines, "AuthUserV1")[0]["email"] == alice.email
    assert {u["id"] for u in of(lines, "UserV1")} >= {alice.id, bob.id}
    assert of(lines, "UserV1") and kinds.index("UserV1") < kinds.index("SyncCompleteV1")
    assert lines[-1]["ack"].startswith("SyncCompleteV1|")
    # a second stream right after the acks has nothing new
    again = await app.stream()
    assert [line["type"] for line in again] == ["SyncCompleteV1"]


async def test_backup_three_photos_then_only_they_stream_with_exact_checksums(
    client: TestClient, alice: Caller
) -> None:
    app = await login_like_the_app(client, alice)
    await app.stream()
    photos = [jpeg_bytes(seed) for seed in range(3)]
    ids = [(await app_upload(client, app, data, f"IMG_{n}.jpg"))["id"] for n, data in enumerate(photos)]
    lines = await app.stream()
    assets = of(lines, "AssetV2")
    assert [a["id"] for a in assets] == ids
    assert [a["checksum"] for a in assets] == [sha1_b64(data) for data in photos]
    assert [e["assetId"] for e in of(lines, "AssetExifV1")] == ids
    kinds = [line["type"] for line in lines]
    assert kinds.index("AssetV2") < kinds.index("AssetExifV1")
    # the same bytes again is a duplicate answered from the header alone
    status, body = await upload(client, alice, photos[0], "IMG_0.jpg",
                                headers={**app.headers, "x-immich-checksum": sha1_b64(photos[0])})
    assert (status, body) == (200, {"id": ids[0], "status": "duplicate"})


async def test_delete_streams_asset_delete_before_upserts_and_trash_restore_stream_as_updates(
    client: TestClient, alice: Caller
) -> None:
    app = await login_like_the_app(client, alice)
    first, second = [(await app_upload(client, app, jpeg_bytes(n), f"p{n}.jpg"))["id"] for n in (1, 2)]
    await app.stream()

    response = await client.delete("/api/assets", json={"ids": [second]}, headers=app.headers)
    assert response.status == 204
    trashed = of(await app.stream(), "AssetV2")
    assert [a["id"] for a in trashed] == [second] and trashed[0]["deletedAt"]

    response = await client.post("/api/trash/restore/assets", json={"ids": [second]}, headers=app.headers)
    assert (await response.json()) == {"count": 1}
    restored = of(await app.stream(), "AssetV2")
    assert [(a["id"], a["deletedAt"]) for a in restored] == [(second, None)]

    await client.put("/api/assets", json={"ids": [first], "isFavorite": True}, headers=app.headers)
    response = await client.delete("/api/assets", json={"ids": [second], "force": True}, headers=app.headers)
    assert response.status == 204
    lines = await app.stream()
    asset_kinds = [line["type"] for line in lines if line["type"].startswith("Asset")]
    assert asset_kinds[:2] == ["AssetDeleteV1", "AssetV2"]
    assert of(lines, "AuthUserV1")[0]["quotaUsageInBytes"] == len(jpeg_bytes(1))  # usage changed too
    assert of(lines, "AssetDeleteV1") == [{"assetId": second}]
    assert [(a["id"], a["isFavorite"]) for a in of(lines, "AssetV2")] == [(first, True)]


async def test_an_interrupted_stream_resumes_after_the_last_ack_without_losing_bulk_edited_rows(
    client: TestClient, alice: Caller, services: Services
) -> None:
    app = await login_like_the_app(client, alice)
    ids = [(await app_upload(client, app, jpeg_bytes(n), f"b{n}.jpg"))["id"] for n in range(5)]
    await app.stream()
    # one bulk edit gives all five the same update id
    await client.put("/api/assets", json={"ids": ids, "isFavorite": True}, headers=app.headers)
    lines = await app.stream(["AssetsV2"], ack=False)
    changed = [line for line in lines if line["type"] == "AssetV2"]
    assert len(changed) == 5
    # the app applied two lines and then lost the connection
    await app.ack_groups(changed[:2])
    rest = of(await app.stream(["AssetsV2"]), "AssetV2")
    assert {a["id"] for a in rest} == {line["data"]["id"] for line in changed[2:]}


async def test_albums_stream_with_owner_membership_links_and_deletes(
    client: TestClient, alice: Caller, bob: Caller
) -> None:
    app = await login_like_the_app(client, alice)
    bob_app = await login_like_the_app(client, bob)
    photo = (await app_upload(client, app, jpeg_bytes(7), "a.jpg"))["id"]
    await app.stream()
    await bob_app.stream()
    response = await client.post("/api/albums", json={"albumName": "Trip", "assetIds": [photo]}, headers=app.headers)
    album = (await response.json())["id"]
    lines = await app.stream()
    assert [a["id"] for a in of(lines, "AlbumV2")] == [album]
    assert of(lines, "AlbumUserV1") == [{"albumId": album, "userId": alice.id, "role": "owner"}]
    assert of(lines, "AlbumToAssetV1") == [{"albumId": album, "assetId": photo}]
    assert not of(lines, "AlbumAssetCreateV2")  # her own photo came through AssetsV2

    # sharing with bob later backfills the album's older links and sends him the photo itself
    response = await client.put(f"/api/albums/{album}/users", json={"albumUsers": [{"userId": bob.id}]},
                                headers=app.headers)
    assert response.status == 200, await response.text()
    bob_lines = await bob_app.stream()
    assert [a["id"] for a in of(bob_lines, "AlbumV2")] == [album]
    assert of(bob_lines, "AlbumToAssetV1") == [{"albumId": album, "assetId": photo}]
    assert [a["id"] for a in of(bob_lines, "AlbumAssetCreateV2")] == [photo]
    assert [e["assetId"] for e in of(bob_lines, "AlbumAssetExifCreateV1")] == [photo]
    assert {(u["userId"], u["role"]) for u in of(bob_lines, "AlbumUserV1")} == {(alice.id, "owner"),
                                                                               (bob.id, "editor")}

    await client.delete(f"/api/albums/{album}/assets", json={"ids": [photo]}, headers=app.headers)
    assert of(await bob_app.stream(), "AlbumToAssetDeleteV1") == [{"albumId": album, "assetId": photo}]
    await client.delete(f"/api/albums/{album}", headers=app.headers)
    assert of(await bob_app.stream(), "AlbumDeleteV1") == [{"albumId": album}]
    assert of(await app.stream(), "AlbumDeleteV1") == [{"albumId": album}]


async def test_an_asset_in_two_albums_can_be_deleted_and_both_links_stream_as_deletes(
    client: TestClient, alice: Caller
) -> None:
    app = await login_like_the_app(client, alice)
    photo = (await app_upload(client, app, jpeg_bytes(9), "two.jpg"))["id"]
    albums = []
    for name in ("One", "Two"):
        response = await client.post("/api/albums", json={"albumName": name, "assetIds": [photo]}, headers=app.headers)
        albums.append((await response.json())["id"])
    await app.stream()
    response = await client.delete("/api/assets", json={"ids": [photo], "force": True}, headers=app.headers)
    assert response.status == 204
    lines = await app.stream()
    assert of(lines, "AssetDeleteV1") == [{"assetId": photo}]
    assert sorted(d["albumId"] for d in of(lines, "AlbumToAssetDeleteV1")) == sorted(albums)


async def test_a_checkpoint_older_than_the_delete_history_gets_a_reset_and_the_app_starts_over(
    client: TestClient, alice: Caller, clock: FakeClock
) -> None:
    app = await login_like_the_app(client, alice)
    await app_upload(client, app, jpeg_bytes(3), "old.jpg")
    await app.stream()
    clock.shift = timedelta(days=31)
    lines = await app.stream(ack=False)
    assert lines == [{"type": "SyncResetV1", "data": {}, "ack": "SyncResetV1|reset"}]
    # the app wipes its tables, acks the reset and streams again: everything comes back
    await app.ack_groups(lines)
    assert (await (await client.get("/api/sync/ack", headers=app.headers)).json()) == []
    again = await app.stream()
    assert len(of(again, "AssetV2")) == 1 and again[-1]["type"] == "SyncCompleteV1"


async def test_reset_true_and_a_flagged_session_start_over(client: TestClient, alice: Caller) -> None:
    app = await login_like_the_app(client, alice)
    await app_upload(client, app, jpeg_bytes(4), "r.jpg")
    await app.stream()
    assert len(of(await app.stream(reset=True), "AssetV2")) == 1

    sessions = await (await client.get("/api/sessions", headers=app.headers)).json()
    current = next(s for s in sessions if s["current"])
    response = await client.put(f"/api/sessions/{current['id']}", json={"isPendingSyncReset": True},
                                headers=app.headers)
    assert response.status == 200
    assert (await response.json())["isPendingSyncReset"] is True
    assert [line["type"] for line in await app.stream()] == ["SyncResetV1"]
    assert len(of(await app.stream(), "AssetV2")) == 1


async def test_acks_are_one_per_type_listed_and_deletable(client: TestClient, alice: Caller) -> None:
    app = await login_like_the_app(client, alice)
    await app_upload(client, app, jpeg_bytes(5), "k.jpg")
    lines = await app.stream()
    acks = await (await client.get("/api/sync/ack", headers=app.headers)).json()
    for ack in acks:
        assert_matches("SyncAckDto", ack)
    assert {a["type"] for a in acks} >= {"AuthUserV1", "UserV1", "AssetV2", "AssetExifV1", "SyncCompleteV1"}
    assert next(a["ack"] for a in acks if a["type"] == "SyncCompleteV1") == lines[-1]["ack"]

    response = await client.delete("/api/sync/ack", json={"types": ["AssetV2"]}, headers=app.headers)
    assert response.status == 204
    assert len(of(await app.stream(), "AssetV2")) == 1
    response = await client.delete("/api/sync/ack", headers=app.headers)
    assert response.status == 204
    assert (await (await client.get("/api/sync/ack", headers=app.headers)).json()) == []


@pytest.mark.parametrize(
    ("request_body", "status", "message"),
    [
        ({"acks": ["NotAType|x"]}, 400, "Invalid ack type: NotAType"),
        ({"acks": ["x"] * 1001}, 400, ["acks must contain no more than 1000 elements"]),
    ],
)
async def test_bad_acks_are_refused_and_good_ones_still_work(
    client: TestClient, alice: Caller, request_body: dict[str, Any], status: int, message: Any
) -> None:
    app = await login_like_the_app(client, alice)
    response = await client.post("/api/sync/ack", json=request_body, headers=app.headers)
    assert response.status == status
    assert (await response.json())["message"] == message
    lines = await app.stream()
    assert lines[-1]["type"] == "SyncCompleteV1"


async def test_unknown_types_yield_nothing_and_deprecated_ones_are_refused(client: TestClient, alice: Caller) -> None:
    app = await login_like_the_app(client, alice)
    lines = await app.stream(["PeopleV1", "AssetOcrV1", "SomethingFromTheFutureV9"])
    assert [line["type"] for line in lines] == ["SyncCompleteV1"]
    response = await client.post("/api/sync/stream", json={"types": ["AssetsV1"]}, headers=app.headers)
    assert response.status == 400
    assert (await response.json())["message"] == (
        "SyncRequestType.AssetsV1 is deprecated, use SyncRequestType.AssetsV2 instead"
    )


@pytest.mark.parametrize("path", ["/api/sync/stream", "/api/sync/ack"])
async def test_sync_endpoints_refuse_api_keys(client: TestClient, alice: Caller, path: str) -> None:
    response = await client.post(path, json={"types": ["AssetsV2"], "acks": []}, headers=alice.key_headers)
    assert response.status == 403
    assert (await response.json())["message"] == "Sync endpoints cannot be used with API keys"


async def test_audit_rows_older_than_31_days_are_pruned(
    client: TestClient, alice: Caller, services: Services, clock: FakeClock
) -> None:
    app = await login_like_the_app(client, alice)
    asset = (await app_upload(client, app, jpeg_bytes(6), "gone.jpg"))["id"]
    await client.delete("/api/assets", json={"ids": [asset], "force": True}, headers=app.headers)
    assert await services.sync.prune_audit() == 0
    clock.shift = timedelta(days=32)
    assert await services.sync.prune_audit() == 1
    assert await services.db.fetchval("SELECT count(*) FROM asset_audit") == 0


async def test_asset_metadata_streams_upserts_and_deletes(client: TestClient, alice: Caller) -> None:
    app = await login_like_the_app(client, alice)
    asset = (await app_upload(client, app, jpeg_bytes(8), "m.jpg"))["id"]
    await app.stream()
    response = await client.put("/api/assets/metadata", json={"items": [
        {"assetId": asset, "key": "mobile-app", "value": {"iCloudId": "x1"}}]}, headers=app.headers)
    assert response.status == 200
    lines = await app.stream()
    assert of(lines, "AssetMetadataV1") == [{"assetId": asset, "key": "mobile-app", "value": {"iCloudId": "x1"}}]
    await client.delete("/api/assets/metadata", json={"items": [{"assetId": asset, "key": "mobile-app"}]},
                        headers=app.headers)
    assert of(await app.stream(), "AssetMetadataDeleteV1") == [{"assetId": asset, "key": "mobile-app"}]


# The partner, stack and memory tables come from another branch; these are the columns the sync feeds
# read (appliance/storage/sync.py). Creating them here proves the feeds' SQL against that contract.
async def test_partner_stack_and_memory_feeds_stream_their_changes_and_deletes(
    client: TestClient, alice: Caller, bob: Caller
) -> None:
    alice_app, bob_app = await login_like_the_app(client, alice), await login_like_the_app(client, bob)
    photo = (await app_upload(client, alice_app, jpeg_bytes(11), "p.jpg"))["id"]
    other = (await app_upload(client, alice_app, jpeg_bytes(12), "q.jpg"))["id"]
    await bob_app.stream()  # bob's checkpoint now predates the partnership

    partner = await client.post("/api/partners", headers=alice.headers, json={"sharedWithId": bob.id})
    assert partner.status == 201, await partner.text()
    stack = await (await client.post("/api/stacks", headers=alice.headers, json={"assetIds": [photo, other]})).json()
    memory = await (await client.post("/api/memories", headers=alice.headers, json={
        "type": "on_this_day", "data": {"year": 2020}, "memoryAt": "2020-05-01T00:00:00.000Z",
        "assetIds": [photo]})).json()

    # alice's older photos are backfilled to bob as a partner's
    bob_lines = await bob_app.stream()
    assert of(bob_lines, "PartnerV1") == [{"sharedById": alice.id, "sharedWithId": bob.id, "inTimeline": False}]
    assert {a["id"] for a in of(bob_lines, "PartnerAssetV2")} >= {photo}
    assert [s["id"] for s in of(bob_lines, "PartnerStackV1")] == [stack["id"]]
    for data in of(bob_lines, "PartnerAssetV2"):
        assert_matches("SyncAssetV2", data)
    for data in of(bob_lines, "PartnerStackV1"):
        assert_matches("SyncStackV1", data)

    alice_lines = await alice_app.stream()
    assert [s["id"] for s in of(alice_lines, "StackV1")] == [stack["id"]]
    memories = of(alice_lines, "MemoryV1")
    assert [m["id"] for m in memories] == [memory["id"]] and memories[0]["data"] == {"year": 2020}
    assert_matches("SyncMemoryV1", memories[0])
    assert of(alice_lines, "MemoryToAssetV1") == [{"memoryId": memory["id"], "assetId": photo}]

    removed = await client.delete(f"/api/memories/{memory['id']}/assets", headers=alice.headers,
                                  json={"ids": [photo]})
    assert removed.status == 200
    assert of(await alice_app.stream(), "MemoryToAssetDeleteV1") == [{"memoryId": memory["id"], "assetId": photo}]

    assert (await client.delete(f"/api/partners/{bob.id}", headers=alice.headers)).status in (200, 204)
    assert (await client.delete(f"/api/stacks/{stack['id']}", headers=alice.headers)).status in (200, 204)
    assert (await client.delete(f"/api/memories/{memory['id']}", headers=alice.headers)).status in (200, 204)
    assert of(await bob_app.stream(), "PartnerDeleteV1") == [{"sharedById": alice.id, "sharedWithId": bob.id}]
    alice_lines = await alice_app.stream()
    assert of(alice_lines, "StackDeleteV1") == [{"stackId": stack["id"]}]
    assert of(alice_lines, "MemoryDeleteV1") == [{"memoryId": memory["id"]}]


async def test_joining_an_older_album_backfills_what_the_checkpoint_already_passed(
    client: TestClient, alice: Caller, bob: Caller
) -> None:
    alice_app, bob_app = await login_like_the_app(client, alice), await login_like_the_app(client, bob)
    old_photo = (await app_upload(client, alice_app, jpeg_bytes(21), "old.jpg"))["id"]
    shared_photo = (await app_upload(client, alice_app, jpeg_bytes(22), "shared.jpg"))["id"]
    response = await client.post("/api/albums", json={"albumName": "Old", "assetIds": [old_photo]},
                                 headers=alice_app.headers)
    old_album = (await response.json())["id"]
    response = await client.post("/api/albums", json={"albumName": "Shared", "assetIds": [shared_photo],
                                                      "albumUsers": [{"userId": bob.id, "role": "viewer"}]},
                                 headers=alice_app.headers)
    assert response.status == 201, await response.text()
    first = await bob_app.stream()  # bob's checkpoints now lie past the old album's rows
    assert [a["id"] for a in of(first, "AlbumAssetCreateV2")] == [shared_photo]

    await client.put(f"/api/albums/{old_album}/users", json={"albumUsers": [{"userId": bob.id}]},
                     headers=alice_app.headers)
    lines = await bob_app.stream()
    assert [a["id"] for a in of(lines, "AlbumV2")] == [old_album]
    # the album's rows older than bob's checkpoints come as backfill lines, each parent closed by a SyncAckV1
    assert of(lines, "AlbumToAssetBackfillV1") == [{"albumId": old_album, "assetId": old_photo}]
    assert [a["id"] for a in of(lines, "AlbumAssetBackfillV2")] == [old_photo]
    assert [e["assetId"] for e in of(lines, "AlbumAssetExifBackfillV1")] == [old_photo]
    assert of(lines, "AlbumUserBackfillV1") == [{"albumId": old_album, "userId": alice.id, "role": "owner"}]
    assert of(lines, "AlbumUserV1") == [{"albumId": old_album, "userId": bob.id, "role": "editor"}]
    complete = [line["ack"] for line in lines if line["type"] == "SyncAckV1"]
    assert {ack.split("|")[0] for ack in complete} == {"AlbumToAssetBackfillV1", "AlbumAssetBackfillV2",
                                                      "AlbumAssetExifBackfillV1", "AlbumUserBackfillV1"}
    assert all(ack.endswith("|complete") for ack in complete)
    kinds = [line["type"] for line in lines]
    assert kinds.index("AlbumUserBackfillV1") < kinds.index("AlbumUserV1")
    # backfilled once: the next stream is empty
    assert [line["type"] for line in await bob_app.stream()] == ["SyncCompleteV1"]


async def test_an_interrupted_backfill_resumes_inside_the_album(client: TestClient, alice: Caller, bob: Caller) -> None:
    alice_app, bob_app = await login_like_the_app(client, alice), await login_like_the_app(client, bob)
    photos = [(await app_upload(client, alice_app, jpeg_bytes(30 + n), f"o{n}.jpg"))["id"] for n in range(3)]
    response = await client.post("/api/albums", json={"albumName": "Old", "assetIds": photos},
                                 headers=alice_app.headers)
    album = (await response.json())["id"]
    response = await client.post("/api/albums", json={"albumName": "Now", "assetIds": [photos[0]],
                                                      "albumUsers": [{"userId": bob.id}]}, headers=alice_app.headers)
    await bob_app.stream()
    await client.put(f"/api/albums/{album}/users", json={"albumUsers": [{"userId": bob.id}]},
                     headers=alice_app.headers)
    lines = await bob_app.stream(["AlbumToAssetsV1"], ack=False)
    backfill = [line for line in lines if line["type"] == "AlbumToAssetBackfillV1"]
    assert len(backfill) == 3
    await bob_app.ack_groups(backfill[:1])  # applied one, then the connection dropped
    rest = of(await bob_app.stream(["AlbumToAssetsV1"]), "AlbumToAssetBackfillV1")
    assert rest == [line["data"] for line in backfill[1:]]
    assert of(await bob_app.stream(["AlbumToAssetsV1"]), "AlbumToAssetBackfillV1") == []


async def test_pages_split_rows_that_share_an_update_id_without_losing_or_repeating_any(
    client: TestClient, alice: Caller, services: Services
) -> None:
    services.sync.page_size = 2
    app = await login_like_the_app(client, alice)
    ids = [(await app_upload(client, app, jpeg_bytes(40 + n), f"pg{n}.jpg"))["id"] for n in range(5)]
    first = of(await app.stream(["AssetsV2"]), "AssetV2")
    assert [a["id"] for a in first] == ids
    await client.put("/api/assets", json={"ids": ids, "isFavorite": True}, headers=app.headers)
    lines = await app.stream(["AssetsV2", "AssetExifsV1"])
    assert sorted(a["id"] for a in of(lines, "AssetV2")) == sorted(ids)
    assert len({line["ack"] for line in lines}) == len(lines)


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({}, ["types must be an array of SyncRequestType values"]),
        ({"types": "AssetsV2"}, ["types must be an array of SyncRequestType values"]),
        ({"types": ["AssetsV2"], "reset": "yes"}, ["reset must be a boolean value"]),
    ],
)
async def test_malformed_stream_requests_are_400_and_the_next_good_one_streams(
    client: TestClient, alice: Caller, request_body: dict[str, Any], message: Any
) -> None:
    app = await login_like_the_app(client, alice)
    response = await client.post("/api/sync/stream", json=request_body, headers=app.headers)
    assert response.status == 400
    assert (await response.json())["message"] == message
    assert (await app.stream(["AssetsV2"], reset=None))[-1]["type"] == "SyncCompleteV1"


async def test_a_removed_user_streams_as_user_delete(client: TestClient, admin: Caller, alice: Caller,
                                                     bob: Caller) -> None:
    app = await login_like_the_app(client, alice)
    assert bob.id in {u["id"] for u in of(await app.stream(["UsersV1"]), "UserV1")}
    response = await client.delete(f"/api/admin/users/{bob.id}", json={"force": True}, headers=admin.headers)
    assert response.status == 200, await response.text()
    assert of(await app.stream(["UsersV1"]), "UserDeleteV1") == [{"userId": bob.id}]
