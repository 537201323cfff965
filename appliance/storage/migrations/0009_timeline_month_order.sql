-- A month of the timeline in the order it is shown, from one index range (issue 7).
--
-- At 1M assets a month is ~3,800 photos. 0008's covering index kept them in local time order, so every
-- month was sorted again (by file_created_at, id) and each row's ratio and local offset (two julianday()
-- calls) were computed and printed at every request. Three virtual generated columns (computed from the
-- row, stored nowhere but in the index below, so nothing has to keep them equal and an older Shoebox
-- ignores them):
--   local_month          'YYYY-MM' of local_date_time: the bucket a photo belongs to;
--   local_offset_text    the zone offset the timeline shows, in hours, as JSON prints it ('2', '5.5');
--   timeline_ratio_text  width / height as shown (swapped for rotated photos), 4 decimals, '1.0' if unknown.
-- Both numbers are rounded (2 and 4 decimals), so the text SQLite prints (15 significant digits) is the
-- shortest form of the double, the one Python and orjson print.
-- The index is keyed (owner, month, file_created_at, id): one owner's month is one range already in the
-- timeline's order, walked forwards or backwards, and it holds every column a month's answer reads.
ALTER TABLE assets ADD COLUMN local_month TEXT AS (substr(local_date_time, 1, 7)) VIRTUAL;
-- The offset's text: SQLite prints a REAL with its '.0' ('2.0', '5.5'), trimmed to '2' as JSON has it; one
-- julianday() pair per row written. '-0' (a few milliseconds behind: round gives -0.0) and NULL are '0'.
ALTER TABLE assets ADD COLUMN local_offset_text TEXT AS (
    coalesce(nullif(rtrim(rtrim(CAST(round((julianday(local_date_time) - julianday(file_created_at)) * 24, 2)
        AS TEXT), '0'), '.'), '-0'), '0')
) VIRTUAL;
ALTER TABLE assets ADD COLUMN timeline_ratio_text TEXT AS (
    CAST(CASE WHEN width > 0 AND height > 0 THEN round(
        CASE WHEN exif_orientation IN ('5', '6', '7', '8', '90', '-90') THEN 1.0 * height / width
        ELSE 1.0 * width / height END, 4)
    ELSE 1.0 END AS TEXT)
) VIRTUAL;

DROP INDEX assets_timeline;
CREATE INDEX assets_timeline ON assets(owner_id, local_month, file_created_at, id, visibility, deleted_at,
    is_favorite, type, created_at, duration_ms, stack_id, live_photo_video_id, thumbhash, exif_projection_type,
    exif_city, exif_country, local_offset_text, timeline_ratio_text);

-- A version per owner, raised by every change to the owner's assets (any column: place, rotation and stack
-- copies reach the row through the triggers of 0008 and 0003) and stacks. A month of the timeline built
-- once is kept in memory (TimelineService) under the versions of the owners it shows and given again only
-- while they are unchanged. Rows are never deleted, so a version never comes back.
CREATE TABLE asset_versions (
    owner_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER asset_versions_insert AFTER INSERT ON assets BEGIN
    INSERT INTO asset_versions (owner_id, version) VALUES (NEW.owner_id, 1)
        ON CONFLICT (owner_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER asset_versions_update AFTER UPDATE ON assets BEGIN
    INSERT INTO asset_versions (owner_id, version) VALUES (NEW.owner_id, 1)
        ON CONFLICT (owner_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER asset_versions_owner AFTER UPDATE OF owner_id ON assets WHEN OLD.owner_id IS NOT NEW.owner_id
BEGIN
    INSERT INTO asset_versions (owner_id, version) VALUES (OLD.owner_id, 1)
        ON CONFLICT (owner_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER asset_versions_delete AFTER DELETE ON assets BEGIN
    INSERT INTO asset_versions (owner_id, version) VALUES (OLD.owner_id, 1)
        ON CONFLICT (owner_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER asset_versions_stack_insert AFTER INSERT ON stacks BEGIN
    INSERT INTO asset_versions (owner_id, version) VALUES (NEW.owner_id, 1)
        ON CONFLICT (owner_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER asset_versions_stack_update AFTER UPDATE ON stacks BEGIN
    INSERT INTO asset_versions (owner_id, version) VALUES (NEW.owner_id, 1)
        ON CONFLICT (owner_id) DO UPDATE SET version = version + 1;
    INSERT INTO asset_versions (owner_id, version) SELECT OLD.owner_id, 1 WHERE OLD.owner_id IS NOT NEW.owner_id
        ON CONFLICT (owner_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER asset_versions_stack_delete AFTER DELETE ON stacks BEGIN
    INSERT INTO asset_versions (owner_id, version) VALUES (OLD.owner_id, 1)
        ON CONFLICT (owner_id) DO UPDATE SET version = version + 1;
END;
