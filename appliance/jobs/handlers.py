"""The media jobs: what runs for AssetExtractMetadata, AssetGenerateThumbnails, AssetEncodeVideo and
SidecarCheck. Handlers are idempotent (a job re-run after a crash redoes the same work and writes the same
rows) and raise on failure; the runner records the reason."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from appliance import clock as clocks
from appliance.errors import ShoeboxError
from appliance.jobs.queues import METADATA, THUMBNAILS, VIDEO
from appliance.jobs.workers import WorkerPool
from appliance.library.ingest import IngestRequest, IngestService
from appliance.library.places import PlacesService
from appliance.media import motion, video
from appliance.media.errors import MediaError
from appliance.media.limits import ImageLimits
from appliance.media.metadata import ExifTool, MediaMetadata, build_metadata
from appliance.storage import asset_media
from appliance.storage.db import Database
from appliance.storage.jobs import enqueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageSettings:
    """Immich's image defaults (system config `image`)."""

    thumbnail_size: int = 250
    thumbnail_format: str = "webp"
    preview_size: int = 1440
    preview_format: str = "jpeg"
    quality: int = 80
    limits: ImageLimits = field(default_factory=ImageLimits)


def thumbs_dir(data_dir: Path, owner_id: str, asset_id: str) -> Path:
    return data_dir / "thumbs" / owner_id / asset_id[0:2] / asset_id[2:4]


def encoded_video_path(data_dir: Path, owner_id: str, asset_id: str, suffix: str = "") -> Path:
    return data_dir / "encoded-video" / owner_id / asset_id[0:2] / asset_id[2:4] / f"{asset_id}{suffix}.mp4"


