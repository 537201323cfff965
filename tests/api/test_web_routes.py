"""The web app's files next to the API: the API and `/.well-known/immich` always win, other paths get the page."""

from __future__ import annotations

from aiohttp.test_utils import TestClient


async def test_the_root_and_any_app_path_serve_the_page(client: TestClient) -> None:
    for path in ("/", "/photos", "/albums/0b5c1d9e-5f0a-4c55-9d7e-2b0f2f1f7a11", "/share/abc123"):
        response = await client.get(path)
        assert response.status == 200, path
        assert response.content_type == "text/html"
        assert '<script type="module" src="/app/main.js">' in await response.text()


async def test_scripts_and_styles_are_served_compressed_with_etags(client: TestClient) -> None:
    response = await client.get("/app/main.js", headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.content_type == "text/javascript"
    assert response.headers["Content-Encoding"] == "gzip"
    etag = response.headers["ETag"]
    again = await client.get("/app/main.js", headers={"If-None-Match": etag})
    assert again.status == 304
    css = await client.get("/app/app.css")
    assert css.content_type == "text/css"


async def test_a_missing_script_is_a_404_not_the_page(client: TestClient) -> None:
    assert (await client.get("/app/nope.js")).status == 404


async def test_unknown_api_paths_stay_immich_404s(client: TestClient) -> None:
    for method in ("GET", "POST", "DELETE"):
        response = await client.request(method, "/api/no-such-endpoint")
        assert response.status == 404, method
        body = await response.json()
        assert body["message"] == f"Cannot {method} /api/no-such-endpoint"
        assert body["statusCode"] == 404


async def test_api_routes_and_well_known_win_over_the_page(client: TestClient) -> None:
    assert await (await client.get("/api/server/ping")).json() == {"res": "pong"}
    assert await (await client.get("/.well-known/immich")).json() == {"api": {"endpoint": "/api"}}


async def test_paths_cannot_escape_the_static_folder(client: TestClient) -> None:
    response = await client.get("/app/../../web/__init__.py")
    assert response.status in (200, 404)
    assert "StaticSite" not in await response.text()


async def test_the_page_forbids_foreign_scripts_but_allows_its_own_inline_boot_script(client: TestClient) -> None:
    response = await client.get("/photos")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'sha256-" in policy
    assert "img-src 'self' data: blob:" in policy
    assert response.headers["Referrer-Policy"] == "same-origin"
    script = await client.get("/app/main.js")
    assert "Content-Security-Policy" not in script.headers


async def test_head_answers_like_get_without_a_body(client: TestClient) -> None:
    get = await client.get("/app/app.css")
    head = await client.head("/app/app.css")
    assert head.status == 200
    assert head.headers["ETag"] == get.headers["ETag"]
    assert await head.read() == b""
