"""A user's own account and an admin's management of the family's accounts."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.api.conftest import PASSWORD, Caller
from tests.contract import assert_matches


async def test_me_and_preferences_have_every_field_clients_require(client: TestClient, alice: Caller) -> None:
    me = await (await client.get("/api/users/me", headers=alice.headers)).json()
    assert_matches("UserAdminResponseDto", me)
    assert me["avatarColor"] in {"primary", "pink", "red", "yellow", "blue", "green", "purple", "orange", "gray",
                                 "amber"}
    prefs = await (await client.get("/api/users/me/preferences", headers=alice.headers)).json()
    assert_matches("UserPreferencesResponseDto", prefs)


async def test_preferences_update_merges(client: TestClient, alice: Caller) -> None:
    response = await client.put("/api/users/me/preferences", headers=alice.headers,
                                json={"memories": {"enabled": False}, "avatar": {"color": "green"}})
    assert response.status == 200
    prefs = await response.json()
    assert prefs["memories"] == {"enabled": False, "duration": 5, "sidebarWeb": False}
    me = await (await client.get("/api/users/me", headers=alice.headers)).json()
    assert me["avatarColor"] == "green"


async def test_update_me(client: TestClient, alice: Caller) -> None:
    response = await client.put("/api/users/me", headers=alice.headers, json={"name": "Alice L."})
    assert (await response.json())["name"] == "Alice L."
    bad = await client.put("/api/users/me", headers=alice.headers, json={"avatarColor": "chartreuse"})
    assert bad.status == 400


async def test_admin_manages_users(client: TestClient, admin: Caller) -> None:
    created = await client.post("/api/admin/users", headers=admin.headers, json={
        "email": "kid@example.com", "name": "Kid", "password": "pw", "quotaSizeInBytes": 1000,
        "shouldChangePassword": True})
    assert created.status == 201
    kid = await created.json()
    assert_matches("UserAdminResponseDto", kid)
    assert kid["quotaSizeInBytes"] == 1000 and kid["shouldChangePassword"] is True
    duplicate = await client.post("/api/admin/users", headers=admin.headers,
                                  json={"email": "KID@example.com", "name": "Kid", "password": "pw"})
    assert duplicate.status == 400
    updated = await client.put(f"/api/admin/users/{kid['id']}", headers=admin.headers, json={"quotaSizeInBytes": None})
    assert (await updated.json())["quotaSizeInBytes"] is None
    listed = await (await client.get("/api/admin/users", headers=admin.headers)).json()
    assert {u["email"] for u in listed} == {"admin@example.com", "kid@example.com"}
    deleted = await client.delete(f"/api/admin/users/{kid['id']}", headers=admin.headers, json={})
    assert deleted.status == 200 and (await deleted.json())["status"] == "deleted"
    assert (await client.post("/api/auth/login", json={"email": "kid@example.com", "password": "pw"})).status == 401
    restored = await client.post(f"/api/admin/users/{kid['id']}/restore", headers=admin.headers)
    assert (await restored.json())["status"] == "active"


async def test_non_admins_cannot_manage_users(client: TestClient, alice: Caller) -> None:
    response = await client.get("/api/admin/users", headers=alice.headers)
    assert response.status == 403 and (await response.json())["message"] == "Forbidden"
    create = await client.post("/api/admin/users", headers=alice.headers,
                               json={"email": "x@example.com", "name": "X", "password": PASSWORD})
    assert create.status == 403


async def test_user_list_is_the_share_picker(client: TestClient, alice: Caller, bob: Caller) -> None:
    users = await (await client.get("/api/users", headers=alice.headers)).json()
    for user in users:
        assert_matches("UserResponseDto", user)
    assert {bob.id, alice.id} <= {u["id"] for u in users}
    one = await client.get(f"/api/users/{bob.id}", headers=alice.headers)
    assert (await one.json())["email"] == bob.email
    bad = await client.get("/api/users/not-a-uuid", headers=alice.headers)
    assert bad.status == 400
