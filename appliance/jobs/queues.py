"""Immich's queues and job names, and the default concurrency of each on a small box."""

from __future__ import annotations

import os
from collections.abc import Callable

# Every queue Immich's API reports (QueueName in the 3.x SDK), in its order.
QUEUE_NAMES = (
    "thumbnailGeneration", "metadataExtraction", "videoConversion", "faceDetection", "facialRecognition",
    "smartSearch", "duplicateDetection", "backgroundTask", "storageTemplateMigration", "migration", "search",
    "sidecar", "library", "notifications", "backupDatabase", "ocr", "workflow", "integrityCheck", "editor",
)

METADATA = "metadataExtraction"
THUMBNAILS = "thumbnailGeneration"
VIDEO = "videoConversion"
SIDECAR = "sidecar"
BACKGROUND = "backgroundTask"

# Job name → queue, for the jobs Shoebox runs.
JOB_QUEUES = {
    "AssetExtractMetadata": METADATA,
    "AssetGenerateThumbnails": THUMBNAILS,
    "AssetEncodeVideo": VIDEO,
    "SidecarCheck": SIDECAR,
}

# Immich's defaults (config.ts `job.*.concurrency`).
IMMICH_CONCURRENCY = {
    THUMBNAILS: 3, METADATA: 5, VIDEO: 1, SIDECAR: 5, "library": 5, "migration": 5, BACKGROUND: 5,
    "search": 5, "smartSearch": 2, "faceDetection": 2, "notifications": 5, "ocr": 1, "editor": 2,
}

# Priorities: lower runs first. A fresh upload's jobs go before a "run all" backlog.
PRIORITY_UPLOAD = 0
PRIORITY_BACKLOG = 10

ConcurrencyProvider = Callable[[str], int]


def default_concurrency(cores: int | None = None) -> ConcurrencyProvider:
    """Immich's numbers bounded by the cores: CPU-bound lanes get at most one job per core."""
    count = max(1, cores or os.cpu_count() or 1)

    def provider(queue: str) -> int:
        base = IMMICH_CONCURRENCY.get(queue, 1)
        if queue in (THUMBNAILS, VIDEO):
            return max(1, min(base, count))
        return max(1, min(base, 2 * count))

    return provider

# `POST /jobs` names (ManualJobName).
MANUAL_JOB_NAMES = (
    "person-cleanup", "tag-cleanup", "user-cleanup", "memory-cleanup", "memory-create", "backup-database",
    "integrity-missing-files", "integrity-untracked-files", "integrity-checksum-mismatch",
    "integrity-missing-files-refresh", "integrity-untracked-files-refresh", "integrity-checksum-mismatch-refresh",
    "integrity-missing-files-delete-all", "integrity-untracked-files-delete-all",
    "integrity-checksum-mismatch-delete-all",
)
