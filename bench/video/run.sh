#!/usr/bin/env bash
# Video transcode real-time factor: Shoebox's pipeline vs the bare ffmpeg command line, same clip.
# BENCH_RUNS=N (default 3), BENCH_CLIP_SECONDS=S (default 10).
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-../../.venv/bin/python}"
[[ -x "$PY" ]] || PY=/work/main/.venv/bin/python
exec "$PY" bench.py "$@"
