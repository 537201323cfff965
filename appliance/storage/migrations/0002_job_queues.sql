-- Per-queue state of the job runner that must survive a restart (Immich keeps it in Redis).
CREATE TABLE job_queues (
    name TEXT PRIMARY KEY,                   -- Immich queue name
    is_paused INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);

-- Finished jobs are pruned by age; this index makes the pruning and the counts cheap.
CREATE INDEX jobs_queue_status ON jobs(queue, status, updated_at);
