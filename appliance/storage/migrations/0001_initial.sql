-- The core schema: users and credentials, assets and their files and EXIF, albums, jobs.
-- Timestamps are ISO-8601 UTC text with milliseconds and Z; ids are UUID text; update_id is a UUIDv7
-- changed on every write, for the sync stream.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL DEFAULT '',
    is_admin INTEGER NOT NULL DEFAULT 0,
    avatar_color TEXT,
    storage_label TEXT,
    quota_size_bytes INTEGER,
    quota_usage_bytes INTEGER NOT NULL DEFAULT 0,
    should_change_password INTEGER NOT NULL DEFAULT 0,
    profile_image_path TEXT NOT NULL DEFAULT '',
    profile_changed_at TEXT NOT NULL,
    pin_code_hash TEXT,
    preferences TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'active',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    update_id TEXT NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    device_type TEXT NOT NULL DEFAULT '',
    device_os TEXT NOT NULL DEFAULT '',
    app_version TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    expires_at TEXT,
    is_pending_sync_reset INTEGER NOT NULL DEFAULT 0,
    pin_expires_at TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    permissions TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX api_keys_user ON api_keys(user_id);

CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    type TEXT NOT NULL,                     -- IMAGE | VIDEO | AUDIO | OTHER
    original_path TEXT NOT NULL,            -- relative to the data folder
    original_file_name TEXT NOT NULL,
    original_mime_type TEXT NOT NULL,
    checksum BLOB NOT NULL,                 -- raw SHA-1, 20 bytes
    file_size INTEGER NOT NULL,
    device_asset_id TEXT NOT NULL DEFAULT '',
    device_id TEXT NOT NULL DEFAULT '',
    file_created_at TEXT NOT NULL,
    file_modified_at TEXT NOT NULL,
    local_date_time TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,                        -- set while in the trash
    visibility TEXT NOT NULL DEFAULT 'timeline',
    is_favorite INTEGER NOT NULL DEFAULT 0,
    is_offline INTEGER NOT NULL DEFAULT 0,
    is_edited INTEGER NOT NULL DEFAULT 0,
    has_metadata INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER,
    width INTEGER,
    height INTEGER,
    thumbhash BLOB,
    live_photo_video_id TEXT REFERENCES assets(id) ON DELETE SET NULL,
    stack_id TEXT,
    encoded_video_path TEXT,
    sidecar_path TEXT,
    source TEXT NOT NULL DEFAULT 'upload',  -- upload | import
    update_id TEXT NOT NULL,
    UNIQUE (owner_id, checksum)
);
CREATE INDEX assets_owner_time ON assets(owner_id, local_date_time DESC);
CREATE INDEX assets_owner_created ON assets(owner_id, file_created_at DESC);
CREATE INDEX assets_update ON assets(owner_id, update_id);
CREATE INDEX assets_live_photo ON assets(live_photo_video_id);

CREATE TABLE asset_exif (
    asset_id TEXT PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
    make TEXT, model TEXT, lens_model TEXT,
    exif_image_width INTEGER, exif_image_height INTEGER,
    file_size_in_byte INTEGER,
    orientation TEXT,
    date_time_original TEXT, modify_date TEXT, time_zone TEXT,
    f_number REAL, focal_length REAL, iso INTEGER, exposure_time TEXT,
    latitude REAL, longitude REAL, city TEXT, state TEXT, country TEXT,
    description TEXT NOT NULL DEFAULT '',
    projection_type TEXT,
    rating INTEGER,
    fps REAL,
    profile_description TEXT,
    colorspace TEXT,
    bits_per_sample INTEGER,
    auto_stack_id TEXT,
    live_photo_cid TEXT,
    tags TEXT,                               -- JSON list of keywords as read
    update_id TEXT NOT NULL
);

CREATE TABLE asset_files (
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,                      -- thumbnail | preview | fullsize | encoded_video
    path TEXT NOT NULL,                      -- relative to the data folder
    created_at TEXT NOT NULL,
    PRIMARY KEY (asset_id, kind)
);

-- A file moved into the library whose asset row is not committed yet. Rows left here after a crash
-- name files to delete at start.
CREATE TABLE upload_intents (
    path TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE albums (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    thumbnail_asset_id TEXT REFERENCES assets(id) ON DELETE SET NULL,
    is_activity_enabled INTEGER NOT NULL DEFAULT 1,
    sort_order TEXT NOT NULL DEFAULT 'desc',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    update_id TEXT NOT NULL,
    create_id TEXT NOT NULL
);
CREATE INDEX albums_owner ON albums(owner_id);

CREATE TABLE album_assets (
    album_id TEXT NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    update_id TEXT NOT NULL,
    PRIMARY KEY (album_id, asset_id)
);
CREATE INDEX album_assets_asset ON album_assets(asset_id);

CREATE TABLE album_users (
    album_id TEXT NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL DEFAULT 'editor',     -- editor | viewer
    created_at TEXT NOT NULL,
    update_id TEXT NOT NULL,
    PRIMARY KEY (album_id, user_id)
);
CREATE INDEX album_users_user ON album_users(user_id);

-- The persistent job queue. A job is enqueued in the same transaction as the row it concerns.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,                     -- Immich queue name: thumbnailGeneration, metadataExtraction...
    name TEXT NOT NULL,                      -- job name within the queue
    payload TEXT NOT NULL DEFAULT '{}',      -- JSON
    dedupe_key TEXT,                         -- at most one pending job per key
    priority INTEGER NOT NULL DEFAULT 0,     -- lower runs first
    status TEXT NOT NULL DEFAULT 'waiting',  -- waiting | active | failed | completed
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 3,
    run_after TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX jobs_claim ON jobs(status, queue, priority, run_after, id);
CREATE UNIQUE INDEX jobs_dedupe ON jobs(dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN ('waiting', 'active');

CREATE TABLE system_metadata (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Deletes, kept for the mobile app's sync stream (pruned after 31 days).
CREATE TABLE asset_audit (
    id TEXT PRIMARY KEY,                     -- UUIDv7 of the delete
    asset_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);
CREATE INDEX asset_audit_owner ON asset_audit(owner_id, id);

CREATE TABLE album_audit (
    id TEXT PRIMARY KEY,
    album_id TEXT NOT NULL,
    user_id TEXT NOT NULL,                   -- one row per user who could see the album
    deleted_at TEXT NOT NULL
);
CREATE INDEX album_audit_user ON album_audit(user_id, id);

CREATE TABLE album_asset_audit (
    id TEXT PRIMARY KEY,
    album_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);
CREATE INDEX album_asset_audit_album ON album_asset_audit(album_id, id);

CREATE TABLE album_user_audit (
    id TEXT PRIMARY KEY,
    album_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);
CREATE INDEX album_user_audit_album ON album_user_audit(album_id, id);
