"""gzip for large JSON answers, as Immich's server compresses its responses when the client accepts it.

A month of the timeline at 100k assets is ~90 KB of JSON (the web app's first screen asks for several), at
1M up to ~900 KB; a search page of 250 assets ~300 KB; UUIDs, dates and repeated keys shrink ~4x. Level 1:
most of the gain for a fraction of the CPU. Compressed with ISA-L (`isal`, the same gzip format) where it is
installed, ~5x faster than zlib at the same size (an 880 KB month in ~1.5 ms here, ~8 ms with zlib): every
JSON answer up to `MAX_BYTES` goes gzipped, as from Immich. With zlib only (a platform without an isal
wheel) bodies past 512 KB go as they are: zlib's ~8 ms here (~4x that on a Raspberry Pi) would push the
timeline past its 25 ms goal; on gigabit Ethernet raw bytes cost ~7 ms, on slow Wi-Fi gzip would pay.
Bodies past `THREAD_BYTES` are compressed on a worker thread (both let go of the interpreter), so other
requests keep being answered.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

_deflate: Any
try:
    from isal import isal_zlib as _deflate
    MAX_BYTES = 16 * 1024 * 1024
except ImportError:  # pragma: no cover - isal has wheels for x86-64 and aarch64
    _deflate = zlib
    MAX_BYTES = 512 * 1024

MIN_BYTES = 1024          # Immich's (Express `compression`) threshold
MEMO_BYTES = 8 * 1024 * 1024
THREAD_BYTES = 256 * 1024
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
    compressor = _deflate.compressobj(LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


# A handler that answers with the same bytes object again (a month of the timeline kept in memory) marks its
# response so; the gzip of such a body is kept (by the body's identity, the body held so the identity is not
# reused) for the next time, up to MEMO_BYTES of bodies and their gzip, least recently used out.
REUSED: web.ResponseKey[bool] = web.ResponseKey("reused_body", bool)
_memo: OrderedDict[int, tuple[bytes, bytes]] = OrderedDict()
_memo_bytes = [0]


def _remember(body: bytes, packed: bytes) -> None:
    _memo[id(body)] = (body, packed)
    _memo_bytes[0] += len(body) + len(packed)
    while _memo_bytes[0] > MEMO_BYTES and _memo:
        _, (old, old_packed) = _memo.popitem(last=False)
        _memo_bytes[0] -= len(old) + len(old_packed)


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
    reused = response.get(REUSED, False)
    known = _memo.get(id(body)) if reused else None
    if known is not None and known[0] is body:
        _memo.move_to_end(id(body))
        packed = known[1]
    else:
        packed = await asyncio.to_thread(gzip_bytes, body) if len(body) >= THREAD_BYTES else gzip_bytes(body)
        if reused and len(body) + len(packed) <= MEMO_BYTES // 4:
            _remember(body, packed)
    response.body = packed
    response.headers["Content-Encoding"] = "gzip"
    response.headers.add("Vary", "Accept-Encoding")
    return response
