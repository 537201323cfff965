"""Home Assistant's Immich integration, through the real `aioimmich` library against a real server."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from aioimmich import Immich
from aioimmich.exceptions import ImmichError

from tests.api.browsing import make_album, photo, send_json
from tests.api.conftest import Caller, jpeg_bytes, upload


async def _immich(client: TestClient, session: aiohttp.ClientSession, caller: Caller) -> Immich:
    server = client.server
    immich = Immich(session, caller.api_key, str(server.host), int(server.port or 0), use_ssl=False)
    await immich.async_setup()
    return immich


async def test_home_assistant_coordinator_and_media_browser(client: TestClient, admin: Caller, alice: Caller) -> None:
    favourite = await photo(client, admin, "2024-03-01T10:00:00.000Z", favorite=True)
    plain = await photo(client, admin, "2024-03-02T10:00:00.000Z")
    status, video = await upload(client, admin, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "clip.mp4")
    assert status == 201, video
    album = await make_album(client, admin, [favourite, plain], name="Garden")
    tag = (await send_json(client, "PUT", "/api/tags", admin, {"tags": ["Flowers"]}))[0]
    await send_json(client, "PUT", f"/api/tags/{tag['id']}/assets", admin, {"ids": [plain]})

    async with aiohttp.ClientSession() as session:
        immich = await _immich(client, session, admin)
        # the coordinator, every minute
        about = await immich.server.async_get_about_info()
        assert about.version == "v3.2.2"
        storage = await immich.server.async_get_storage_info()
        assert storage.disk_size_raw > 0
        statistics = await immich.server.async_get_server_statistics()
        assert statistics.photos == 2 and statistics.videos == 1
        check = await immich.server.async_get_version_check()
        assert check.release_version is None
        me = await immich.users.async_get_my_user()
        assert me.user_id == admin.id and me.is_admin is True

        # the media browser
        albums = await immich.albums.async_get_all_albums()
        assert [a.album_name for a in albums] == ["Garden"]
        info = await immich.albums.async_get_album_info(album)
        assert info.asset_count == 2
        in_album = await immich.search.async_get_all_by_album_ids([album])
        assert {a.asset_id for a in in_album} == {favourite, plain}
        favourites = await immich.search.async_get_all_favorites()
        assert [a.asset_id for a in favourites] == [favourite]
        everything = await immich.search.async_get_all()
        assert len(everything) == 3
        tags = await immich.tags.async_get_all_tags()
        assert [t.name for t in tags] == ["Flowers"]
        assert (await immich.tags.async_get_tag_by_id(tag["id"])).value == "Flowers"
        tagged = await immich.search.async_get_all_by_tag_ids([tag["id"]])
        assert [a.asset_id for a in tagged] == [plain]
        assert await immich.people.async_get_all_people() == []
        assert await immich.people.async_get_people_count() == 0
        assert await immich.search.async_search_persons("Ann") == []
        with pytest.raises(ImmichError):
            await immich.people.async_get_person_by_id("00000000-0000-4000-8000-000000000001")
        # HA turns a failed smart search into an empty result
        with pytest.raises(ImmichError):
            await immich.search.async_smart_search("flowers")

        # files: HA's thumbnails (a 404 until the media jobs made one) and full-size view, video stream
        original = await immich.assets.async_view_asset(plain, "fullsize")
        assert original == (await (await client.get(f"/api/assets/{plain}/original", headers=admin.headers)).read())
        stream = await immich.assets.async_play_video_stream(video["id"])
        assert (await stream.read()).startswith(b"\x00\x00\x00\x18ftyp")


async def test_home_assistant_upload_service(client: TestClient, alice: Caller, tmp_path: Path) -> None:
    album = await make_album(client, alice, [], name="From HA")
    picture = tmp_path / "doorbell.jpg"
    picture.write_bytes(jpeg_bytes(4242))
    async with aiohttp.ClientSession() as session:
        immich = await _immich(client, session, alice)
        uploaded = await immich.assets.async_upload_asset(str(picture))
        assert uploaded.status == "created"
        again = await immich.assets.async_upload_asset(str(picture))
        assert again.status == "duplicate" and again.asset_id == uploaded.asset_id
        results = await immich.albums.async_add_assets_to_album(album, [uploaded.asset_id])
        assert [r.success for r in results] == [True]
        assert (await immich.albums.async_get_album_info(album)).asset_count == 1


async def test_a_non_admin_key_gets_forbidden_statistics(client: TestClient, alice: Caller) -> None:
    from aioimmich.exceptions import ImmichForbiddenError

    async with aiohttp.ClientSession() as session:
        immich = await _immich(client, session, alice)
        with pytest.raises(ImmichForbiddenError):
            await immich.server.async_get_server_statistics()