class MediaHandlers:
    def __init__(
        self,
        db: Database,
        data_dir: Path,
        *,
        clock: clocks.Clock = clocks.utc_now,
        exiftool: ExifTool,
        pool: WorkerPool,
        ingest: IngestService,
        images: ImageSettings | None = None,
        transcode: video.TranscodeConfig | None = None,
        encoder: Callable[[], video.VideoEncoder] = lambda: video.SOFTWARE_H264,
        places: PlacesService | None = None,
    ) -> None:
        self.db = db
        self.places = places  # None: no reverse geocoding (city/state/country stay as they are)
        self.data_dir = data_dir
        self.clock = clock
        self.exiftool = exiftool
        self.pool = pool
        self.ingest = ingest
        self.images = images or ImageSettings()
        self.transcode = transcode or video.TranscodeConfig()
        self.encoder = encoder
        # told (encoder name, succeeded, detail) after each transcode: the hardware breaker learns from it
        self.encoder_feedback: Callable[[str, bool, str], None] = lambda name, ok, detail: None
        # told (owner_id, asset_id) when an asset's thumbnails are ready, e.g. to tell phones over socket.io
        self.thumbnail_listeners: list[Callable[[str, str], None]] = []

    def table(self) -> dict[str, Callable[[dict[str, Any], int], Any]]:
        return {
            "AssetExtractMetadata": self.extract_metadata,
            "AssetGenerateThumbnails": self.generate_thumbnails,
            "AssetEncodeVideo": self.encode_video,
            "SidecarCheck": self.check_sidecar,
        }

    def _now(self) -> str:
        return clocks.iso(self.clock())

    async def _asset(self, asset_id: str) -> dict[str, Any] | None:
        async with self.db.reader() as conn:
            asset = await asset_media.get_asset(conn, asset_id)
        if asset is None or asset["deleted_at"] is not None:
            log.info("asset %s is gone; nothing to do", asset_id)
            return None
        return asset

    def _original(self, asset: dict[str, Any]) -> Path:
        path = self.data_dir / asset["original_path"]
        if not path.is_file():
            raise MediaError(f"original file is missing: {asset['original_path']}")
        return path

    # --- metadata -------------------------------------------------------------------------------------

    async def read_metadata(self, asset: dict[str, Any]) -> MediaMetadata:
        path = self._original(asset)
        tags = await self.exiftool.read_tags(path)
        sidecar = None
        if asset["sidecar_path"]:
            sidecar_file = self.data_dir / asset["sidecar_path"]
            if sidecar_file.is_file():
                sidecar = await self.exiftool.read_tags(sidecar_file)
        probed = None
        if asset["type"] == "VIDEO":
            try:
                probed = (await video.probe(path)).as_tags()
            except MediaError as err:
                log.warning("ffprobe failed for %s: %s", asset["id"], err)
        mtime = clocks.parse_iso(asset["file_modified_at"])
        return build_metadata(
            tags,
            mtime=mtime,
            file_size=path.stat().st_size,
            is_video=asset["type"] == "VIDEO",
            sidecar=sidecar,
            video=probed,
            now=self.clock(),
        )

    async def extract_metadata(self, payload: dict[str, Any], priority: int = 0) -> None:
        asset = await self._asset(payload["id"])
        if asset is None:
            return
        meta = await self.read_metadata(asset)
        exif = exif_row(meta)
        if self.places is not None:
            # as Immich: the place comes from the coordinates (none without them), not from EXIF text tags
            exif.update((await self.places.reverse_geocode(meta.latitude, meta.longitude)).as_dict())
        now = self._now()
        width, height = meta.oriented_size
        async with self.db.transaction() as conn:
            await asset_media.write_metadata(
                conn, asset["id"], exif=exif, asset=asset_row(meta, width, height), now=now
            )
            await enqueue(
                conn, queue=THUMBNAILS, name="AssetGenerateThumbnails", payload={"id": asset["id"]}, now=now,
                priority=priority, dedupe_key=f"thumbs:{asset['id']}",
            )
            if asset["type"] == "VIDEO":
                await enqueue(
                    conn, queue=VIDEO, name="AssetEncodeVideo", payload={"id": asset["id"]}, now=now,
                    priority=priority, dedupe_key=f"video:{asset['id']}",
                )
            if meta.live_photo_cid:
                await self._link_live_photo(conn, asset, meta.live_photo_cid, now)
        if meta.motion is not None and asset["type"] == "IMAGE":
            await self._apply_motion_photo(asset, meta)

    async def _link_live_photo(self, conn: Any, asset: dict[str, Any], cid: str, now: str) -> None:
        """An iPhone HEIC and MOV uploaded apart share a ContentIdentifier: link them (Immich does it here)."""
        other = "IMAGE" if asset["type"] == "VIDEO" else "VIDEO"
        match = await asset_media.find_live_photo_match(
            conn, owner_id=asset["owner_id"], cid=cid, other_type=other, exclude_id=asset["id"]
        )
        if match is None:
            return
        photo, clip = (asset, match) if asset["type"] == "IMAGE" else (match, asset)
        await asset_media.link_live_photo(conn, photo_id=photo["id"], video_id=clip["id"], now=now)

    async def _apply_motion_photo(self, asset: dict[str, Any], meta: MediaMetadata) -> None:
        """Extract the embedded video and make it a hidden VIDEO asset through the one ingest path (staging,
        fsync, exclusive rename, row + metadata job in one transaction, quota), then link it. Re-running
        finds the same bytes as a duplicate and only re-links. A broken embedded video is logged, not fatal:
        the photo itself is fine."""
        assert meta.motion is not None
        source = self._original(asset)
        # Staging is emptied at every start, so a crash here leaves nothing behind.
        scratch = self.ingest.store.staging
        scratch.mkdir(parents=True, exist_ok=True)
        temp = scratch / f"motion-{asset['id']}.mp4"
        try:
            await motion.extract_motion_video(self.exiftool, source, meta.motion, temp)
            request = IngestRequest(
                owner_id=asset["owner_id"],
                filename=f"{Path(asset['original_file_name']).stem}.mp4",
                file_created_at=meta.date_time_original,
                file_modified_at=clocks.parse_iso(asset["file_modified_at"]),
                visibility="hidden",
                device_asset_id="NONE",
                device_id="NONE",
                source=asset["source"],
            )
            result = await self.ingest.ingest_path(request, temp)
        except (MediaError, ShoeboxError) as err:
            log.warning("motion video of %s not extracted: %s", asset["id"], err)
            return
        finally:
            temp.unlink(missing_ok=True)
        async with self.db.transaction() as conn:
            await asset_media.link_live_photo(conn, photo_id=asset["id"], video_id=result.id, now=self._now())

    # --- thumbnails -----------------------------------------------------------------------------------

    async def generate_thumbnails(self, payload: dict[str, Any], priority: int = 0) -> None:
        asset = await self._asset(payload["id"])
        if asset is None:
            return
        source = self._original(asset)
        folder = thumbs_dir(self.data_dir, asset["owner_id"], asset["id"])
        folder.mkdir(parents=True, exist_ok=True)
        preview = folder / f"{asset['id']}-preview.{self.images.preview_format}"
        thumbnail = folder / f"{asset['id']}-thumbnail.{self.images.thumbnail_format}"
        poster = folder / f".{asset['id']}-poster.png"
        orientation = None
        try:
            if asset["type"] == "VIDEO":
                info = await video.probe(source)
                await video.extract_poster(source, poster, info)
                source = poster
            else:
                orientation = await self._exif_orientation(asset["id"])
            answer = await self.pool.request(
                {
                    "op": "render",
                    "source": str(source),
                    "orientation": orientation,
                    "max_pixels": self.images.limits.max_pixels,
                    "outputs": [
                        {"path": str(preview), "size": self.images.preview_size,
                         "format": self.images.preview_format, "quality": self.images.quality},
                        {"path": str(thumbnail), "size": self.images.thumbnail_size,
                         "format": self.images.thumbnail_format, "quality": self.images.quality},
                    ],
                }
            )
        finally:
            poster.unlink(missing_ok=True)
        async with self.db.transaction() as conn:
            await asset_media.set_thumbnails(
                conn,
                asset["id"],
                files={
                    "preview": str(preview.relative_to(self.data_dir)),
                    "thumbnail": str(thumbnail.relative_to(self.data_dir)),
                },
                thumbhash=base64.b64decode(answer["thumbhash"]),
                width=None if asset["type"] == "VIDEO" else answer["width"],
                height=None if asset["type"] == "VIDEO" else answer["height"],
                now=self._now(),
            )
        for listener in self.thumbnail_listeners:
            listener(asset["owner_id"], asset["id"])

    async def _exif_orientation(self, asset_id: str) -> int | None:
        value = await self.db.fetchval("SELECT orientation FROM asset_exif WHERE asset_id = ?", (asset_id,))
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    # --- video ----------------------------------------------------------------------------------------

    async def encode_video(self, payload: dict[str, Any], priority: int = 0) -> None:
        asset = await self._asset(payload["id"])
        if asset is None or asset["type"] != "VIDEO":
            return
        source = self._original(asset)
        info = await video.probe(source)
        dest = encoded_video_path(self.data_dir, asset["owner_id"], asset["id"])
        encoder = self.encoder()
        try:
            result = await video.transcode(source, dest, info, self.transcode, encoder)
        except MediaError as err:
            if encoder.name == video.SOFTWARE_H264.name:
                raise
            # a hardware encoder failed on this file: this job falls back to software, the breaker counts it
            self.encoder_feedback(encoder.name, False, str(err))
            result = await video.transcode(source, dest, info, self.transcode, video.SOFTWARE_H264)
        else:
            if result.transcoded:
                self.encoder_feedback(encoder.name, True, "")
        relative = str(dest.relative_to(self.data_dir)) if result.transcoded else None
        if not result.transcoded:
            dest.unlink(missing_ok=True)
        async with self.db.transaction() as conn:
            await asset_media.set_encoded_video(conn, asset["id"], path=relative, now=self._now())

    # --- sidecars -------------------------------------------------------------------------------------

    async def check_sidecar(self, payload: dict[str, Any], priority: int = 0) -> None:
        """Find `photo.jpg.xmp` or `photo.xmp` beside the original; on a change, re-read the metadata."""
        asset = await self._asset(payload["id"])
        if asset is None:
            return
        original = self.data_dir / asset["original_path"]
        found = None
        for candidate in (original.with_name(original.name + ".xmp"), original.with_suffix(".xmp")):
            if candidate.is_file():
                found = str(candidate.relative_to(self.data_dir))
                break
        if found == asset["sidecar_path"]:
            return
        now = self._now()
        async with self.db.transaction() as conn:
            await asset_media.set_sidecar_path(conn, asset["id"], path=found, now=now)
            await enqueue(
                conn, queue=METADATA, name="AssetExtractMetadata", payload={"id": asset["id"], "source": "sidecar"},
                now=now, priority=priority, dedupe_key=f"metadata:{asset['id']}",
            )


