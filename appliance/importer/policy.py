"""What to import from a card or folder: the walk (media folders first, hidden and system folders skipped,
no symlinks out of the source, depth and count capped) and the grouping of sidecars and live-photo pairs.

Blocking (it lists directories): call `scan_blocking` from a thread.

`shoebox import` loads this before forking its copy process, where every module loaded delays the
copying: so no `dataclasses` and no `logging` at load (11-17 and 6-8 ms there).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from appliance.logs import logger
from appliance.media import mimetypes

if TYPE_CHECKING:
    from appliance.storage.imports import KnownFile

log = logger(__name__)

# Folders cameras and operating systems put on cards that never hold the user's photos.
SYSTEM_FOLDERS = frozenset(
    name.lower()
    for name in (
        "System Volume Information", "$RECYCLE.BIN", "RECYCLER", "RECYCLED", "lost+found", "LOST.DIR",
        "Android", "FOUND.000", "$Extend",
    )
)
# Where cameras keep media, walked first so a capped walk still gets the photos.
MEDIA_ROOTS = ("dcim", "private", "mp_root", "avchd", "clip", "xdroot", "pictures", "photos", "videos")
LIVE_PHOTO_IMAGES = frozenset({".heic", ".heif", ".jpg", ".jpeg"})
LIVE_PHOTO_VIDEOS = frozenset({".mov"})

# Errors that mean the source went away (card pulled, FUSE driver gone, loop device detached).
GONE_ERRNOS = frozenset({errno.EIO, errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.ENOTCONN, errno.ESTALE,
                         errno.ENOMEDIUM, errno.EBADF})


class Limits(NamedTuple):
    max_depth: int = 16
    max_files: int = 200_000


class SourceFile(NamedTuple):
    relpath: str  # POSIX path below the source root: the key of the per-source record
    path: Path
    size: int
    mtime_ns: int


class ImportItem:
    """One asset to import, with what travels with it."""

    __slots__ = ("file", "sidecar", "live_video")

    def __init__(self, file: SourceFile, sidecar: SourceFile | None = None,
                 live_video: ImportItem | None = None) -> None:
        self.file = file
        self.sidecar = sidecar
        self.live_video = live_video  # the .MOV half of a live photo, imported first

    def __repr__(self) -> str:
        return f"ImportItem({self.file!r}, sidecar={self.sidecar!r}, live_video={self.live_video!r})"

    def files(self) -> Iterator[SourceFile]:
        if self.live_video is not None:
            yield from self.live_video.files()
        yield self.file


class ScanResult:
    """What a walk found: the items in import order, what it passed over, and whether it hit the cap."""

    __slots__ = ("items", "skipped_entries", "truncated")

    def __init__(self, items: list[ImportItem] | None = None, skipped_entries: int = 0,
                 truncated: bool = False) -> None:
        self.items: list[ImportItem] = [] if items is None else items
        self.skipped_entries = skipped_entries  # non-media files, hidden entries, links out of the source
        self.truncated = truncated

    def __repr__(self) -> str:
        return (f"ScanResult({len(self.items)} items, skipped_entries={self.skipped_entries},"
                f" truncated={self.truncated})")

    @property
    def asset_count(self) -> int:
        return sum(1 for item in self.items for _ in item.files())

    @property
    def total_bytes(self) -> int:
        return sum(f.size for item in self.items for f in item.files())


def _skip_folder(name: str) -> bool:
    return name.startswith(".") or name.lower() in SYSTEM_FOLDERS


def _root_order(name: str) -> tuple[int, str]:
    lowered = name.lower()
    return (MEDIA_ROOTS.index(lowered) if lowered in MEDIA_ROOTS else len(MEDIA_ROOTS), lowered)


class _Found(NamedTuple):
    """A media file or sidecar the walk found, with its lower-cased name, stem and extension (worked out
    once: `Path`'s properties parse the path again at every use, which was most of the walk's time)."""

    name: str
    stem: str
    ext: str
    file: SourceFile


class _Walker:
    def __init__(self, root: Path, limits: Limits) -> None:
        self.root = root
        self.real_root = Path(os.path.realpath(root))
        self.limits = limits
        self.result = ScanResult()
        self.count = 0

    def walk(self, folder: Path, rel: str, depth: int) -> None:
        if self.result.truncated:
            return
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: _root_order(e.name) if depth == 0 else (0, e.name.lower()))
        files: list[_Found] = []
        for entry in entries:
            relpath = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                if _skip_folder(entry.name) or depth + 1 > self.limits.max_depth:
                    self.result.skipped_entries += 1
                    continue
                self.walk(folder / entry.name, relpath, depth + 1)
            elif entry.name.startswith("."):
                self.result.skipped_entries += 1
            elif (found := self._file(folder, entry, relpath)) is not None:
                files.append(found)
            else:
                self.result.skipped_entries += 1
        self._group(files)

    def _file(self, folder: Path, entry: os.DirEntry[str], relpath: str) -> _Found | None:
        if mimetypes.asset_type(entry.name) is None and not mimetypes.is_sidecar(entry.name):
            return None  # decided by the name alone: no stat
        if entry.is_symlink():
            target = Path(os.path.realpath(entry.path))
            if not target.is_relative_to(self.real_root) or not target.is_file():
                log.info("not following %s: it points outside the source", relpath)
                return None
            stat = target.stat()
        elif entry.is_file(follow_symlinks=False):
            stat = entry.stat(follow_symlinks=False)
        else:
            return None
        if stat.st_size == 0:
            return None
        name, ext = entry.name.lower(), mimetypes.extension(entry.name)
        stem = name[: len(name) - len(ext)] if ext else name  # as `Path.stem`, lower-cased
        # `folder / name` parses only the name; `Path(entry.path)` would parse the whole path again
        return _Found(name, stem, ext, SourceFile(relpath, folder / entry.name, stat.st_size, stat.st_mtime_ns))

    def _group(self, files: list[_Found]) -> None:
        """Sidecars and live-photo videos join the image they belong to; the rest stand alone."""
        sidecars = {f.name: f.file for f in files if f.ext in mimetypes.SIDECAR_TYPES}
        media = [f for f in files if f.ext not in mimetypes.SIDECAR_TYPES]
        by_stem: dict[str, list[_Found]] = {}
        for f in media:
            by_stem.setdefault(f.stem, []).append(f)
        paired_videos: dict[str, _Found] = {}
        for stem, group in by_stem.items():
            images = [f for f in group if f.ext in LIVE_PHOTO_IMAGES]
            videos = [f for f in group if f.ext in LIVE_PHOTO_VIDEOS]
            if len(images) == 1 and len(videos) == 1:
                paired_videos[stem] = videos[0]
        for f in media:
            video = paired_videos.get(f.stem)
            if video is f:
                continue
            if self.count >= self.limits.max_files:
                self.result.truncated = True
                return
            item = ImportItem(f.file, self._sidecar_for(f, sidecars))
            if video is not None and f.ext in LIVE_PHOTO_IMAGES:
                item.live_video = ImportItem(video.file, self._sidecar_for(video, sidecars, own_only=True))
                self.count += 1
            self.count += 1
            self.result.items.append(item)

    @staticmethod
    def _sidecar_for(f: _Found, sidecars: dict[str, SourceFile], own_only: bool = False) -> SourceFile | None:
        """`IMG_1.JPG.xmp` (darktable, Immich) first, then `IMG_1.xmp` (Lightroom, cameras)."""
        own = sidecars.get(f.name + ".xmp")
        if own is not None or own_only:
            return own
        return sidecars.get(f.stem + ".xmp")


def scan_blocking(root: Path, limits: Limits | None = None) -> ScanResult:
    """List what to import below `root`. OSErrors (a pulled card) propagate to the caller."""
    walker = _Walker(root, limits or Limits())
    walker.walk(root, "", 0)
    if walker.result.truncated:
        log.warning("stopped listing %s after %d files (the limit)", root, walker.limits.max_files)
    return walker.result


def is_gone(err: BaseException) -> bool:
    """Does this error mean the source disappeared rather than one bad file?"""
    return isinstance(err, OSError) and err.errno in GONE_ERRNOS


def known_copy(known: Mapping[str, KnownFile], file: SourceFile) -> KnownFile | None:
    """The source's record of this file, if it brought the same file (path, size, mtime) before."""
    entry = known.get(file.relpath)
    if entry is not None and entry.size == file.size and entry.mtime_ns == file.mtime_ns:
        return entry
    return None


def files_to_copy(items: Iterable[ImportItem],
                  known: Mapping[str, KnownFile]) -> Iterator[tuple[SourceFile, SourceFile | None]]:
    """The files to copy, with their sidecars, in the order a session ingests them (a live photo's video
    before its photo), without those the source brought before. `known` is read as the files are asked
    for: it may be filled while this runs (an import starts copying before its database is open)."""
    for item in items:
        if item.live_video is not None:
            yield from files_to_copy([item.live_video], known)
        if known_copy(known, item.file) is None:
            yield item.file, item.sidecar
