"""Albums: creating, sharing and filling them. Owners do everything; editors add and remove assets;
viewers look."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from appliance.clock import Clock, iso
from appliance.errors import BadRequest
from appliance.ids import new_id, uuid7
from appliance.library.access import SHARE, AccessService
from appliance.library.context import AuthContext
from appliance.storage.albums import AlbumRepository
from appliance.storage.db import Database
from appliance.storage.records import AlbumRecord, AlbumUserRecord, UserRecord
from appliance.storage.users import UserRepository


@dataclass
class AlbumView:
    album: AlbumRecord
    owner: UserRecord
    members: list[tuple[UserRecord, str]]
    asset_count: int
    start_date: str | None
    end_date: str | None
    last_modified: str | None
    has_shared_link: bool = False
    asset_ids: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def shared(self) -> bool:
        return bool(self.members) or self.has_shared_link


class AlbumService:
    def __init__(
        self, db: Database, albums: AlbumRepository, users: UserRepository, access: AccessService, clock: Clock
    ) -> None:
        self.db = db
        self.albums = albums
        self.users = users
        self.access = access
        self.clock = clock

    async def _views(self, albums: list[AlbumRecord], *, with_assets: bool = False) -> list[AlbumView]:
        ids = [album.id for album in albums]
        stats = await self.albums.stats(ids)
        members = await self.albums.users(ids)
        linked = await self.albums.with_shared_links(ids)
        user_cache: dict[str, UserRecord | None] = {}

        async def user(user_id: str) -> UserRecord | None:
            if user_id not in user_cache:
                user_cache[user_id] = await self.users.get(user_id, with_deleted=True)
            return user_cache[user_id]

        views = []
        for album in albums:
            owner = await user(album.owner_id)
            if owner is None:
                continue
            member_pairs = [(u, m.role) for m in members.get(album.id, []) if (u := await user(m.user_id))]
            stat = stats.get(album.id, {})
            views.append(
                AlbumView(
                    album=album, owner=owner, members=member_pairs,
                    asset_count=int(stat.get("asset_count", 0)),
                    start_date=stat.get("start_date"), end_date=stat.get("end_date"),
                    last_modified=stat.get("last_modified"),
                    has_shared_link=album.id in linked,
                    asset_ids=await self.albums.asset_ids(album.id) if with_assets else None,
                )
            )
        return views

    async def list_albums(self, context: AuthContext, *, asset_id: str | None, shared: bool | None) -> list[AlbumView]:
        albums = await self.albums.list_visible(context.user_id)
        if asset_id:
            containing = set(await self.albums.ids_containing(asset_id))
            albums = [album for album in albums if album.id in containing]
        views = await self._views(albums)
        if shared is True:
            views = [v for v in views if v.shared]
        elif shared is False:
            views = [v for v in views if v.album.owner_id == context.user_id and not v.shared]
        return views

    async def get(self, context: AuthContext, album_id: str, *, with_assets: bool = False) -> AlbumView:
        await self._role(context, album_id, "read")
        album = await self.albums.get(album_id)
        assert album is not None
        return (await self._views([album], with_assets=with_assets))[0]

    async def _role(self, context: AuthContext, album_id: str, action: str, *, need: tuple[str, ...] = ()) -> str:
        role = await self.access.album_role(context, album_id)
        if role is None or (need and role not in need):
            raise BadRequest(f"Not found or no album.{action} access")
        return role

    async def create(self, context: AuthContext, dto: dict[str, Any]) -> AlbumView:
        now = iso(self.clock())
        album = AlbumRecord(
            id=new_id(), owner_id=context.user_id, name=dto["albumName"], description=dto.get("description") or "",
            thumbnail_asset_id=None, is_activity_enabled=1, sort_order="desc", created_at=now, updated_at=now,
            deleted_at=None, update_id=uuid7(), create_id=uuid7(),
        )
        asset_ids = list(dict.fromkeys(dto.get("assetIds") or []))
        allowed = await self.access.asset_ids(context, asset_ids, SHARE)
        members = dto.get("albumUsers") or []
        for member in members:
            if member["userId"] == context.user_id:
                raise BadRequest("Cannot share album with owner")
            if await self.users.get(member["userId"]) is None:
                raise BadRequest("User not found")
        async with self.db.transaction() as conn:
            await self.albums.insert(conn, album)
            chosen = [i for i in asset_ids if i in allowed]
            await self.albums.add_assets(conn, album.id, chosen, now, uuid7())
            if chosen:
                await self.albums.update(conn, album.id, {"thumbnail_asset_id": chosen[0]})
            for member in members:
                await self.albums.upsert_user(
                    conn, AlbumUserRecord(album.id, member["userId"], member.get("role") or "editor", now, uuid7())
                )
        return await self.get(context, album.id)

    async def update(self, context: AuthContext, album_id: str, dto: dict[str, Any]) -> AlbumView:
        await self._role(context, album_id, "update", need=("owner",))
        values: dict[str, Any] = {}
        if dto.get("albumName") is not None:
            values["name"] = dto["albumName"]
        if "description" in dto and dto["description"] is not None:
            values["description"] = dto["description"]
        if dto.get("isActivityEnabled") is not None:
            values["is_activity_enabled"] = int(bool(dto["isActivityEnabled"]))
        if dto.get("order") is not None:
            values["sort_order"] = dto["order"]
        if dto.get("albumThumbnailAssetId"):
            thumb = dto["albumThumbnailAssetId"]
            if thumb not in await self.albums.existing_members(album_id, [thumb]):
                raise BadRequest("Invalid album thumbnail")
            values["thumbnail_asset_id"] = thumb
        if values:
            values.update(updated_at=iso(self.clock()), update_id=uuid7())
            async with self.db.transaction() as conn:
                await self.albums.update(conn, album_id, values)
        return await self.get(context, album_id)

    async def delete(self, context: AuthContext, album_id: str) -> None:
        await self._role(context, album_id, "delete", need=("owner",))
        now = iso(self.clock())
        members = (await self.albums.users([album_id]))[album_id]
        async with self.db.transaction() as conn:
            await self.albums.audit_album_gone(conn, album_id, [context.user_id, *[m.user_id for m in members]], now)
            await self.albums.delete(conn, album_id)

    async def add_assets(self, context: AuthContext, album_id: str, ids: list[str]) -> list[dict[str, Any]]:
        await self._role(context, album_id, "addAsset", need=("owner", "editor"))
        results, chosen = await self._classify(context, album_id, ids, adding=True)
        if chosen:
            now = iso(self.clock())
            async with self.db.transaction() as conn:
                await self.albums.add_assets(conn, album_id, chosen, now, uuid7())
                values: dict[str, Any] = {"updated_at": now, "update_id": uuid7()}
                album = await self.albums.get(album_id)
                if album is not None and album.thumbnail_asset_id is None:
                    values["thumbnail_asset_id"] = chosen[0]
                await self.albums.update(conn, album_id, values)
        return results

    async def _classify(
        self, context: AuthContext, album_id: str, ids: list[str], *, adding: bool
    ) -> tuple[list[dict[str, Any]], list[str]]:
        unique = list(dict.fromkeys(ids))
        members = await self.albums.existing_members(album_id, unique)
        allowed = await self.access.asset_ids(context, unique, SHARE) if adding else set(unique)
        results: list[dict[str, Any]] = []
        chosen: list[str] = []
        seen: set[str] = set()
        for asset_id in ids:
            if asset_id in seen or (adding and asset_id in members):
                results.append({"id": asset_id, "success": False, "error": "duplicate"})
            elif not adding and asset_id not in members:
                results.append({"id": asset_id, "success": False, "error": "not_found"})
            elif asset_id not in allowed:
                results.append({"id": asset_id, "success": False, "error": "no_permission"})
            else:
                results.append({"id": asset_id, "success": True})
                chosen.append(asset_id)
            seen.add(asset_id)
        return results, chosen

    async def remove_assets(self, context: AuthContext, album_id: str, ids: list[str]) -> list[dict[str, Any]]:
        role = await self._role(context, album_id, "removeAsset", need=("owner", "editor"))
        results, chosen = await self._classify(context, album_id, ids, adding=False)
        if role == "editor":
            # editors may only take out what they can delete themselves or what they added
            owned = await self.access.asset_ids(context, chosen, "delete")
            for result in results:
                if result["success"] and result["id"] not in owned:
                    result.update(success=False, error="no_permission")
            chosen = [i for i in chosen if i in owned]
        if chosen:
            now = iso(self.clock())
            async with self.db.transaction() as conn:
                await self.albums.audit_assets_removed(conn, album_id, chosen, now)
                await self.albums.remove_assets(conn, album_id, chosen)
                album = await self.albums.get(album_id)
                values: dict[str, Any] = {"updated_at": now, "update_id": uuid7()}
                if album is not None and album.thumbnail_asset_id in chosen:
                    values["thumbnail_asset_id"] = None
                await self.albums.update(conn, album_id, values)
            if album is not None and album.thumbnail_asset_id in chosen:
                first = await self.albums.first_asset(album_id)
                if first:
                    async with self.db.transaction() as conn:
                        await self.albums.update(conn, album_id, {"thumbnail_asset_id": first, "update_id": uuid7()})
        return results

    async def add_assets_to_albums(
        self, context: AuthContext, album_ids: list[str], asset_ids: list[str]
    ) -> dict[str, Any]:
        """PUT /albums/assets: every asset into every album; reports overall success as Immich does."""
        any_success = False
        error: str | None = None
        for album_id in album_ids:
            try:
                results = await self.add_assets(context, album_id, asset_ids)
            except BadRequest:
                error = "no_permission"
                continue
            if any(r["success"] for r in results):
                any_success = True
            elif results and error is None:
                error = results[0].get("error")
        response: dict[str, Any] = {"success": any_success}
        if not any_success and error:
            response["error"] = error
        return response

    async def add_users(self, context: AuthContext, album_id: str, members: list[dict[str, Any]]) -> AlbumView:
        await self._role(context, album_id, "share", need=("owner",))
        album = await self.albums.get(album_id)
        assert album is not None
        now = iso(self.clock())
        existing = {m.user_id for m in (await self.albums.users([album_id]))[album_id]}
        for member in members:
            if member["userId"] == album.owner_id:
                raise BadRequest("Cannot be shared with owner")
            if member["userId"] in existing:
                raise BadRequest("User already added")
            if await self.users.get(member["userId"]) is None:
                raise BadRequest("User not found")
        async with self.db.transaction() as conn:
            for member in members:
                await self.albums.upsert_user(
                    conn, AlbumUserRecord(album_id, member["userId"], member.get("role") or "editor", now, uuid7())
                )
            await self.albums.update(conn, album_id, {"updated_at": now, "update_id": uuid7()})
        return await self.get(context, album_id)

    async def update_user(self, context: AuthContext, album_id: str, user_id: str, role: str) -> None:
        await self._role(context, album_id, "share", need=("owner",))
        if await self.albums.role_of(album_id, user_id) is None:
            raise BadRequest("Album not shared with user")
        now = iso(self.clock())
        async with self.db.transaction() as conn:
            await self.albums.upsert_user(conn, AlbumUserRecord(album_id, user_id, role, now, uuid7()))

    async def remove_user(self, context: AuthContext, album_id: str, user_id: str) -> None:
        if user_id == "me":
            user_id = context.user_id
        role = await self._role(context, album_id, "share")
        album = await self.albums.get(album_id)
        assert album is not None
        if user_id == album.owner_id:
            raise BadRequest("Cannot remove album owner")
        if role != "owner" and user_id != context.user_id:
            raise BadRequest("Not found or no album.share access")
        if await self.albums.role_of(album_id, user_id) is None:
            raise BadRequest("Album not shared with user")
        now = iso(self.clock())
        async with self.db.transaction() as conn:
            await self.albums.audit_user_removed(conn, album_id, user_id, now)
            # the removed user no longer sees the album: their app drops it
            await self.albums.audit_album_gone(conn, album_id, [user_id], now)
            await self.albums.remove_user(conn, album_id, user_id)

    async def statistics(self, context: AuthContext) -> dict[str, int]:
        views = await self._views(await self.albums.list_visible(context.user_id))
        owned = [v for v in views if v.album.owner_id == context.user_id]
        shared = [v for v in views if v.shared]
        return {"owned": len(owned), "shared": len(shared), "notShared": len([v for v in owned if not v.shared])}
