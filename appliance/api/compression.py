"""gzip for large JSON answers, as Immich's server compresses its responses when the client accepts it.

A month of the timeline at 100k assets is ~90 KB of JSON (the web app's first screen asks for several), a
search page of 250 assets ~300 KB; UUIDs, dates and repeated keys shrink 4-6x. Level 1: most of the gain for
a fraction of the CPU a Raspberry Pi would spend at the default level. Bodies past `THREAD_BYTES` are
compressed on a worker thread (zlib lets go of the interpreter), so other requests keep being answered.
Bodies past `MAX_BYTES` (a month of several thousand photos, ~850 KB, 4x smaller gzipped: UUIDs and
thumbhashes are random) go as they are: gzip would add ~4 ms of CPU here and ~4x that on a Raspberry Pi,
pushing the timeline past its 25 ms goal. The trade-off is honest both ways: on gigabit Ethernet the raw
bytes take ~7 ms to send, on slow Wi-Fi gzip would have paid for itself.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable

from aiohttp import web

MIN_BYTES = 1024          # Immich's (Express `compression`) threshold
THREAD_BYTES = 256 * 1024
MAX_BYTES = 512 * 1024
LEVEL = 1


def accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            quality = params.strip().lower()
            return not (quality.startswith("q=") and _zero(quality[2:]))
    return False


def _zero(value: str) -> bool:
    try:
        return float(value) == 0
    except ValueError:
        return False


def gzip_bytes(data: bytes) -> bytes:
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@web.middleware
async def gzip_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    if (
        type(response) is not web.Response
        or response.content_type != "application/json"
        or "Content-Encoding" in response.headers
        or not accepts_gzip(request.headers.get("Accept-Encoding", ""))
    ):
        return response
    body = response.body
    if not isinstance(body, bytes) or not MIN_BYTES <= len(body) <= MAX_BYTES:
        return response
    packed = await asyncio.to_thread(gzip_bytes, body) if len(body) >= THREAD_BYTES else gzip_bytes(body)
    response.body = packed
    response.headers["Content-Encoding"] = "gzip"
    response.headers.add("Vary", "Accept-Encoding")
    return response
