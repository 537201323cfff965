#!/usr/bin/env bash
# Set up (first time only) and run Shoebox on port 2283 with ./data as its data folder.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/shoebox serve --data-dir "${SHOEBOX_DATA_DIR:-./data}" "$@"
