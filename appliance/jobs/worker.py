"""The decode worker: a child process that renders thumbnails, so a decoder crash, hang or memory blow-up
ends this process and not the server. Protocol: one JSON request per line on stdin, one JSON answer per line
on stdout. Run as `python -m appliance.jobs.worker [address-space-limit-bytes]`.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path
from typing import Any

from appliance.media.errors import MediaError
from appliance.media.images import ImageLimits, OutputSpec, render_image_blocking


def handle(request: dict[str, Any]) -> dict[str, Any]:
    if request.get("op") == "ping":
        return {"ok": True, "pid": os.getpid()}
    if request.get("op") == "sleep":  # for tests: a decoder that hangs
        import time

        time.sleep(float(request.get("seconds", 3600)))
        return {"ok": True}
    if request.get("op") == "crash":  # for tests: a decoder that segfaults
        os.abort()
    limits = ImageLimits(max_pixels=int(request.get("max_pixels", ImageLimits.max_pixels)))
    outputs = [
        OutputSpec(Path(o["path"]), int(o["size"]), o["format"], int(o.get("quality", 80)))
        for o in request["outputs"]
    ]
    result = render_image_blocking(
        Path(request["source"]), outputs, limits=limits, orientation_hint=request.get("orientation")
    )
    return {
        "ok": True,
        "width": result.width,
        "height": result.height,
        "thumbhash": result.thumbhash_b64,
        "loader": result.loader,
    }


def main() -> None:
    if len(sys.argv) > 1 and int(sys.argv[1]) > 0:
        limit = int(sys.argv[1])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but answers on the protocol stream
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = handle(json.loads(line))
        except MediaError as err:
            answer = {"ok": False, "kind": type(err).__name__, "error": str(err)}
        except MemoryError:
            answer = {"ok": False, "kind": "MediaTooLarge", "error": "out of memory while decoding"}
        except Exception as err:  # a bug or an unexpected decoder error: report it, keep serving
            answer = {"ok": False, "kind": "MediaError", "error": f"{type(err).__name__}: {err}"[:500]}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
