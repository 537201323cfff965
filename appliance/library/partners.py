"""Partners: one user shares their whole library (timeline and archive) with another."""

from __future__ import annotations

from appliance.clock import Clock, iso
from appliance.errors import BadRequest
from appliance.ids import uuid7
from appliance.library.context import AuthContext
from appliance.storage.records import UserRecord
from appliance.storage.sharing import PartnerRecord, PartnerRepository
from appliance.storage.users import UserRepository


class PartnerService:
    def __init__(self, partners: PartnerRepository, users: UserRepository, clock: Clock) -> None:
        self.partners = partners
        self.users = users
        self.clock = clock

    async def list_partners(self, context: AuthContext, direction: str) -> list[tuple[UserRecord, PartnerRecord]]:
        """direction 'shared-by': whom I share with; 'shared-with': who shares with me."""
        found: list[tuple[UserRecord, PartnerRecord]] = []
        if direction == "shared-by":
            records = await self.partners.shared_by(context.user_id)
            ids = [r.shared_with_id for r in records]
        else:
            records = await self.partners.shared_with(context.user_id)
            ids = [r.shared_by_id for r in records]
        for record, user_id in zip(records, ids, strict=True):
            user = await self.users.get(user_id)
            if user is not None:
                found.append((user, record))
        return found

    async def create(self, context: AuthContext, shared_with_id: str) -> tuple[UserRecord, PartnerRecord]:
        if shared_with_id == context.user_id:
            raise BadRequest("Cannot share with yourself")
        user = await self.users.get(shared_with_id)
        if user is None:
            raise BadRequest("User not found")
        if await self.partners.get(context.user_id, shared_with_id) is not None:
            raise BadRequest("Partner already exists")
        record = PartnerRecord(context.user_id, shared_with_id, 0, iso(self.clock()), uuid7())
        await self.partners.insert(record)
        return user, record

    async def update(
        self, context: AuthContext, shared_by_id: str, in_timeline: bool
    ) -> tuple[UserRecord, PartnerRecord]:
        """Only the receiving side chooses whether a partner's photos show in their timeline."""
        if await self.partners.get(shared_by_id, context.user_id) is None:
            raise BadRequest("Not found or no partner.update access")
        await self.partners.set_in_timeline(shared_by_id, context.user_id, in_timeline, uuid7())
        record = await self.partners.get(shared_by_id, context.user_id)
        user = await self.users.get(shared_by_id)
        assert record is not None and user is not None
        return user, record

    async def remove(self, context: AuthContext, shared_with_id: str) -> None:
        if await self.partners.get(context.user_id, shared_with_id) is None:
            raise BadRequest("Partner not found")
        await self.partners.delete(context.user_id, shared_with_id, uuid7(), iso(self.clock()))

    async def timeline_owner_ids(self, user_id: str) -> list[str]:
        return [r.shared_by_id for r in await self.partners.shared_with(user_id) if r.in_timeline]

    async def shares_with(self, shared_by_id: str, user_id: str) -> bool:
        return await self.partners.get(shared_by_id, user_id) is not None
