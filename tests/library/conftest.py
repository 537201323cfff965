"""The library tests share the importer's real services on a temporary data folder."""

from tests.importer.conftest import admin, services, settings  # noqa: F401
