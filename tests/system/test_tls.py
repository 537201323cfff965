"""aiohttp's certificate-verifying client context gets its CA certificates after start-up, not during it."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys

import pytest

from tests.server_process import REPO_ROOT

PROBE = """
import json, os, ssl
from appliance.system.tls import ca_certificates_deferred, load_deferred_ca_certificates
with ca_certificates_deferred():
    import aiohttp
import aiohttp.connector as connector
context = connector._SSL_CONTEXT_VERIFIED
during = context.cert_store_stats()["x509_ca"]
env = [os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")]
completed = load_deferred_ca_certificates()
print(json.dumps({"during": during, "after": context.cert_store_stats()["x509_ca"], "env": env,
                  "completed": completed, "mode": context.verify_mode == ssl.CERT_REQUIRED}))
"""


def test_the_ca_bundle_is_loaded_into_the_same_context_after_the_import() -> None:
    if ssl.create_default_context().cert_store_stats()["x509_ca"] == 0:
        pytest.skip("this machine has no system CA certificates to load")
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["during"] == 0  # the import did not read the bundle ...
    assert result["env"] == [os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")]  # ... restored it ...
    assert result["completed"] == 1 and result["after"] > 0  # ... and the context verifies once loaded
    assert result["mode"]
