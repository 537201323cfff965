"""Shared links: an album or a handful of assets opened to anyone holding a key (or slug).

A link's key is 50 random bytes written base64url, as Immich does. It is kept as is (not hashed) because
the owner's `GET /shared-links` shows it again; 400 random bits cannot be guessed. A password-protected
link additionally needs the `immich_shared_link_token` cookie from `POST /shared-links/login` for
`/shared-links/me`, as in Immich.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from appliance.clock import Clock, iso, parse_iso
from appliance.errors import BadRequest, Forbidden, Unauthorized
from appliance.ids import new_id, uuid7
from appliance.library.access import DOWNLOAD, READ, SHARE, VIEW, AccessService
from appliance.library.context import AuthContext
from appliance.storage.albums import AlbumRepository
from appliance.storage.db import Database
from appliance.storage.sharing import SharedLinkRecord, SharedLinkRepository
from appliance.storage.users import UserRepository

TOKEN_COOKIE = "immich_shared_link_token"


def link_token(link: SharedLinkRecord) -> str:
    """What the login cookie holds: a hash of the link id and its password."""
    return base64.b64encode(hashlib.sha256(f"{link.id}-{link.password}".encode()).digest()).decode()


@dataclass
class SharedLinkAccess:
    """The `AuthContext.shared_link` of a request made with a link's key: what the link lets it do."""

    link: SharedLinkRecord
    links: SharedLinkRepository
    albums: AlbumRepository
    db: Database
    clock: Clock
    locked: bool = False  # a password link opened without its login token shows nothing but /shared-links/me

    @property
    def id(self) -> str:
        return self.link.id

    async def allowed_asset_ids(self, ids: list[str], action: str) -> set[str]:
        if self.locked or (action == DOWNLOAD and not self.link.allow_download):
            return set()
        if action not in (READ, VIEW, DOWNLOAD, SHARE):
            return set()
        return await self.links.visible_subset(self.link, ids)

    async def album_role(self, album_id: str) -> str | None:
        if self.locked or self.link.album_id != album_id:
            return None
        return "editor" if self.link.allow_upload else "viewer"

    async def upload_owner(self) -> str:
        if self.locked or not self.link.allow_upload:
            raise Forbidden("Forbidden")
        return self.link.user_id

    async def add_uploaded(self, asset_id: str) -> None:
        now = iso(self.clock())
        async with self.db.transaction() as conn:
            if self.link.album_id:
                await self.albums.add_assets(conn, self.link.album_id, [asset_id], now, uuid7())
            else:
                await self.links.add_assets(conn, self.link.id, [asset_id])


