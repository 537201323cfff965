"""The API tests' fixtures (a real app on a loopback port, signed-in users), over the importer's own."""

from tests.api.conftest import admin, alice, bob, client, make_user, services, settings  # noqa: F401
