"""What happened to whose assets, told to whoever listens (the socket.io channel), after the fact.

Services publish plain facts: "uploaded", "trashed", "ready" (thumbnails done; the media job calls
`notify_asset_ready`). Subscribers are coroutines run as tasks, so a slow or failing listener never
delays or breaks the write that caused the event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

# event names
UPLOADED = "upload"      # one asset created (its ids: [asset_id])
UPDATED = "update"
TRASHED = "trash"
RESTORED = "restore"
DELETED = "delete"       # permanently
READY = "ready"          # thumbnails generated


@dataclass(frozen=True)
class AssetEvent:
    name: str
    owner_id: str
    asset_ids: tuple[str, ...]


Subscriber = Callable[[AssetEvent], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def publish(self, event: AssetEvent) -> None:
        """Run every subscriber on the event in the background; a no-op outside an event loop."""
        if not self._subscribers:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        for subscriber in self._subscribers:
            task = loop.create_task(self._run(subscriber, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _run(subscriber: Subscriber, event: AssetEvent) -> None:
        try:
            await subscriber(event)
        except Exception:
            log.exception("event listener failed on %s", event.name)

    async def drain(self) -> None:
        """Wait for the listeners already started (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- hooks for the services ------------------------------------------------------------------
    def on_ingest(self, owner_id: str, asset_id: str) -> None:
        """IngestService.listeners signature."""
        self.publish(AssetEvent(UPLOADED, owner_id, (asset_id,)))

    def on_assets(self, name: str, owner_id: str, asset_ids: list[str]) -> None:
        """AssetService.listeners signature: name is update | trash | restore | delete."""
        self.publish(AssetEvent(name, owner_id, tuple(asset_ids)))

    def notify_asset_ready(self, owner_id: str, asset_id: str) -> None:
        """Called when an asset's thumbnails are ready: the app then shows it without a re-sync."""
        self.publish(AssetEvent(READY, owner_id, (asset_id,)))
