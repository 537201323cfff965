-- Card and folder imports: one row per import session, and one row per source file already handled, so
-- a re-inserted card skips what it brought before (name + size + mtime) and an interrupted import resumes.
CREATE TABLE import_sessions (
    id TEXT PRIMARY KEY,
    source_key TEXT NOT NULL,          -- card: "card:<fs uuid>:<label>", folder: "folder:<real path>"
    kind TEXT NOT NULL,                -- card | folder
    device TEXT NOT NULL DEFAULT '',   -- /dev/sdb1, or '' for a folder
    label TEXT NOT NULL DEFAULT '',
    fs_uuid TEXT NOT NULL DEFAULT '',
    fs_type TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL DEFAULT '',     -- where it was read from (mount point or folder)
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    album_id TEXT,                     -- no FK: an album deleted later must not take the history with it
    album_name TEXT NOT NULL DEFAULT '',
    resumed_from TEXT,
    state TEXT NOT NULL,               -- running | completed | interrupted | failed
    found INTEGER NOT NULL DEFAULT 0,
    imported INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,   -- known from an earlier session of the same source (not re-read)
    failed INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    total_bytes INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX import_sessions_started ON import_sessions (started_at);
CREATE INDEX import_sessions_source ON import_sessions (source_key, owner_id, started_at);

CREATE TABLE import_files (
    source_key TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    relpath TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    status TEXT NOT NULL,              -- imported | duplicate
    asset_id TEXT,
    checksum BLOB,
    session_id TEXT NOT NULL,
    handled_at TEXT NOT NULL,
    PRIMARY KEY (source_key, owner_id, relpath)
);
