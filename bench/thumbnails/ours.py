"""Shoebox side of the thumbnail benchmark: the real worker pool rendering preview + thumbnail + thumbhash.
Usage: python ours.py <outdir> <workers> file..."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from appliance.jobs.workers import PoolSettings, WorkerPool


async def main() -> None:
    outdir, workers, files = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    pool = WorkerPool(PoolSettings(size=workers, nice=0))
    await pool.start()
    # Warm the workers (process start is paid once per server lifetime, not per image).
    await asyncio.gather(*(pool.request({"op": "ping"}) for _ in range(workers)))
    failed = 0
    started = time.perf_counter()

    async def one(index: int, file: str) -> None:
        nonlocal failed
        try:
            await pool.request({
                "op": "render", "source": file,
                "outputs": [
                    {"path": str(outdir / f"{index}-preview.jpeg"), "size": 1440, "format": "jpeg", "quality": 80},
                    {"path": str(outdir / f"{index}-thumbnail.webp"), "size": 250, "format": "webp", "quality": 80},
                ],
            })
        except Exception as err:  # counted, reported
            failed += 1
            print(file, err, file=sys.stderr)

    await asyncio.gather(*(one(i, f) for i, f in enumerate(files)))
    seconds = time.perf_counter() - started
    await pool.close()
    print(json.dumps({"seconds": seconds, "files": len(files), "failed": failed}))


asyncio.run(main())
