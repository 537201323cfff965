-- Browsing: partners, tags, stacks, memories, shared links, and what makes the timeline fast.

CREATE TABLE partners (
    shared_by_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    shared_with_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    in_timeline INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    update_id TEXT NOT NULL,
    PRIMARY KEY (shared_by_id, shared_with_id)
);
CREATE INDEX partners_with ON partners(shared_with_id);

CREATE TABLE partner_audit (
    id TEXT PRIMARY KEY,
    shared_by_id TEXT NOT NULL,
    shared_with_id TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);

-- Hierarchical tags: `value` is the full path ("Family/Kids"), `name` its last part.
CREATE TABLE tags (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    color TEXT,
    parent_id TEXT REFERENCES tags(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    update_id TEXT NOT NULL,
    UNIQUE (user_id, value)
);
CREATE INDEX tags_parent ON tags(parent_id);

CREATE TABLE tag_assets (
    tag_id TEXT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    PRIMARY KEY (tag_id, asset_id)
);
CREATE INDEX tag_assets_asset ON tag_assets(asset_id);

CREATE TABLE stacks (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    primary_asset_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    update_id TEXT NOT NULL
);
CREATE INDEX stacks_owner ON stacks(owner_id);
CREATE INDEX assets_stack ON assets(stack_id) WHERE stack_id IS NOT NULL;

CREATE TABLE memories (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    type TEXT NOT NULL DEFAULT 'on_this_day',
    data TEXT NOT NULL DEFAULT '{}',
    memory_at TEXT NOT NULL,
    show_at TEXT,
    hide_at TEXT,
    seen_at TEXT,
    is_saved INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    update_id TEXT NOT NULL
);
CREATE INDEX memories_owner_show ON memories(owner_id, show_at);

CREATE TABLE memory_assets (
    memory_id TEXT NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    PRIMARY KEY (memory_id, asset_id)
);
CREATE INDEX memory_assets_asset ON memory_assets(asset_id);

-- `key` is 50 random bytes shown base64url, as Immich does; the owner must be able to read it again,
-- so it is kept (it is unguessable, 400 bits), not hashed.
CREATE TABLE shared_links (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key TEXT NOT NULL UNIQUE,
    slug TEXT UNIQUE,
    type TEXT NOT NULL,                      -- ALBUM | INDIVIDUAL
    album_id TEXT REFERENCES albums(id) ON DELETE CASCADE,
    description TEXT,
    password TEXT,
    expires_at TEXT,
    allow_upload INTEGER NOT NULL DEFAULT 1,
    allow_download INTEGER NOT NULL DEFAULT 1,
    show_metadata INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE INDEX shared_links_user ON shared_links(user_id);
CREATE INDEX shared_links_album ON shared_links(album_id);

CREATE TABLE shared_link_assets (
    shared_link_id TEXT NOT NULL REFERENCES shared_links(id) ON DELETE CASCADE,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    PRIMARY KEY (shared_link_id, asset_id)
);
CREATE INDEX shared_link_assets_asset ON shared_link_assets(asset_id);

-- Timeline. A bucket is a month of local_date_time; the month list comes from this small table of counts,
-- kept right by triggers, so `/timeline/buckets` reads a few hundred rows instead of every asset.
-- `stack_hidden` is 1 for a stacked asset that is not its stack's primary (hidden when withStacked).
CREATE TABLE asset_month_counts (
    owner_id TEXT NOT NULL,
    month TEXT NOT NULL,                     -- 'YYYY-MM-01'
    visibility TEXT NOT NULL,
    is_favorite INTEGER NOT NULL,
    is_trashed INTEGER NOT NULL,
    stack_hidden INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (owner_id, visibility, is_trashed, month, is_favorite, stack_hidden)
) WITHOUT ROWID;

-- Stack changes set stacks first and then touch assets.stack_id, so the subquery sees the new primary;
-- each asset's stack_hidden is remembered in asset_stack_hidden to subtract it exactly later.
CREATE TABLE asset_stack_hidden (
    asset_id TEXT PRIMARY KEY,
    hidden INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER asset_month_counts_insert AFTER INSERT ON assets BEGIN
    INSERT INTO asset_stack_hidden (asset_id, hidden)
    SELECT NEW.id, 1 FROM stacks s WHERE s.id = NEW.stack_id AND s.primary_asset_id != NEW.id;
    INSERT INTO asset_month_counts (owner_id, month, visibility, is_favorite, is_trashed, stack_hidden, n)
    VALUES (NEW.owner_id, substr(NEW.local_date_time, 1, 7) || '-01', NEW.visibility, NEW.is_favorite,
            NEW.deleted_at IS NOT NULL,
            coalesce((SELECT hidden FROM asset_stack_hidden WHERE asset_id = NEW.id), 0), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER asset_month_counts_delete AFTER DELETE ON assets BEGIN
    UPDATE asset_month_counts SET n = n - 1
    WHERE owner_id = OLD.owner_id AND month = substr(OLD.local_date_time, 1, 7) || '-01'
      AND visibility = OLD.visibility AND is_favorite = OLD.is_favorite
      AND is_trashed = (OLD.deleted_at IS NOT NULL)
      AND stack_hidden = coalesce((SELECT hidden FROM asset_stack_hidden WHERE asset_id = OLD.id), 0);
    DELETE FROM asset_stack_hidden WHERE asset_id = OLD.id;
END;

CREATE TRIGGER asset_month_counts_update AFTER UPDATE OF owner_id, local_date_time, visibility, is_favorite,
    deleted_at, stack_id ON assets BEGIN
    UPDATE asset_month_counts SET n = n - 1
    WHERE owner_id = OLD.owner_id AND month = substr(OLD.local_date_time, 1, 7) || '-01'
      AND visibility = OLD.visibility AND is_favorite = OLD.is_favorite
      AND is_trashed = (OLD.deleted_at IS NOT NULL)
      AND stack_hidden = coalesce((SELECT hidden FROM asset_stack_hidden WHERE asset_id = OLD.id), 0);
    DELETE FROM asset_stack_hidden WHERE asset_id = OLD.id;
    INSERT INTO asset_stack_hidden (asset_id, hidden)
    SELECT NEW.id, 1 FROM stacks s WHERE s.id = NEW.stack_id AND s.primary_asset_id != NEW.id;
    INSERT INTO asset_month_counts (owner_id, month, visibility, is_favorite, is_trashed, stack_hidden, n)
    VALUES (NEW.owner_id, substr(NEW.local_date_time, 1, 7) || '-01', NEW.visibility, NEW.is_favorite,
            NEW.deleted_at IS NOT NULL,
            coalesce((SELECT hidden FROM asset_stack_hidden WHERE asset_id = NEW.id), 0), 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

INSERT INTO asset_month_counts (owner_id, month, visibility, is_favorite, is_trashed, stack_hidden, n)
SELECT owner_id, substr(local_date_time, 1, 7) || '-01', visibility, is_favorite, deleted_at IS NOT NULL, 0, count(*)
FROM assets GROUP BY 1, 2, 3, 4, 5;

-- A bucket's assets: one owner, one month range of local_date_time. The index covers every column the
-- bucket reads, so a month of a few thousand photos is one contiguous index range, not a table lookup per
-- photo (about 150 bytes per asset; at 1M assets ~150 MB, beside terabytes of originals).
CREATE INDEX assets_timeline ON assets(owner_id, local_date_time, visibility, deleted_at, is_favorite, type,
    file_created_at, created_at, width, height, duration_ms, stack_id, live_photo_video_id, thumbhash, id);
CREATE INDEX asset_exif_timeline ON asset_exif(asset_id, orientation, projection_type, city, country, latitude,
    longitude);
-- favourites newest first (frames and Home Assistant page through them)
CREATE INDEX assets_owner_favorite ON assets(owner_id, is_favorite, file_created_at DESC) WHERE is_favorite = 1;
CREATE INDEX assets_trashed ON assets(owner_id, deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX asset_exif_city ON asset_exif(city) WHERE city IS NOT NULL;
