"""The real `@immich/cli` 3.2.2 logs in, uploads a folder tree into albums, and re-uploads nothing."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.media import mimetypes
from tests.server_process import REPO_ROOT, ServerProcess

NODE_MODULES = REPO_ROOT / ".tools" / "node" / "node_modules"
NODE = NODE_MODULES / ".bin" / "node"
CLI = NODE_MODULES / "@immich" / "cli" / "bin" / "immich"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli_available() -> None:
    if not (NODE.exists() and CLI.exists()):
        message = "the Immich CLI is not installed: run scripts/setup.sh --test"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data").start()
    yield process
    process.stop()


def immich(config_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IMMICH_CONFIG_DIR": str(config_dir), "PATH": f"{NODE.parent}:{os.environ['PATH']}"}
    return subprocess.run([str(NODE), str(CLI), *args], capture_output=True, text=True, env=env, timeout=600,
                          check=False)


def media_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and mimetypes.asset_type(p.name))


def test_cli_login_upload_albums_and_no_reupload(cli_available: None, server: ServerProcess, test_assets: Path,
                                                 tmp_path: Path) -> None:
    token, key = server.sign_up_admin_with_key()
    config_dir = tmp_path / "immich-config"
    login = immich(config_dir, "login", server.url, key)
    assert login.returncode == 0, login.stdout + login.stderr
    assert "admin@example.com" in login.stdout

    first = immich(config_dir, "upload", "--recursive", "--album", str(test_assets))
    assert first.returncode == 0, first.stdout + first.stderr

    files = media_files(test_assets)
    checksums = {hashlib.sha1(p.read_bytes()).digest() for p in files}
    auth = {"Authorization": f"Bearer {token}"}
    _, stats = server.request("GET", "/api/assets/statistics", headers=auth)
    assert stats["total"] == len(checksums)

    # albums are named after each file's folder, and hold every file of it (duplicates included)
    expected: dict[str, set[bytes]] = defaultdict(set)
    for path in files:
        expected[path.parent.name].add(hashlib.sha1(path.read_bytes()).digest())
    _, albums = server.request("GET", "/api/albums", headers=auth)
    assert {a["albumName"] for a in albums} == set(expected)
    for album in albums:
        _, full = server.request("GET", f"/api/albums/{album['id']}", headers=auth)
        got = {base64.b64decode(a["checksum"]) for a in full["assets"]}
        assert got == expected[album["albumName"]], album["albumName"]

    # every original comes back byte for byte
    _, found = server.request("POST", "/api/search/metadata", {"size": 1000}, headers=auth)
    by_checksum = {hashlib.sha1(p.read_bytes()).digest(): p for p in files}
    for asset in found["assets"]["items"]:
        import urllib.request

        request = urllib.request.Request(f"{server.url}/api/assets/{asset['id']}/original", headers=auth)
        with urllib.request.urlopen(request) as response:
            body = response.read()
        assert body == by_checksum[base64.b64decode(asset["checksum"])].read_bytes()

    second = immich(config_dir, "upload", "--recursive", "--album", str(test_assets))
    assert second.returncode == 0, second.stdout + second.stderr
    _, again = server.request("GET", "/api/assets/statistics", headers=auth)
    assert again["total"] == len(checksums)
    _, albums_again = server.request("GET", "/api/albums", headers=auth)
    assert len(albums_again) == len(albums)

    info = immich(config_dir, "server-info")
    assert info.returncode == 0 and "3.2.2" in info.stdout, info.stdout + info.stderr


def test_cli_refuses_a_key_without_upload_permission(cli_available: None, server: ServerProcess,
                                                     tmp_path: Path) -> None:
    token, _ = server.sign_up_admin_with_key()
    _, limited = server.request("POST", "/api/api-keys", {"name": "ro", "permissions": ["user.read"]},
                                {"Authorization": f"Bearer {token}"})
    config_dir = tmp_path / "cfg"
    assert immich(config_dir, "login", server.url, limited["secret"]).returncode == 0
    upload = immich(config_dir, "upload", str(tmp_path))
    assert upload.returncode != 0
