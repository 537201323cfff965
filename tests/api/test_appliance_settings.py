"""`/api/appliance/settings`: the box's name, import destination and LAN advertising, kept in system_metadata."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from appliance.services import Services
from tests.api.conftest import Caller


async def test_settings_start_with_defaults_and_setup_not_completed(client: TestClient, admin: Caller) -> None:
    response = await client.get("/api/appliance/settings", headers=admin.headers)
    assert response.status == 200
    assert await response.json() == {
        "boxName": "Shoebox", "importUserId": None, "importAlbumMode": "none", "advertiseOnLan": True,
        "setupCompleted": False, "setupCompletedAt": None,
    }


async def test_an_admin_saves_settings_and_they_land_in_system_metadata(
    client: TestClient, admin: Caller, services: Services
) -> None:
    response = await client.put("/api/appliance/settings", headers=admin.headers, json={
        "boxName": "Family Box", "importUserId": admin.id, "importAlbumMode": "per-import",
        "advertiseOnLan": False, "setupCompleted": True,
    })
    assert response.status == 200
    body = await response.json()
    assert body["boxName"] == "Family Box"
    assert body["setupCompleted"] is True
    assert body["setupCompletedAt"].endswith("Z")
    stored = {row["key"]: row["value"] for row in await services.db.fetchall("SELECT key, value FROM system_metadata")}
    assert stored["box_name"] == "Family Box"  # the mDNS advertiser reads this key as plain text
    assert stored["import_user_id"] == admin.id
    assert stored["import_album_mode"] == "per-import"
    assert stored["advertise_lan"] == "false"

    again = await client.get("/api/appliance/settings", headers=admin.headers)
    assert (await again.json())["advertiseOnLan"] is False


async def test_a_partial_update_keeps_the_other_settings(client: TestClient, admin: Caller) -> None:
    url = "/api/appliance/settings"
    await client.put(url, headers=admin.headers, json={"boxName": "Attic", "advertiseOnLan": False})
    response = await client.put(url, headers=admin.headers, json={"importAlbumMode": "per-import"})
    body = await response.json()
    assert (body["boxName"], body["advertiseOnLan"], body["importAlbumMode"]) == ("Attic", False, "per-import")


async def test_bad_values_are_refused_with_immich_shaped_errors(client: TestClient, admin: Caller) -> None:
    for payload in ({"boxName": ""}, {"boxName": "a/b"}, {"boxName": "x" * 64}, {"importAlbumMode": "sometimes"},
                    {"importUserId": "00000000-0000-4000-8000-000000000000"}):
        response = await client.put("/api/appliance/settings", headers=admin.headers, json=payload)
        assert response.status == 400, payload
        body = await response.json()
        assert body["statusCode"] == 400 and body["error"] == "Bad Request"


async def test_only_an_admin_changes_settings_but_members_may_read_them(
    client: TestClient, admin: Caller, alice: Caller
) -> None:
    response = await client.put("/api/appliance/settings", headers=alice.headers, json={"boxName": "Mine"})
    assert response.status == 403
    response = await client.get("/api/appliance/settings", headers=alice.headers)
    assert response.status == 200
    assert (await client.get("/api/appliance/settings")).status == 401
