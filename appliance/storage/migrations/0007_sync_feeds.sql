-- Delete history and change ids for stacks and memories, so the mobile app's sync stream sees them
-- (StackDeleteV1, MemoryDeleteV1, MemoryToAssetV1, MemoryToAssetDeleteV1). Triggers keep every code path
-- that deletes (the API, a stack merge, a user removed) writing the audit row in the same transaction.
-- UUIDv7 in SQL: 48 bits of Unix milliseconds, version 7, variant 10, random rest.

CREATE TABLE stack_audit (
    id TEXT PRIMARY KEY,
    stack_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);
CREATE INDEX stack_audit_user ON stack_audit(user_id, id);

CREATE TABLE memory_audit (
    id TEXT PRIMARY KEY,
    memory_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);
CREATE INDEX memory_audit_user ON memory_audit(user_id, id);

CREATE TABLE memory_asset_audit (
    id TEXT PRIMARY KEY,
    memory_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);
CREATE INDEX memory_asset_audit_memory ON memory_asset_audit(memory_id, id);

ALTER TABLE memory_assets ADD COLUMN update_id TEXT NOT NULL DEFAULT '';

CREATE VIEW sql_uuid7 AS
SELECT substr(m, 1, 8) || '-' || substr(m, 9, 4) || '-7' || substr(r, 1, 3) || '-' ||
       substr('89ab', 1 + (abs(random()) % 4), 1) || substr(r, 4, 3) || '-' || substr(r, 7, 12) AS id
FROM (SELECT printf('%012x', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)) AS m,
             lower(hex(randomblob(9))) AS r);

CREATE TRIGGER stacks_audit_delete AFTER DELETE ON stacks
BEGIN
    INSERT INTO stack_audit (id, stack_id, user_id, deleted_at)
    SELECT id, OLD.id, OLD.owner_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM sql_uuid7;
END;

CREATE TRIGGER memories_audit_delete AFTER DELETE ON memories
BEGIN
    INSERT INTO memory_audit (id, memory_id, user_id, deleted_at)
    SELECT id, OLD.id, OLD.owner_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM sql_uuid7;
END;

CREATE TRIGGER memory_assets_audit_delete AFTER DELETE ON memory_assets
BEGIN
    INSERT INTO memory_asset_audit (id, memory_id, asset_id, deleted_at)
    SELECT id, OLD.memory_id, OLD.asset_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM sql_uuid7;
END;

CREATE TRIGGER memory_assets_update_id AFTER INSERT ON memory_assets WHEN NEW.update_id = ''
BEGIN
    UPDATE memory_assets SET update_id = (SELECT id FROM sql_uuid7)
    WHERE memory_id = NEW.memory_id AND asset_id = NEW.asset_id;
END;
