"""The live channel as the mobile app uses it: a socket.io client on /api/socket.io over websocket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient

from appliance.services import Services
from tests.api.conftest import Caller, jpeg_bytes, upload
from tests.contract import assert_matches

EVENTS = ("on_server_version", "on_upload_success", "on_asset_delete", "on_asset_trash", "on_asset_restore",
          "on_asset_update", "AssetUploadReadyV1")


class Listener:
    """A socket.io client that queues what it hears, by event name."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.heard: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        for name in EVENTS:
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[[Any], Awaitable[None]]:
        async def record(data: Any) -> None:
            await self.heard.put((name, data))

        return record

    async def next(self, name: str) -> Any:
        """The next message of that event (others heard meanwhile are dropped)."""
        while True:
            event, data = await asyncio.wait_for(self.heard.get(), timeout=10)
            if event == name:
                return data


@pytest.fixture
async def listen(client: TestClient) -> AsyncIterator[Callable[[dict[str, str]], Awaitable[Listener]]]:
    listeners: list[Listener] = []

    async def connect(headers: dict[str, str]) -> Listener:
        listener = Listener()
        await listener.sio.connect(str(client.make_url("/")), headers=headers, transports=["websocket"],
                                   socketio_path="/api/socket.io", wait_timeout=10)
        listeners.append(listener)
        return listener

    yield connect
    for listener in listeners:
        await listener.sio.disconnect()


async def test_a_connection_hears_the_server_version_first(
    listen: Callable[[dict[str, str]], Awaitable[Listener]], alice: Caller
) -> None:
    listener = await listen({"x-immich-user-token": alice.token})
    version = await listener.next("on_server_version")
    assert_matches("ServerVersionResponseDto", version)


async def test_upload_then_delete_reach_the_owner_only(
    client: TestClient, listen: Callable[[dict[str, str]], Awaitable[Listener]], alice: Caller, bob: Caller
) -> None:
    mine = await listen({"x-immich-user-token": alice.token})
    theirs = await listen(bob.headers)
    status, created = await upload(client, alice, jpeg_bytes(1), "live.jpg")
    assert status == 201
    uploaded = await mine.next("on_upload_success")
    assert uploaded["id"] == created["id"]
    assert_matches("AssetResponseDto", uploaded)

    await client.delete("/api/assets", json={"ids": [created["id"]]}, headers=alice.headers)
    assert await mine.next("on_asset_trash") == [created["id"]]
    await client.post("/api/trash/restore/assets", json={"ids": [created["id"]]}, headers=alice.headers)
    assert await mine.next("on_asset_restore") == [created["id"]]
    await client.delete("/api/assets", json={"ids": [created["id"]], "force": True}, headers=alice.headers)
    assert await mine.next("on_asset_delete") == created["id"]
    assert theirs.heard.qsize() == 1  # bob heard only his own on_server_version


async def test_thumbnails_ready_sends_the_asset_and_its_exif(
    client: TestClient, listen: Callable[[dict[str, str]], Awaitable[Listener]], alice: Caller,
    services: Services,
) -> None:
    listener = await listen({"x-api-key": alice.api_key})
    status, created = await upload(client, alice, jpeg_bytes(2), "ready.jpg")
    services.events.notify_asset_ready(alice.id, created["id"])
    payload = await listener.next("AssetUploadReadyV1")
    assert_matches("SyncAssetV1", payload["asset"])
    assert_matches("SyncAssetExifV1", payload["exif"])
    assert payload["asset"]["id"] == created["id"]


async def test_a_connection_without_credentials_is_refused(client: TestClient) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(str(client.make_url("/")), transports=["websocket"], socketio_path="/api/socket.io",
                          wait_timeout=5)


async def test_server_shutdown_closes_live_connections(client: TestClient, alice: Caller) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    gone = asyncio.Event()
    sio.on("disconnect", gone.set)
    await sio.connect(str(client.make_url("/")), headers=alice.headers, transports=["websocket"],
                      socketio_path="/api/socket.io", wait_timeout=10)
    await client.close()
    await asyncio.wait_for(gone.wait(), timeout=10)
