"""Live import progress for whoever listens (the SSE endpoint, systemd STATUS=, logs): a small in-process
publish/subscribe hub. Slow listeners lose old events rather than slowing the import down."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

Event = dict[str, Any]


class ImportEvents:
    def __init__(self, queue_size: int = 256) -> None:
        self._queues: set[asyncio.Queue[Event]] = set()
        self._queue_size = queue_size
        self.listeners: list[Callable[[Event], None]] = []  # called synchronously, e.g. sd_notify STATUS=

    def publish(self, event: Event) -> None:
        for queue in list(self._queues):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)
        for listener in self.listeners:
            listener(event)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._queues)
