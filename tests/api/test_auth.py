"""Signing up, signing in, and the ways a client proves who it is."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from appliance.services import Services
from tests.api.conftest import PASSWORD, Caller, make_api_key
from tests.contract import assert_matches


async def test_first_admin_signs_up_once(client: TestClient) -> None:
    first = await client.post("/api/auth/admin-sign-up", json={"email": "A@Example.com", "name": "A", "password": "x"})
    assert first.status == 201
    body = await first.json()
    assert_matches("UserAdminResponseDto", body)
    assert body["isAdmin"] is True and body["email"] == "a@example.com" and body["storageLabel"] == "admin"
    second = await client.post("/api/auth/admin-sign-up", json={"email": "b@example.com", "name": "B", "password": "x"})
    assert second.status == 400
    assert (await second.json())["message"] == "The server already has an admin"


async def test_passwords_and_tokens_are_stored_only_as_hashes(client: TestClient, admin: Caller,
                                                              services: Services) -> None:
    row = await services.db.fetchone("SELECT password_hash FROM users WHERE id = ?", (admin.id,))
    assert row is not None and row[0].startswith("$2") and PASSWORD not in row[0]
    sessions = await services.db.fetchall("SELECT token_hash FROM sessions")
    assert sessions and all(admin.token not in r[0] for r in sessions)
    keys = await services.db.fetchall("SELECT key_hash FROM api_keys")
    assert keys and all(admin.api_key not in r[0] for r in keys)


async def test_login_returns_token_and_the_three_cookies(client: TestClient, admin: Caller) -> None:
    response = await client.post("/api/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert response.status == 201
    body = await response.json()
    assert_matches("LoginResponseDto", body)
    cookies = {c.key: c for c in response.cookies.values()}
    assert cookies["immich_access_token"].value == body["accessToken"]
    assert cookies["immich_access_token"]["httponly"] and not cookies["immich_is_authenticated"]["httponly"]
    assert cookies["immich_auth_type"].value == "password"


async def test_wrong_password_is_401_with_immichs_message(client: TestClient, admin: Caller) -> None:
    response = await client.post("/api/auth/login", json={"email": admin.email, "password": "nope"})
    assert response.status == 401
    body = await response.json()
    assert body["message"] == "Incorrect email or password" and body["statusCode"] == 401
    assert response.headers["X-Correlation-ID"] == body["correlationId"]


async def test_every_credential_form_is_accepted(client: TestClient, admin: Caller) -> None:
    for headers in (
        {"Authorization": f"Bearer {admin.token}"},
        {"x-immich-user-token": admin.token},
        {"Cookie": f"immich_access_token={admin.token}"},
        {"x-api-key": admin.api_key},
    ):
        response = await client.get("/api/users/me", headers=headers)
        assert response.status == 200, headers
        assert_matches("UserAdminResponseDto", await response.json())
    assert (await client.get("/api/users/me", params={"apiKey": admin.api_key})).status == 200


async def test_bad_credentials_say_which(client: TestClient) -> None:
    cases = [({}, "Authentication required"), ({"x-api-key": "nope"}, "Invalid API key"),
             ({"Authorization": "Bearer nope"}, "Invalid user token")]
    for headers, message in cases:
        response = await client.get("/api/users/me", headers=headers)
        assert response.status == 401
        assert (await response.json())["message"] == message


async def test_logout_ends_the_session(client: TestClient, admin: Caller) -> None:
    response = await client.post("/api/auth/logout", headers=admin.headers)
    assert (response.status, await response.json()) == (200, {"successful": True,
                                                              "redirectUri": "/auth/login?autoLaunch=0"})
    assert (await client.get("/api/users/me", headers=admin.headers)).status == 401
    assert (await client.post("/api/auth/validateToken", headers=admin.headers)).status == 401


async def test_validate_token(client: TestClient, admin: Caller) -> None:
    response = await client.post("/api/auth/validateToken", headers=admin.headers)
    assert (response.status, await response.json()) == (200, {"authStatus": True})


async def test_change_password(client: TestClient, admin: Caller) -> None:
    wrong = await client.post("/api/auth/change-password", headers=admin.headers,
                              json={"password": "bad", "newPassword": "new-password"})
    assert wrong.status == 400 and (await wrong.json())["message"] == "Wrong password"
    ok = await client.post("/api/auth/change-password", headers=admin.headers,
                           json={"password": PASSWORD, "newPassword": "new-password"})
    assert ok.status == 200
    assert (await client.post("/api/auth/login", json={"email": admin.email, "password": PASSWORD})).status == 401
    assert (await client.post("/api/auth/login", json={"email": admin.email, "password": "new-password"})).status == 201


async def test_api_key_lifecycle(client: TestClient, admin: Caller) -> None:
    created = await client.post("/api/api-keys", headers=admin.headers,
                                json={"name": "frame", "permissions": ["asset.read", "asset.view"]})
    assert created.status == 201
    body = await created.json()
    assert_matches("ApiKeyCreateResponseDto", body)
    assert body["apiKey"]["id"] == body["id"] and body["permissions"] == ["asset.read", "asset.view"]
    key_id, secret = body["id"], body["secret"]

    me = await client.get("/api/api-keys/me", headers={"x-api-key": secret})
    assert (await me.json())["id"] == key_id
    listed = await (await client.get("/api/api-keys", headers=admin.headers)).json()
    assert key_id in {k["id"] for k in listed}
    renamed = await client.put(f"/api/api-keys/{key_id}", headers=admin.headers, json={"name": "kitchen"})
    assert (await renamed.json())["name"] == "kitchen"
    rotated = await (await client.post(f"/api/api-keys/{key_id}/rotate", headers=admin.headers)).json()
    assert (await client.get("/api/api-keys/me", headers={"x-api-key": secret})).status == 401
    assert (await client.get("/api/api-keys/me", headers={"x-api-key": rotated["secret"]})).status == 200
    assert (await client.delete(f"/api/api-keys/{key_id}", headers=admin.headers)).status == 204
    assert (await client.get("/api/api-keys/me", headers={"x-api-key": rotated["secret"]})).status == 401


async def test_api_key_permissions_are_enforced(client: TestClient, admin: Caller) -> None:
    reader = await make_api_key(client, admin.token, ["user.read"])
    assert (await client.get("/api/users/me", headers={"x-api-key": reader})).status == 200
    response = await client.post("/api/assets/bulk-upload-check", headers={"x-api-key": reader}, json={"assets": []})
    assert response.status == 403
    assert (await response.json())["message"] == "Missing required permission: asset.upload"


async def test_unknown_permission_is_rejected(client: TestClient, admin: Caller) -> None:
    response = await client.post("/api/api-keys", headers=admin.headers, json={"permissions": ["photos.everything"]})
    assert response.status == 400


async def test_sessions_are_listed_and_can_be_revoked(client: TestClient, admin: Caller) -> None:
    sessions = await (await client.get("/api/sessions", headers=admin.headers)).json()
    assert len(sessions) == 1 and sessions[0]["current"] is True
    assert_matches("SessionResponseDto", sessions[0])
    other = await client.post("/api/auth/login", json={"email": admin.email, "password": PASSWORD})
    other_token = (await other.json())["accessToken"]
    client.session.cookie_jar.clear()
    assert (await client.delete("/api/sessions", headers=admin.headers)).status == 204
    assert (await client.get("/api/users/me", headers={"Authorization": f"Bearer {other_token}"})).status == 401
    assert (await client.get("/api/users/me", headers=admin.headers)).status == 200
