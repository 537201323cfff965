-- The mobile app's sync stream: per-session checkpoints, asset metadata (iCloud ids), and the delete
-- history the stream needs beyond 0001's audit tables.

-- One checkpoint per (session, entity type): the last ack string the client sent for that type.
CREATE TABLE sync_checkpoints (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    ack TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (session_id, type)
);

-- Key/value metadata per asset (the app stores `mobile-app` -> {iCloudId} here).
CREATE TABLE asset_metadata (
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,                     -- JSON object
    updated_at TEXT NOT NULL,
    update_id TEXT NOT NULL,
    PRIMARY KEY (asset_id, key)
);
CREATE INDEX asset_metadata_update ON asset_metadata(update_id, asset_id, key);

CREATE TABLE asset_metadata_audit (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL,
    key TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);
CREATE INDEX asset_metadata_audit_owner ON asset_metadata_audit(owner_id, id);

CREATE TABLE user_audit (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);

-- A time-ordered id made in SQL for audit rows written by triggers: 12 hex digits of Unix milliseconds
-- (what the sync stream reads back), then random bits, in UUIDv7's layout.
CREATE TRIGGER users_audit_delete AFTER DELETE ON users
BEGIN
    INSERT INTO user_audit (id, user_id, deleted_at)
    SELECT substr(m, 1, 8) || '-' || substr(m, 9, 4) || '-7' || substr(r, 1, 3) || '-8' || substr(r, 4, 3)
           || '-' || substr(r, 7, 12), OLD.id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    FROM (SELECT printf('%012x', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)) AS m,
                 lower(hex(randomblob(9))) AS r);
END;

-- Keyset paging for the stream: (owner, update_id, id) so equal update ids (bulk edits) page exactly.
CREATE INDEX assets_sync ON assets(owner_id, update_id, id);
CREATE INDEX asset_exif_sync ON asset_exif(update_id, asset_id);
CREATE INDEX album_assets_sync ON album_assets(update_id, album_id, asset_id);
