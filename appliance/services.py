"""The Services bundle: every service, built once from settings and passed to the API and workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from appliance.clock import Clock, utc_now
from appliance.config import Settings
from appliance.importer.service import ImportService
from appliance.library.access import AccessService
from appliance.library.albums import AlbumService
from appliance.library.assets import AssetService
from appliance.library.auth import AuthService
from appliance.library.events import EventBus
from appliance.library.ingest import IngestService
from appliance.library.metadata import AssetMetadataService
from appliance.library.search import SearchService
from appliance.library.server import ServerService
from appliance.library.sync import SyncService
from appliance.library.users import UserService
from appliance.storage.albums import AlbumRepository
from appliance.storage.assets import AssetRepository
from appliance.storage.db import Database
from appliance.storage.files import MediaStore
from appliance.storage.imports import ImportRepository
from appliance.storage.metadata import MetadataRepository
from appliance.storage.sync import SyncRepository
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
    imports: ImportService
    sync: SyncService
    metadata: AssetMetadataService
    events: EventBus
    # optional parts (jobs, hardware, discovery...) register themselves here by name
    extras: dict[str, Any] = field(default_factory=dict)


def build_services(settings: Settings, *, clock: Clock = utc_now, db: Database | None = None) -> Services:
    db = db or Database(settings.database_path)
    store = MediaStore(settings.data_dir)
    user_repo, asset_repo, album_repo = UserRepository(db), AssetRepository(db), AlbumRepository(db)
    access = AccessService(db)
    auth = AuthService(user_repo, SessionRepository(db), ApiKeyRepository(db), clock)
    assets = AssetService(db, asset_repo, user_repo, access, store, clock)
    ingest = IngestService(
        db, asset_repo, user_repo, store, clock,
        max_upload_bytes=settings.max_upload_bytes, min_free_bytes=settings.min_free_bytes,
    )
    albums = AlbumService(db, album_repo, user_repo, access, clock)
    events = EventBus()
    ingest.listeners.append(events.on_ingest)
    assets.listeners.append(events.on_assets)
    return Services(
        settings=settings,
        clock=clock,
        db=db,
        store=store,
        access=access,
        auth=auth,
        users=UserService(user_repo, auth.sessions, auth, clock),
        ingest=ingest,
        assets=assets,
        albums=albums,
        search=SearchService(asset_repo, assets),
        server=ServerService(settings.data_dir, user_repo, asset_repo, trash_days=settings.trash_days),
        imports=ImportService(
            ingest, albums, user_repo, ImportRepository(db), clock,
            user_email=settings.import_user_email, album_template=settings.import_album_template,
        ),
        sync=SyncService(SyncRepository(db), clock),
        metadata=AssetMetadataService(MetadataRepository(db), access, clock),
        events=events,
    )
