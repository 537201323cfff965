"""What the server says about itself: version, features, config, storage and statistics."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from appliance import IMMICH_API_VERSION, __version__
from appliance.storage.assets import AssetRepository
from appliance.storage.users import UserRepository

FEATURES: dict[str, bool] = {
    "configFile": False,
    "duplicateDetection": False,
    "email": False,
    "facialRecognition": False,
    "importFaces": False,
    "map": False,
    "oauth": False,
    "oauthAutoLaunch": False,
    "ocr": False,
    "passwordLogin": True,
    "realtimeTranscoding": False,
    "reverseGeocoding": False,
    "search": True,
    "sidecar": True,
    "smartSearch": False,
    "trash": True,
}


def human_size(size: float) -> str:
    """Immich's `asHumanReadable`: binary units, one decimal."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    index = 0
    while size >= 1024 and index < len(units) - 1:
        size /= 1024
        index += 1
    return f"{size:.1f} {units[index]}" if index else f"{int(size)} B"


@cache
def _tool_version(command: tuple[str, ...], prefix: str = "") -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    first = output.strip().splitlines()[0] if output.strip() else ""
    return first.removeprefix(prefix).split(" ")[0] if first else None


class ServerService:
    def __init__(
        self, data_dir: Path, users: UserRepository, assets: AssetRepository, *, trash_days: int,
        features: dict[str, bool] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.users = users
        self.assets = assets
        self.trash_days = trash_days
        self.features = dict(FEATURES, **(features or {}))

    @staticmethod
    def version() -> dict[str, Any]:
        major, minor, patch = IMMICH_API_VERSION
        return {"major": major, "minor": minor, "patch": patch, "prerelease": None}

    @staticmethod
    def version_string() -> str:
        return "v" + ".".join(str(part) for part in IMMICH_API_VERSION)

    def about(self) -> dict[str, Any]:
        about: dict[str, Any] = {
            "version": self.version_string(),
            "versionUrl": "https://github.com/immich-app/immich/releases/tag/" + self.version_string(),
            "licensed": False,
            "build": f"shoebox-{__version__}",
            "repository": "shoebox",
            "nodejs": "",
        }
        try:
            import pyvips

            about["libvips"] = f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"
        except Exception:  # noqa: BLE001 - libvips missing only hides the line
            pass
        ffmpeg = _tool_version(("ffmpeg", "-version"), "ffmpeg version ")
        if ffmpeg:
            about["ffmpeg"] = ffmpeg
        exiftool = _tool_version(("exiftool", "-ver"))
        if exiftool:
            about["exiftool"] = exiftool
        return about

    def storage(self) -> dict[str, Any]:
        usage = shutil.disk_usage(self.data_dir)
        percentage = round(usage.used / usage.total * 100, 2) if usage.total else 0.0
        return {
            "diskSize": human_size(usage.total),
            "diskUse": human_size(usage.used),
            "diskAvailable": human_size(usage.free),
            "diskSizeRaw": usage.total,
            "diskUseRaw": usage.used,
            "diskAvailableRaw": usage.free,
            "diskUsagePercentage": percentage,
        }

    async def config(self) -> dict[str, Any]:
        return {
            "externalDomain": "",
            "isInitialized": await self.users.admin_exists(),
            "isOnboarded": await self.users.admin_exists(),
            "loginPageMessage": "",
            "maintenanceMode": False,
            "mapDarkStyleUrl": "https://tiles.immich.cloud/v1/style/dark.json",
            "mapLightStyleUrl": "https://tiles.immich.cloud/v1/style/light.json",
            "minFaces": 3,
            "oauthButtonText": "Login with OAuth",
            "publicUsers": True,
            "trashDays": self.trash_days,
            "userDeleteDelay": 7,
        }

    async def statistics(self) -> dict[str, Any]:
        rows = await self.assets.usage_by_user()
        by_user = [
            {
                "userId": row["user_id"], "userName": row["user_name"],
                "photos": int(row["photos"] or 0), "videos": int(row["videos"] or 0),
                "usage": int(row["usage"]), "usagePhotos": int(row["usage_photos"]),
                "usageVideos": int(row["usage_videos"]), "quotaSizeInBytes": row["quota_size_bytes"],
            }
            for row in rows
        ]
        return {
            "photos": sum(u["photos"] for u in by_user),
            "videos": sum(u["videos"] for u in by_user),
            "usage": sum(u["usage"] for u in by_user),
            "usagePhotos": sum(u["usagePhotos"] for u in by_user),
            "usageVideos": sum(u["usageVideos"] for u in by_user),
            "usageByUser": by_user,
        }
