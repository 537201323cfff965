"""A job runner in its own process, for the kill -9 test: its one handler touches a file and then hangs."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from appliance.jobs.runner import JobRunner
from appliance.storage.db import Database


async def main(db_path: Path, started: Path) -> None:
    db = Database(db_path)
    await db.open()

    async def slow(payload: dict[str, Any], priority: int) -> None:
        await asyncio.to_thread(started.write_text, str(payload["n"]))
        await asyncio.sleep(3600)

    runner = JobRunner(db, {"Slow": slow}, poll_interval=0.05)
    await runner.start()
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
