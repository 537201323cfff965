"""The CA certificates that aiohttp's client context needs, loaded after start-up rather than during it.

Importing aiohttp builds its certificate-verifying client context at once, and that reads the system's whole
CA bundle: about 50 ms of the time to the first answer here, more on a Pi Zero, for a server that makes no
outgoing TLS connection while it starts. So the import happens with the default CA locations pointed at
nothing (`SSL_CERT_FILE`/`SSL_CERT_DIR`, read by OpenSSL at that moment), and the same context object loads
the real bundle in a thread once the server answers. Until then it verifies nothing, so it fails closed.
"""

from __future__ import annotations

import contextlib
import os
import ssl
from collections.abc import Iterator

_NOWHERE = "/nonexistent/shoebox-ca-deferred"
_deferred: list[ssl.SSLContext] = []


@contextlib.contextmanager
def ca_certificates_deferred() -> Iterator[None]:
    """Import aiohttp inside this block (single-threaded, at the start of the process)."""
    saved = {name: os.environ.get(name) for name in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    os.environ["SSL_CERT_FILE"] = os.environ["SSL_CERT_DIR"] = _NOWHERE
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _deferred.extend(_contexts_left_empty())


def _contexts_left_empty() -> list[ssl.SSLContext]:
    import sys

    connector = sys.modules.get("aiohttp.connector")
    context = getattr(connector, "_SSL_CONTEXT_VERIFIED", None)
    if isinstance(context, ssl.SSLContext) and context.cert_store_stats()["x509_ca"] == 0:
        return [context]
    return []


def load_deferred_ca_certificates() -> int:
    """Give the contexts built during the import their CA certificates (blocking: ~30 ms). Returns how many
    contexts were completed."""
    count = 0
    while _deferred:
        _deferred.pop().load_default_certs(ssl.Purpose.SERVER_AUTH)
        count += 1
    return count
