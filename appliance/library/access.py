"""Who may touch what. Every id-taking route asks here; a foreign id looks exactly like a missing one."""

from __future__ import annotations

from collections.abc import Iterable

from appliance.library.context import AuthContext
from appliance.storage.access import AccessRepository
from appliance.storage.db import Database

READ, VIEW, DOWNLOAD, UPDATE, DELETE, SHARE = "read", "view", "download", "update", "delete", "share"


class AccessService:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.repo = AccessRepository(db)

    async def asset_ids(self, context: AuthContext, ids: Iterable[str], action: str) -> set[str]:
        """The subset of `ids` the caller may perform `action` on."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return set()
        if context.shared_link is not None:
            allowed_by_link = await context.shared_link.allowed_asset_ids(wanted, action)
            return set(allowed_by_link)
        allowed = await self.repo.owned(context.user_id, wanted)
        if action in (READ, VIEW, DOWNLOAD, SHARE):
            rest = [asset_id for asset_id in wanted if asset_id not in allowed]
            if rest:
                allowed |= await self.repo.in_visible_albums(context.user_id, rest)
            rest = [asset_id for asset_id in wanted if asset_id not in allowed]
            if rest:
                allowed |= await self.repo.shared_by_partners(context.user_id, rest)
        return allowed

    async def album_role(self, context: AuthContext, album_id: str) -> str | None:
        """'owner', 'editor', 'viewer', or None when the caller cannot see the album."""
        if context.shared_link is not None:
            return await context.shared_link.album_role(album_id)
        return await self.repo.album_role(context.user_id, album_id)
