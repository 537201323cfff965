"""The box's own settings chosen at first run: its name, where imports go, and LAN advertising.

Stored in `system_metadata` as plain text under these keys, so other parts can read them directly:
`box_name` (the mDNS/host display name), `import_user_id` (whose library USB/SD imports land in; empty means
the first admin), `import_album_mode` (`none` | `per-import`: an album per import session),
`advertise_lan` (`true` | `false`), `setup_completed_at` (ISO time the first-run setup was saved).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from appliance.clock import Clock, iso
from appliance.errors import BadRequest
from appliance.storage.system_metadata import SystemMetadataRepository
from appliance.storage.users import UserRepository

DEFAULT_BOX_NAME = "Shoebox"
IMPORT_ALBUM_MODES = ("none", "per-import")
KEYS = ("box_name", "import_user_id", "import_album_mode", "advertise_lan", "setup_completed_at")
# An mDNS instance name is one DNS label of up to 63 bytes; we keep it readable and safe.
_NAME = re.compile(r"^[\w][\w \-'.]{0,62}$", re.UNICODE)


@dataclass(frozen=True)
class ApplianceSettings:
    box_name: str
    import_user_id: str | None
    import_album_mode: str
    advertise_lan: bool
    setup_completed_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "boxName": self.box_name,
            "importUserId": self.import_user_id,
            "importAlbumMode": self.import_album_mode,
            "advertiseOnLan": self.advertise_lan,
            "setupCompleted": self.setup_completed_at is not None,
            "setupCompletedAt": self.setup_completed_at,
        }


class ApplianceSettingsService:
    def __init__(self, repo: SystemMetadataRepository, users: UserRepository, clock: Clock) -> None:
        self.repo = repo
        self.users = users
        self.clock = clock

    async def get(self) -> ApplianceSettings:
        raw = await self.repo.get_many(KEYS)
        mode = raw.get("import_album_mode", "none")
        return ApplianceSettings(
            box_name=raw.get("box_name") or DEFAULT_BOX_NAME,
            import_user_id=raw.get("import_user_id") or None,
            import_album_mode=mode if mode in IMPORT_ALBUM_MODES else "none",
            advertise_lan=raw.get("advertise_lan", "true") == "true",
            setup_completed_at=raw.get("setup_completed_at") or None,
        )

    async def update(self, changes: dict[str, Any]) -> ApplianceSettings:
        """Apply the given fields (API names); unknown fields are ignored, bad values rejected."""
        values: dict[str, str] = {}
        if changes.get("boxName") is not None:
            name = str(changes["boxName"]).strip()
            if not _NAME.match(name):
                raise BadRequest("boxName must be 1-63 letters, digits, spaces, dots, dashes or apostrophes")
            values["box_name"] = name
        if "importUserId" in changes:
            user_id = changes["importUserId"] or ""
            if user_id and await self.users.get(user_id) is None:
                raise BadRequest("importUserId is not a user of this box")
            values["import_user_id"] = user_id
        if changes.get("importAlbumMode") is not None:
            if changes["importAlbumMode"] not in IMPORT_ALBUM_MODES:
                raise BadRequest("importAlbumMode must be one of: " + ", ".join(IMPORT_ALBUM_MODES))
            values["import_album_mode"] = changes["importAlbumMode"]
        if changes.get("advertiseOnLan") is not None:
            values["advertise_lan"] = "true" if changes["advertiseOnLan"] else "false"
        if changes.get("setupCompleted"):
            current = await self.repo.get("setup_completed_at")
            if not current:
                values["setup_completed_at"] = iso(self.clock())
        if values:
            await self.repo.set_many(values)
        return await self.get()
