"""The grid's data sources in the browser against a real server: search pages tile the results exactly."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image

from tests.server_process import ServerProcess

COUNT = 137


def _jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (seed % 256, (seed * 7) % 256, (seed * 13) % 256)).save(buffer, "JPEG")
    return buffer.getvalue() + seed.to_bytes(4, "big")  # trailing bytes make every checksum distinct


def _upload(server: ServerProcess, token: str, seed: int) -> str:
    import urllib.request
    import uuid

    taken = (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=seed * 3)).isoformat()
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in (("deviceAssetId", f"seed-{seed}"), ("deviceId", "test"), ("fileCreatedAt", taken),
                        ("fileModifiedAt", taken)):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="assetData"; filename="p{seed}.jpg"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n".encode() + _jpeg(seed) + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    request = urllib.request.Request(server.url + "/api/assets", data=b"".join(parts), method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request) as response:
        import json

        return str(json.loads(response.read())["id"])


@pytest.fixture(scope="module")
def library(server: ServerProcess) -> tuple[str, list[str]]:
    token, _ = server.sign_up_admin_with_key()
    ids = [_upload(server, token, seed) for seed in range(COUNT)]
    return token, ids


@pytest.fixture(scope="module")
def page(browser: Any, server: ServerProcess, library: tuple[str, list[str]]) -> Iterator[Any]:
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    page.request.post("/api/auth/login", data={"email": "admin@example.com", "password": "admin-password"})
    page.goto("/app/grid.js")
    yield page
    context.close()


@pytest.mark.parametrize(("first", "largest"), [(5, 20), (50, 400), (7, 7)])
def test_search_pages_tile_every_asset_once_newest_first(page: Any, library: tuple[str, list[str]],
                                                         first: int, largest: int) -> None:
    _, ids = library
    seen = page.evaluate(
        """async ([first, largest]) => {
            const m = await import('/app/grid.js');
            const source = m.searchSource({}, largest, first);
            const out = [];
            for (let guard = 0; !source.done && guard < 100; guard++) out.push(...(await source.more()));
            return { ids: out.map((a) => a.id), days: out.map((a) => a.day) };
        }""",
        [first, largest],
    )
    assert len(seen["ids"]) == COUNT
    assert set(seen["ids"]) == set(ids)
    assert seen["days"] == sorted(seen["days"], reverse=True)


def test_months_group_in_order(page: Any) -> None:
    groups = page.evaluate(
        """async () => {
            const m = await import('/app/grid.js');
            const source = m.searchSource({}, 400, 50);
            const all = [];
            while (!source.done) all.push(...(await source.more()));
            return m.groupByMonth(all).map((b) => [b.key, b.count]);
        }""")
    keys = [key for key, _ in groups]
    assert keys == sorted(set(keys), reverse=True)
    assert sum(count for _, count in groups) == COUNT
