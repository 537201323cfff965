"""Who is asking: the authenticated caller of a request (or of an import, acting for its owner).

Apart from `auth.py` (sign-in, sessions, keys) so that code which only acts for a user, such as an import,
does not load password hashing and the rest of authentication: 5-7 ms of `shoebox import`'s start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from appliance.library.permissions import ALL
from appliance.storage.records import ApiKeyRecord, SessionRecord, UserRecord


@dataclass
class AuthContext:
    """The authenticated caller of one request."""

    user: UserRecord
    session: SessionRecord | None = None
    api_key: ApiKeyRecord | None = None
    shared_link: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def user_id(self) -> str:
        return self.user.id

    def has_permission(self, permission: str) -> bool:
        if self.api_key is None:
            return True
        granted = self.api_key.permission_list
        return ALL in granted or permission in granted
