"""The Services bundle: every service, built once from settings and passed to the API and workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from appliance.clock import Clock, utc_now
from appliance.config import Settings
from appliance.foreground import ForegroundGate
from appliance.importer.service import ImportService
from appliance.library.access import AccessService
from appliance.library.albums import AlbumService
from appliance.library.assets import AssetService
from appliance.library.auth import AuthService
from appliance.library.downloads import DownloadService
from appliance.library.events import EventBus
from appliance.library.explore import ExploreService
from appliance.library.frame import FrameService
from appliance.library.ingest import IngestService
from appliance.library.memories import MemoryService
from appliance.library.metadata import AssetMetadataService
from appliance.library.partners import PartnerService
from appliance.library.places import PlacesService, build_in_background_process
from appliance.library.search import SearchService
from appliance.library.server import ServerService
from appliance.library.settings import ApplianceSettingsService
from appliance.library.shared_links import SharedLinkService
from appliance.library.stacks import StackService
from appliance.library.sync import SyncService
from appliance.library.tags import TagService
from appliance.library.timeline import TimelineService
from appliance.library.users import UserService
from appliance.storage.albums import AlbumRepository
from appliance.storage.assets import AssetRepository
from appliance.storage.db import Database
from appliance.storage.explore import ExploreRepository
from appliance.storage.files import MediaStore
from appliance.storage.imports import ImportRepository
from appliance.storage.metadata import MetadataRepository
from appliance.storage.places import PlacesRepository
from appliance.storage.sharing import PartnerRepository, SharedLinkRepository
from appliance.storage.sync import SyncRepository
from appliance.storage.system_metadata import SystemMetadataRepository
from appliance.storage.tags import MemoryRepository, StackRepository, TagRepository
from appliance.storage.timeline import TimelineRepository
from appliance.storage.users import ApiKeyRepository, SessionRepository, UserRepository


@dataclass
class Browse:
    """Browsing and sharing (issue 7): timeline, shared links, partners, tags, stacks, memories, downloads,
    explore/map and the frame feed."""

    timeline: TimelineService
    shared_links: SharedLinkService
    partners: PartnerService
    tags: TagService
    stacks: StackService
    memories: MemoryService
    explore: ExploreService
    downloads: DownloadService
    frame: FrameService


def build_browse(db: Database, store: MediaStore, clock: Clock, access: AccessService, auth: AuthService,
                 assets: AssetService, search: SearchService, *, timeline_cache_bytes: int = 24 * 1024 * 1024
                 ) -> Browse:
    users, albums = UserRepository(db), AlbumRepository(db)
    links = SharedLinkService(db, SharedLinkRepository(db), albums, users, access, clock)
    auth.shared_links = links
    partners = PartnerService(PartnerRepository(db), users, clock)
    tags = TagService(db, TagRepository(db), access, clock)
    stacks = StackService(StackRepository(db), assets.assets, access, clock)
    memories = MemoryService(db, MemoryRepository(db), users, access, clock)
    explore = ExploreService(ExploreRepository(db), assets, partners)
    assets.view_hooks += [tags.view_hook, stacks.view_hook]
    search.query_hooks += [explore.search_hook, tags.search_hook]
    return Browse(
        timeline=TimelineService(TimelineRepository(db), partners, tags, access, cache_bytes=timeline_cache_bytes),
        shared_links=links, partners=partners, tags=tags, stacks=stacks, memories=memories, explore=explore,
        downloads=DownloadService(assets.assets, albums, access, store, ExploreRepository(db)),
        frame=FrameService(assets.assets, albums, access, store, memories, clock, ExploreRepository(db)),
    )


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
    browse: Browse
    places: PlacesService
    # optional parts (jobs, hardware, discovery...) register themselves here by name
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def foreground(self) -> ForegroundGate:
        """API requests register here, so background database work lets them go first."""
        return self.db.gate


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
    search = SearchService(asset_repo, assets)
    events = EventBus()
    ingest.listeners.append(events.on_ingest)
    assets.listeners.append(events.on_assets)
    services = Services(
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
        search=search,
        server=ServerService(settings.data_dir, user_repo, asset_repo, trash_days=settings.trash_days,
                             features={"map": True, "reverseGeocoding": True}),
        imports=ImportService(
            ingest, albums, user_repo, ImportRepository(db), clock,
            user_email=settings.import_user_email, album_template=settings.import_album_template,
        ),
        browse=build_browse(db, store, clock, access, auth, assets, search,
                            timeline_cache_bytes=settings.timeline_cache_bytes),
        events=events,
        metadata=AssetMetadataService(MetadataRepository(db), access, clock),
        sync=SyncService(SyncRepository(db), clock),
        places=PlacesService(PlacesRepository(settings.places_cache_dir, build=build_in_background_process)),
    )
    services.extras["appliance_settings"] = ApplianceSettingsService(SystemMetadataRepository(db), user_repo, clock)
    return services
