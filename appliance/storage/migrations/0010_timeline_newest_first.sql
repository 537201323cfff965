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
