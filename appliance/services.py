"""The Services bundle: every service, built once from settings and passed to the API and workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from appliance.clock import Clock, utc_now
from appliance.config import Settings
from appliance.library.access import AccessService
from appliance.library.albums import AlbumService
from appliance.library.assets import AssetService
from appliance.library.auth import AuthService
from appliance.library.ingest import IngestService
from appliance.library.search import SearchService
from appliance.library.server import ServerService
from appliance.library.settings import ApplianceSettingsService
from appliance.library.users import UserService
from appliance.storage.albums import AlbumRepository
from appliance.storage.assets import AssetRepository
from appliance.storage.db import Database
from appliance.storage.files import MediaStore
from appliance.storage.metadata import SystemMetadataRepository
from appliance.storage.users import ApiKeyRepository, SessionRepository, UserRepository


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: Database
    store: MediaStore
    access: AccessService
    auth: AuthService
    users: UserService
    ingest: IngestService
    assets: AssetService
    albums: AlbumService
    search: SearchService
    server: ServerService
    # optional parts (jobs, hardware, discovery...) register themselves here by name
    extras: dict[str, Any] = field(default_factory=dict)


def build_services(settings: Settings, *, clock: Clock = utc_now, db: Database | None = None) -> Services:
    db = db or Database(settings.database_path)
    store = MediaStore(settings.data_dir)
    user_repo, asset_repo, album_repo = UserRepository(db), AssetRepository(db), AlbumRepository(db)
    access = AccessService(db)
    auth = AuthService(user_repo, SessionRepository(db), ApiKeyRepository(db), clock)
    assets = AssetService(db, asset_repo, user_repo, access, store, clock)
    services = Services(
        settings=settings,
        clock=clock,
        db=db,
        store=store,
        access=access,
        auth=auth,
        users=UserService(user_repo, auth.sessions, auth, clock),
        ingest=IngestService(
            db, asset_repo, user_repo, store, clock,
            max_upload_bytes=settings.max_upload_bytes, min_free_bytes=settings.min_free_bytes,
        ),
        assets=assets,
        albums=AlbumService(db, album_repo, user_repo, access, clock),
        search=SearchService(asset_repo, assets),
        server=ServerService(settings.data_dir, user_repo, asset_repo, trash_days=settings.trash_days),
    )
    services.extras["appliance_settings"] = ApplianceSettingsService(SystemMetadataRepository(db), user_repo, clock)
    return services
