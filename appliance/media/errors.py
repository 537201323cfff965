"""Errors of the media layer. Their message is what a failed job records, so it names the cause plainly."""

from __future__ import annotations


class MediaError(Exception):
    """A file could not be read, decoded or converted."""


class UnsupportedMedia(MediaError):
    """No decoder for this file (unknown format, or a RAW without an embedded preview)."""


class CorruptMedia(MediaError):
    """The decoder started but the data is truncated or invalid."""


class MediaTooLarge(MediaError):
    """Over a configured limit (pixel count, frame count): refused before decoding."""


class ToolFailed(MediaError):
    """An external tool (ffmpeg, ffprobe, exiftool) failed or timed out."""
