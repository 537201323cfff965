"""A real Shoebox app on a loopback port (aiohttp's test server), with users who sign in like clients do."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from appliance.app import create_app
from appliance.config import Settings
from appliance.services import Services, build_services

PASSWORD = "correct horse battery staple"


@dataclass
class Caller:
    """A signed-in user as a client sees them."""

    id: str
    email: str
    token: str
    api_key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def key_headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key}


@pytest.fixture
def settings(tmp_path: Path, geodata_dir: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", mdns=False, jobs_enabled=False, geodata_dir=geodata_dir)


@pytest.fixture
def services(settings: Settings) -> Services:
    return build_services(settings)


@pytest.fixture
async def client(services: Services, aiohttp_client: Callable[..., Awaitable[TestClient]]) -> AsyncIterator[TestClient]:
    yield await aiohttp_client(create_app(services))


async def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status == 201, await response.text()
    client.session.cookie_jar.clear()  # each test says explicitly how it authenticates
    return str((await response.json())["accessToken"])


async def make_api_key(client: TestClient, token: str, permissions: list[str] | None = None) -> str:
    response = await client.post(
        "/api/api-keys", json={"name": "test", "permissions": permissions or ["all"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status == 201, await response.text()
    return str((await response.json())["secret"])


@pytest.fixture
async def admin(client: TestClient) -> Caller:
    response = await client.post(
        "/api/auth/admin-sign-up", json={"email": "admin@example.com", "name": "Admin", "password": PASSWORD}
    )
    assert response.status == 201, await response.text()
    user_id = (await response.json())["id"]
    token = await sign_in(client, "admin@example.com")
    return Caller(user_id, "admin@example.com", token, await make_api_key(client, token))


@pytest.fixture
def make_user(client: TestClient, admin: Caller) -> Callable[[str], Awaitable[Caller]]:
    async def make(name: str) -> Caller:
        email = f"{name.lower()}@example.com"
        response = await client.post(
            "/api/admin/users", json={"email": email, "name": name, "password": PASSWORD}, headers=admin.headers
        )
        assert response.status == 201, await response.text()
        user_id = (await response.json())["id"]
        token = await sign_in(client, email)
        return Caller(user_id, email, token, await make_api_key(client, token))

    return make


@pytest.fixture
async def alice(make_user: Callable[[str], Awaitable[Caller]]) -> Caller:
    return await make_user("Alice")


@pytest.fixture
async def bob(make_user: Callable[[str], Awaitable[Caller]]) -> Caller:
    return await make_user("Bob")


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small, valid JPEG whose bytes differ by seed."""
    from PIL import Image

    image = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 13) % 256))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


async def upload(
    client: TestClient,
    caller: Caller,
    data: bytes,
    filename: str = "photo.jpg",
    *,
    headers: dict[str, str] | None = None,
    fields: dict[str, str] | None = None,
    sidecar: bytes | None = None,
    params: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    form = FormData()
    form.add_field("deviceAssetId", f"test-{filename}")
    form.add_field("deviceId", "pytest")
    form.add_field("fileCreatedAt", "2024-05-01T10:00:00.000Z")
    form.add_field("fileModifiedAt", "2024-05-01T10:00:00.000Z")
    for key, value in (fields or {}).items():
        form.add_field(key, value)
    form.add_field("assetData", data, filename=filename, content_type="application/octet-stream")
    if sidecar is not None:
        form.add_field("sidecarData", sidecar, filename=filename + ".xmp", content_type="application/octet-stream")
    response = await client.post("/api/assets", data=form, headers=headers or caller.headers, params=params)
    return response.status, await response.json()
