"""The web app: static files from `web/static/` served from `/`, with the SPA fallback.

Registered after the API routes, so `/api/*` and `/.well-known/immich` always win. Files are read once and
kept in memory with a gzip copy (the whole app is a few dozen KB); every response carries an ETag so a
reload costs a 304. Paths without a file (`/photos`, `/albums/<id>`, `/share/<key>`...) get `index.html`,
and the page's router draws the view.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parent / "static"
TYPES = {
    ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".html": "text/html",
    ".svg": "image/svg+xml", ".json": "application/json", ".webmanifest": "application/manifest+json",
    ".png": "image/png", ".ico": "image/x-icon", ".woff2": "font/woff2",
}
COMPRESSIBLE = {".js", ".mjs", ".css", ".html", ".svg", ".json", ".webmanifest"}
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)
# The page talks to its own origin only; shared-link keys in URLs are not passed on to other sites.
PAGE_HEADERS = {"Referrer-Policy": "same-origin", "X-Frame-Options": "SAMEORIGIN"}
# Files carry no version in their names (no build step), so the browser revalidates each time: cheap 304s.
CACHE = "no-cache"


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str
    headers: dict[str, str]


def content_security_policy(html: bytes) -> str:
    """Scripts from this origin plus the page's own inline scripts by hash; images may be data: (thumbhash)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(block).digest()).decode() + "'"
        for block in INLINE_SCRIPT.findall(html)
    )
    return (f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; "
            "base-uri 'self'; frame-ancestors 'self'")


class StaticSite:
    def __init__(self, root: Path = STATIC_DIR) -> None:
        self.root = root
        self.files: dict[str, StaticFile] = {}
        self.load()

    def load(self) -> None:
        files: dict[str, StaticFile] = {}
        for path in sorted(self.root.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            relative = path.relative_to(self.root).as_posix()
            data = path.read_bytes()
            suffix = path.suffix.lower()
            content_type = TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            gzipped = gzip.compress(data, 9, mtime=0) if suffix in COMPRESSIBLE and len(data) > 512 else None
            etag = '"' + hashlib.sha1(data).hexdigest()[:20] + '"'
            headers = dict(PAGE_HEADERS, **{"Content-Security-Policy": content_security_policy(data)}) \
                if suffix == ".html" else {}
            files[relative] = StaticFile(data, gzipped, content_type, etag, headers)
        self.files = files

    def lookup(self, path: str) -> StaticFile | None:
        relative = path.lstrip("/")
        if not relative or relative.endswith("/") or ".." in relative.split("/"):
            return None
        return self.files.get(relative)

    def respond(self, request: web.Request, item: StaticFile) -> web.Response:
        headers = {"ETag": item.etag, "Cache-Control": CACHE, "Vary": "Accept-Encoding",
                   "X-Content-Type-Options": "nosniff", **item.headers}
        if item.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        body = item.body
        if item.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
            body = item.gzipped
            headers["Content-Encoding"] = "gzip"
        charset = "utf-8" if item.content_type.startswith(("text/", "application/json", "image/svg")) else None
        return web.Response(body=body, headers=headers, content_type=item.content_type, charset=charset)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info.get("tail", "")
        if request.method not in ("GET", "HEAD"):
            raise web.HTTPNotFound()  # the middleware answers Immich's "Cannot POST /api/..." 404
        if ("/" + path).startswith(("/api/", "/.well-known/")) or path in ("api", ".well-known"):
            raise web.HTTPNotFound()
        item = self.lookup(path)
        if item is None:
            if Path(path).suffix.lower() in TYPES and path.startswith(("assets/", "app/")):
                raise web.HTTPNotFound()  # a missing script is an error, not a page
            item = self.files.get("index.html")
            if item is None:
                raise web.HTTPNotFound()
        return self.respond(request, item)


def add_web_routes(app: web.Application, root: Path = STATIC_DIR) -> StaticSite:
    """Register the site last: every GET that no API route took lands here."""
    site = StaticSite(root)
    app.router.add_route("*", "/{tail:.*}", site.handle)
    return site
