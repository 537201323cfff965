-- A month of the timeline built in one pass over its index range, newest first (issue 7).
--
-- 0009's index kept a month in (file_created_at, id) order, oldest first. The timeline shows newest first,
-- so a month's query asked for ORDER BY ... DESC, and an aggregate (json_group_array, which builds a month's
-- columns) over an ordered subquery runs that subquery as a co-routine whose every value is copied (a
-- malloc and memcpy per string) before the aggregate sees it: ~25% of a month's SQL time at 1M assets.
-- Keyed newest first, the range walked forwards is already in the order shown, so the aggregate reads the
-- index directly (TimelineRepository.bucket_json_sql); oldest first (`order=asc`) walks it backwards.
-- Same columns as 0009, the two keys after the month descending.
DROP INDEX assets_timeline;
CREATE INDEX assets_timeline ON assets(owner_id, local_month, file_created_at DESC, id DESC, visibility, deleted_at,
    is_favorite, type, created_at, duration_ms, stack_id, live_photo_video_id, thumbhash, exif_projection_type,
    exif_city, exif_country, local_offset_text, timeline_ratio_text);

-- A version per owner and month ('YYYY-MM', the month an asset shows in: local_month), raised by every change
-- that can alter what that month of the timeline shows, so a month kept in memory (TimelineService) outlives
-- changes to other months: a phone backing up today's photos no longer throws away every month built before.
-- What a month shows comes from its assets' rows (place, rotation and stack copies reach them through the
-- triggers of 0008 and 0003) and, with `withStacked`, from their stacks: which member is the primary, and
-- how many assets the stack holds, which members in other months change. So:
--   an asset written        its owner's month, before and after (a date or owner moved: both months);
--   its stack_id changed     the months of every member of the stacks it left and joined;
--   a stack written          the months of its members.
-- Rows are never deleted, so a version never comes back. (0009's per-owner `asset_versions` stay, unread
-- here: an older Shoebox opening an upgraded library, as a benchmark's before/after does, still finds them.)
CREATE TABLE asset_month_versions (
    owner_id TEXT NOT NULL,
    month TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (owner_id, month)
) WITHOUT ROWID;

CREATE TRIGGER asset_month_versions_insert AFTER INSERT ON assets BEGIN
    INSERT INTO asset_month_versions (owner_id, month, version)
        VALUES (NEW.owner_id, coalesce(NEW.local_month, ''), 1)
        ON CONFLICT (owner_id, month) DO UPDATE SET version = version + 1;
    INSERT INTO asset_month_versions (owner_id, month, version)
        SELECT DISTINCT owner_id, coalesce(local_month, ''), 1 FROM assets
        WHERE NEW.stack_id IS NOT NULL AND stack_id = NEW.stack_id AND id IS NOT NEW.id
        ON CONFLICT (owner_id, month) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER asset_month_versions_update AFTER UPDATE ON assets BEGIN
    INSERT INTO asset_month_versions (owner_id, month, version)
        VALUES (NEW.owner_id, coalesce(NEW.local_month, ''), 1)
        ON CONFLICT (owner_id, month) DO UPDATE SET version = version + 1;
    INSERT INTO asset_month_versions (owner_id, month, version)
        SELECT OLD.owner_id, coalesce(OLD.local_month, ''), 1
        WHERE OLD.owner_id IS NOT NEW.owner_id OR OLD.local_month IS NOT NEW.local_month
        ON CONFLICT (owner_id, month) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER asset_month_versions_stack AFTER UPDATE OF stack_id ON assets
WHEN OLD.stack_id IS NOT NEW.stack_id BEGIN
    INSERT INTO asset_month_versions (owner_id, month, version)
        SELECT DISTINCT owner_id, coalesce(local_month, ''), 1 FROM assets
        WHERE stack_id IS NOT NULL AND stack_id IN (OLD.stack_id, NEW.stack_id) AND id IS NOT NEW.id
        ON CONFLICT (owner_id, month) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER asset_month_versions_delete AFTER DELETE ON assets BEGIN
    INSERT INTO asset_month_versions (owner_id, month, version)
        VALUES (OLD.owner_id, coalesce(OLD.local_month, ''), 1)
        ON CONFLICT (owner_id, month) DO UPDATE SET version = version + 1;
    INSERT INTO asset_month_versions (owner_id, month, version)
        SELECT DISTINCT owner_id, coalesce(local_month, ''), 1 FROM assets
        WHERE OLD.stack_id IS NOT NULL AND stack_id = OLD.stack_id
        ON CONFLICT (owner_id, month) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER asset_month_versions_stack_insert AFTER INSERT ON stacks BEGIN
    INSERT INTO asset_month_versions (owner_id, month, version)
        SELECT DISTINCT owner_id, coalesce(local_month, ''), 1 FROM assets WHERE stack_id = NEW.id
        ON CONFLICT (owner_id, month) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER asset_month_versions_stack_update AFTER UPDATE ON stacks BEGIN
    INSERT INTO asset_month_versions (owner_id, month, version)
        SELECT DISTINCT owner_id, coalesce(local_month, ''), 1 FROM assets WHERE stack_id IN (OLD.id, NEW.id)
        ON CONFLICT (owner_id, month) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER asset_month_versions_stack_delete AFTER DELETE ON stacks BEGIN
    INSERT INTO asset_month_versions (owner_id, month, version)
        SELECT DISTINCT owner_id, coalesce(local_month, ''), 1 FROM assets WHERE stack_id = OLD.id
        ON CONFLICT (owner_id, month) DO UPDATE SET version = version + 1;
END;
