"""Shoebox: an Immich-compatible photo server for a home box."""

__version__ = "0.1.0"
IMMICH_API_VERSION = (3, 2, 2)
