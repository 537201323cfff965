-- The EXIF copies of 0008 are written only when they change.
--
-- Every new asset gets its asset_exif row (file name, size) in the same transaction as the asset, with no
-- place or orientation yet: the insert trigger of 0008 then updated the asset row it had just written with
-- the same four NULLs. That update rewrote the row's entry in the 18-column timeline index and ran every
-- AFTER UPDATE trigger on assets (the version counters of 0009 and 0010): about a third of the SQL time of
-- ingesting a file. The same held for the metadata job rewriting values that had not changed.
-- Now the UPDATE matches the asset only if one of the copies differs, so an unchanged copy runs nothing.
-- (The delete trigger of 0008 is unchanged: a removed EXIF row always clears the copies.)
DROP TRIGGER asset_exif_copy_insert;
CREATE TRIGGER asset_exif_copy_insert AFTER INSERT ON asset_exif BEGIN
    UPDATE assets SET exif_orientation = NEW.orientation, exif_projection_type = NEW.projection_type,
        exif_city = NEW.city, exif_country = NEW.country
    WHERE id = NEW.asset_id AND (exif_orientation IS NOT NEW.orientation
        OR exif_projection_type IS NOT NEW.projection_type OR exif_city IS NOT NEW.city
        OR exif_country IS NOT NEW.country);
END;

DROP TRIGGER asset_exif_copy_update;
CREATE TRIGGER asset_exif_copy_update AFTER UPDATE OF orientation, projection_type, city, country ON asset_exif
BEGIN
    UPDATE assets SET exif_orientation = NEW.orientation, exif_projection_type = NEW.projection_type,
        exif_city = NEW.city, exif_country = NEW.country
    WHERE id = NEW.asset_id AND (exif_orientation IS NOT NEW.orientation
        OR exif_projection_type IS NOT NEW.projection_type OR exif_city IS NOT NEW.city
        OR exif_country IS NOT NEW.country);
END;
