#!/usr/bin/env bash
# Thumbnail + preview generation: Shoebox's pipeline vs sharp (Immich's engine), 1 and 2 cores.
# BENCH_RUNS=N (default 3) runs per side; medians printed.
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-../../.venv/bin/python}"
[[ -x "$PY" ]] || PY=/work/main/.venv/bin/python
exec "$PY" bench.py "$@"