class SharedLinkService:
    def __init__(
        self, db: Database, links: SharedLinkRepository, albums: AlbumRepository, users: UserRepository,
        access: AccessService, clock: Clock,
    ) -> None:
        self.db = db
        self.links = links
        self.albums = albums
        self.users = users
        self.access = access
        self.clock = clock

    # --- the AuthService hook -------------------------------------------------------------------
    async def authenticate(self, key: str | None, slug: str | None, token: str | None = None) -> AuthContext:
        link = await self.links.by_key(key) if key else await self.links.by_slug(slug or "")
        message = "Invalid share key" if key else "Invalid share slug"
        if link is None or (link.expires_at and parse_iso(link.expires_at) <= self.clock()):
            raise Unauthorized(message)
        owner = await self.users.get(link.user_id)
        if owner is None:
            raise Unauthorized(message)
        locked = bool(link.password) and token != link_token(link)
        access = SharedLinkAccess(link, self.links, self.albums, self.db, self.clock, locked)
        return AuthContext(user=owner, shared_link=access)

    # --- owner operations -----------------------------------------------------------------------
    async def _own(self, context: AuthContext, link_id: str) -> SharedLinkRecord:
        link = await self.links.get(link_id)
        if link is None or link.user_id != context.user_id:
            raise BadRequest("Shared link not found")
        return link

    async def list_links(
        self, context: AuthContext, album_id: str | None, link_id: str | None
    ) -> list[SharedLinkRecord]:
        return await self.links.list_for_user(context.user_id, album_id=album_id, link_id=link_id)

    async def get(self, context: AuthContext, link_id: str) -> SharedLinkRecord:
        return await self._own(context, link_id)

    async def create(self, context: AuthContext, dto: dict[str, Any]) -> SharedLinkRecord:
        asset_ids: list[str] = []
        if dto["type"] == "ALBUM":
            if not dto.get("albumId"):
                raise BadRequest("Invalid albumId")
            if await self.access.album_role(context, dto["albumId"]) != "owner":
                raise BadRequest("Not found or no album.share access")
        else:
            asset_ids = list(dict.fromkeys(dto.get("assetIds") or []))
            if not asset_ids:
                raise BadRequest("Invalid assetIds")
            allowed = await self.access.asset_ids(context, asset_ids, SHARE)
            if any(i not in allowed for i in asset_ids):
                raise BadRequest("Not found or no asset.share access")
        slug = dto.get("slug") or None
        if slug and await self.links.slug_taken(slug):
            raise BadRequest("Failed to save shared link")
        show_metadata = dto.get("showMetadata")
        link = SharedLinkRecord(
            id=new_id(), user_id=context.user_id,
            key=base64.urlsafe_b64encode(secrets.token_bytes(50)).decode().rstrip("="),
            slug=slug, type=dto["type"], album_id=dto.get("albumId") if dto["type"] == "ALBUM" else None,
            description=dto.get("description") or None, password=dto.get("password") or None,
            expires_at=iso(parse_iso(dto["expiresAt"])) if dto.get("expiresAt") else None,
            allow_upload=int(dto.get("allowUpload", True) is not False),
            allow_download=int(False if show_metadata is False else dto.get("allowDownload", True) is not False),
            show_metadata=int(show_metadata is not False), created_at=iso(self.clock()),
        )
        async with self.db.transaction() as conn:
            await self.links.insert(conn, link, asset_ids)
        return link

    async def update(self, context: AuthContext, link_id: str, dto: dict[str, Any]) -> SharedLinkRecord:
        await self._own(context, link_id)
        values: dict[str, Any] = {}
        for field, column in (("description", "description"), ("password", "password")):
            if field in dto:
                values[column] = dto[field] or None
        if "expiresAt" in dto or dto.get("changeExpiryTime"):
            values["expires_at"] = iso(parse_iso(dto["expiresAt"])) if dto.get("expiresAt") else None
        for field, column in (("allowUpload", "allow_upload"), ("allowDownload", "allow_download"),
                              ("showMetadata", "show_metadata")):
            if dto.get(field) is not None:
                values[column] = int(bool(dto[field]))
        if "slug" in dto:
            slug = dto["slug"] or None
            if slug and await self.links.slug_taken(slug, except_id=link_id):
                raise BadRequest("Failed to save shared link")
            values["slug"] = slug
        async with self.db.transaction() as conn:
            await self.links.update(conn, link_id, values)
        return await self._own(context, link_id)

    async def remove(self, context: AuthContext, link_id: str) -> None:
        await self._own(context, link_id)
        await self.links.delete(link_id)

    async def add_assets(self, context: AuthContext, link_id: str, ids: list[str]) -> list[dict[str, Any]]:
        link = await self._own(context, link_id)
        if link.type != "INDIVIDUAL":
            raise BadRequest("Invalid shared link type")
        existing = set(await self.links.asset_ids(link_id))
        allowed = await self.access.asset_ids(context, [i for i in ids if i not in existing], SHARE)
        results: list[dict[str, Any]] = []
        chosen: list[str] = []
        for asset_id in ids:
            if asset_id in existing or asset_id in chosen:
                results.append({"assetId": asset_id, "success": False, "error": "duplicate"})
            elif asset_id not in allowed:
                results.append({"assetId": asset_id, "success": False, "error": "no_permission"})
            else:
                results.append({"assetId": asset_id, "success": True})
                chosen.append(asset_id)
        async with self.db.transaction() as conn:
            await self.links.add_assets(conn, link_id, chosen)
        return results

    async def remove_assets(self, context: AuthContext, link_id: str, ids: list[str]) -> list[dict[str, Any]]:
        link = await self._own(context, link_id)
        if link.type != "INDIVIDUAL":
            raise BadRequest("Invalid shared link type")
        existing = set(await self.links.asset_ids(link_id))
        results = [
            {"assetId": i, "success": True} if i in existing else {"assetId": i, "success": False, "error": "not_found"}
            for i in ids
        ]
        async with self.db.transaction() as conn:
            await self.links.remove_assets(conn, link_id, [i for i in ids if i in existing])
        return results

    # --- the link's own view --------------------------------------------------------------------
    def _current(self, context: AuthContext) -> SharedLinkRecord:
        if not isinstance(context.shared_link, SharedLinkAccess):
            raise Forbidden("Forbidden")
        return context.shared_link.link

    async def mine(self, context: AuthContext, tokens: list[str], password: str | None) -> SharedLinkRecord:
        link = self._current(context)
        if link.password and link_token(link) not in tokens and password != link.password:
            raise Unauthorized("Password required")
        context.shared_link.locked = False  # the password was given with this request
        return link

    async def login(self, context: AuthContext, password: str) -> tuple[SharedLinkRecord, str]:
        link = self._current(context)
        if not link.password:
            raise BadRequest("Shared link is not password protected")
        if password != link.password:
            raise Unauthorized("Invalid password")
        context.shared_link.locked = False
        return link, link_token(link)

    async def shown_asset_ids(self, link: SharedLinkRecord) -> list[str]:
        """The assets a link response lists: an individual link's own; none for an album link (it has `album`)."""
        if link.album_id:
            return []
        return await self.links.asset_ids(link.id)