def exif_row(meta: MediaMetadata) -> dict[str, Any]:
    return {
        "make": meta.make,
        "model": meta.model,
        "lens_model": meta.lens_model,
        "exif_image_width": meta.width,
        "exif_image_height": meta.height,
        "file_size_in_byte": meta.file_size,
        "orientation": str(meta.orientation) if meta.orientation else None,
        "date_time_original": clocks.iso(meta.date_time_original),
        "modify_date": clocks.iso(meta.file_modified_at),
        "time_zone": meta.time_zone,
        "f_number": meta.f_number,
        "focal_length": meta.focal_length,
        "iso": meta.iso,
        "exposure_time": meta.exposure_time,
        "latitude": meta.latitude,
        "longitude": meta.longitude,
        "description": meta.description,
        "projection_type": meta.projection_type,
        "rating": meta.rating,
        "fps": meta.fps,
        "profile_description": meta.profile_description,
        "colorspace": meta.colorspace,
        "bits_per_sample": meta.bits_per_sample,
        "auto_stack_id": meta.auto_stack_id,
        "live_photo_cid": meta.live_photo_cid,
        "tags": json.dumps(meta.tags) if meta.tags else None,
    }


def asset_row(meta: MediaMetadata, width: int | None, height: int | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "file_created_at": clocks.iso(meta.date_time_original),
        "local_date_time": clocks.local_iso(meta.local_date_time.replace(tzinfo=UTC)),
        "duration_ms": meta.duration_ms,
    }
    if width and height:
        row["width"], row["height"] = width, height
    return row


