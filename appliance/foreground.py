"""API requests first: background work waits for a quiet moment before it touches the database.

Measured (bench/latency, with a per-request split of the server's time): under a thumbnail backlog and a
transcode, the requests that did NOT overlap with the job runner's database work (claims, result commits,
job-table reads; ~15 a second) were as fast as on an idle server, and the ~10% that did overlap were 2-3x
slower at p95, because the reader/writer threads, their GIL hand-offs and the loop's callbacks for the job's
statements queued beside the request's own. Those 10% made the loaded p95.

So a background task (the job runner marks its tasks with `mark_background()`) waits, before each database
operation, until no API request that started within the last `max_wait` seconds is in flight, and never
longer than `max_wait` per operation. Background work never stops: under constant traffic each operation is
held back by `max_wait` at most, and a long request (an upload, a download, a websocket) holds it back only
during its first `max_wait`. A finished request counts as in flight for `linger` more seconds, while aiohttp
writes the response (a thumbnail's file is opened and sent after the handler returns).

Nothing here changes what is written or when it becomes durable: a job's transaction is the same
transaction, begun a few milliseconds later.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import time
from collections.abc import Callable, Iterator

_background: contextvars.ContextVar[bool] = contextvars.ContextVar("shoebox_background", default=False)


def mark_background() -> None:
    """The current task (and the tasks it creates from now on) do background work."""
    _background.set(True)


def in_background() -> bool:
    return _background.get()


class ForegroundGate:
    def __init__(
        self, *, max_wait: float = 0.025, linger: float = 0.003, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_wait = max_wait
        self.linger = linger
        self.clock = clock
        self._inflight: dict[int, float] = {}  # token → start time
        self._tokens = itertools.count()
        self._changed: asyncio.Event | None = None
        self.delayed = 0  # background operations that waited, and for how long in all (for diagnostics)
        self.delay_total = 0.0

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        """Around an API request's handler."""
        token = next(self._tokens)
        self._inflight[token] = self.clock()
        try:
            yield
        finally:
            if self.linger > 0:
                try:
                    asyncio.get_running_loop().call_later(self.linger, self._finish, token)
                except RuntimeError:
                    self._finish(token)
            else:
                self._finish(token)

    def _finish(self, token: int) -> None:
        self._inflight.pop(token, None)
        if self._changed is not None:
            self._changed.set()

    def _quiet_at(self, now: float) -> float:
        """When the requests in flight stop counting (all aged past `max_wait`), if none finishes before."""
        fresh = [started for started in self._inflight.values() if now - started < self.max_wait]
        return max(fresh) + self.max_wait if fresh else now

    async def yield_to_requests(self) -> None:
        """For background tasks: return once no fresh request is in flight, or after `max_wait`."""
        if not self._inflight or not _background.get():
            return
        start = now = self.clock()
        deadline = start + self.max_wait
        while now < deadline and (quiet_at := self._quiet_at(now)) > now:
            if self._changed is None:
                self._changed = asyncio.Event()
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(deadline, quiet_at) - now)
            now = self.clock()
        if now > start:
            self.delayed += 1
            self.delay_total += now - start
