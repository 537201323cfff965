"""gzip for large JSON answers, as Immich's server compresses its responses when the client accepts it.

A month of the timeline at 100k assets is ~90 KB of JSON (the web app's first screen asks for several), at
1M up to ~900 KB; a search page of 250 assets ~300 KB; UUIDs, dates and repeated keys shrink ~4x. Level 1:
most of the gain for a fraction of the CPU. Compressed with ISA-L (`isal`, the same gzip format) where it is
installed, ~5x faster than zlib at the same size (an 880 KB month in ~1.5 ms here, ~8 ms with zlib): every
JSON answer up to `MAX_BYTES` goes gzipped, as from Immich. With zlib only (a platform without an isal
wheel) bodies past 512 KB go as they are: zlib's ~8 ms here (~4x that on a Raspberry Pi) would push the
timeline past its 25 ms goal; on gigabit Ethernet raw bytes cost ~7 ms, on slow Wi-Fi gzip would pay.
Bodies past `THREAD_BYTES` are compressed on a worker thread (both let go of the interpreter), so other
requests keep being answered. The compressor is `appliance.gz`'s, shared with the timeline's month cache, which
keeps months gzipped and hands them over as they are (`gzipped`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from appliance.gz import FAST, gzip_bytes

MAX_BYTES = 16 * 1024 * 1024 if FAST else 512 * 1024
MIN_BYTES = 1024          # Immich's (Express `compression`) threshold
THREAD_BYTES = 256 * 1024


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
    return gzipped(response, packed)


def gzipped(response: web.Response, packed: bytes) -> web.Response:
    """`response` carrying `packed`, the gzip of its JSON (the timeline's months are kept gzipped and given
    so, not compressed again)."""
    response.body = packed
    response.headers["Content-Encoding"] = "gzip"
    response.headers.add("Vary", "Accept-Encoding")
    return response
