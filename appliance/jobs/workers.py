"""A small pool of decode worker processes (appliance/jobs/worker.py), used from asyncio.

Each request goes to an idle worker; a worker that times out or dies is killed and replaced, and the request
fails with a clear reason. Workers are recycled after `max_requests` or when their memory grows past
`max_rss`, so libvips/libheif fragmentation cannot creep up over a long backlog."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

import appliance
from appliance.media.background import background_prefix
from appliance.media.errors import CorruptMedia, MediaError, MediaTooLarge, UnsupportedMedia

log = logging.getLogger(__name__)

# The folder holding the `appliance` package, so workers import the same code as the server.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(appliance.__file__)))

_ERRORS: dict[str, type[MediaError]] = {
    "CorruptMedia": CorruptMedia,
    "MediaTooLarge": MediaTooLarge,
    "UnsupportedMedia": UnsupportedMedia,
}


class WorkerFailed(MediaError):
    """The worker process died or hung on this file (it has been replaced)."""


@dataclass(frozen=True)
class PoolSettings:
    size: int = 2
    timeout: float = 120.0  # per request
    max_requests: int = 500
    max_rss: int = 256 * 1024 * 1024  # recycle above this (the box has 512 MB for everything)
    # RLIMIT_AS per worker (0 = none). A full-frame decode (HEIF/AVIF/JXL have no shrink-on-load; a 20 MP
    # 10-bit AVIF takes ~570 MB in libheif + libaom) then fails as "too large" instead of pushing a 512 MB box
    # into the OOM killer. 768 MiB of address space keeps a worker under ~450 MB resident.
    address_space: int = 768 * 1024 * 1024
    nice: int = 19  # background decoding yields the CPU to the API (uploads, browsing) at once
    startup_timeout: float = 60.0


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.served = 0

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def rss(self) -> int:
        import psutil  # here, not at the top: an idle server has no use for it (about 1 MB resident)

        try:
            return int(psutil.Process(self.process.pid).memory_info().rss)
        except psutil.Error:
            return 0

    async def kill(self) -> None:
        if self.alive:
            self.process.kill()
        with contextlib.suppress(Exception):
            await self.process.wait()


class WorkerPool:
    def __init__(self, settings: PoolSettings | None = None) -> None:
        self.settings = settings or PoolSettings()
        self._idle: asyncio.Queue[_Worker | None] = asyncio.Queue()
        self._all: set[_Worker] = set()
        self._started = False

    async def start(self) -> None:
        if self._started:
            return
        for _ in range(self.settings.size):
            self._idle.put_nowait(None)  # a slot; the process is spawned on first use
        self._started = True

    async def close(self) -> None:
        """Idempotent: kills every worker."""
        for worker in list(self._all):
            await worker.kill()
        self._all.clear()
        self._idle = asyncio.Queue()
        self._started = False

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._all if w.alive]

    async def _spawn(self) -> _Worker:
        env = {**os.environ, "PYTHONPATH": _ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
        env.setdefault("VIPS_BLOCK_UNTRUSTED", "1")
        env.setdefault("MALLOC_ARENA_MAX", "2")  # glibc keeps freed pixel buffers per thread otherwise
        env.pop("VIPS_UNLIMITED", None)
        process = await asyncio.create_subprocess_exec(
            *background_prefix(self.settings.nice),
            sys.executable, "-m", "appliance.jobs.worker", str(self.settings.address_space),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            limit=1024 * 1024,
        )
        worker = _Worker(process)
        self._all.add(worker)
        # Start-up (Python, libvips) is not the file's fault: wait for it apart from the request timeout.
        await self._exchange(worker, {"op": "ping"}, self.settings.startup_timeout)
        worker.served = 0
        return worker

    async def request(self, payload: dict[str, Any], *, time_limit: float | None = None) -> dict[str, Any]:
        """Send one request; MediaError subclasses for decode failures, WorkerFailed for a crash or hang."""
        if not self._started:
            await self.start()
        slot = await self._idle.get()
        worker = slot if slot is not None and slot.alive else None
        try:
            if worker is None:
                worker = await self._spawn()
            answer = await self._exchange(worker, payload, time_limit or self.settings.timeout)
        except BaseException:
            if worker is not None:
                await worker.kill()
                self._all.discard(worker)
            self._idle.put_nowait(None)
            raise
        self._idle.put_nowait(await self._maybe_recycle(worker))
        if not answer.get("ok"):
            raise _ERRORS.get(str(answer.get("kind")), MediaError)(str(answer.get("error")))
        return answer

    async def _exchange(self, worker: _Worker, payload: dict[str, Any], time_limit: float) -> dict[str, Any]:
        assert worker.process.stdin is not None and worker.process.stdout is not None
        worker.process.stdin.write((json.dumps(payload) + "\n").encode())
        try:
            await worker.process.stdin.drain()
            line = await asyncio.wait_for(worker.process.stdout.readline(), time_limit)
        except TimeoutError as err:
            raise WorkerFailed(f"decoder timed out after {time_limit:.0f}s; worker killed") from err
        except ConnectionError as err:
            raise WorkerFailed("decoder process died") from err
        if not line:
            await worker.process.wait()
            raise WorkerFailed(f"decoder process died (exit {worker.process.returncode})")
        worker.served += 1
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def _maybe_recycle(self, worker: _Worker) -> _Worker | None:
        if worker.served >= self.settings.max_requests or worker.rss() > self.settings.max_rss:
            log.info("recycling decode worker %d after %d requests", worker.process.pid, worker.served)
            await worker.kill()
            self._all.discard(worker)
            return None
        return worker
