#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: system packages, a virtualenv with Shoebox,
# and (with --test) the test tools and the real Immich clients from npm.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TEST=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1

SYSTEM_PACKAGES=(libvips42 ffmpeg libimage-exiftool-perl)
TEST_SYSTEM_PACKAGES=(sqlite3 systemd mtools dosfstools fusefat exfat-fuse exfatprogs e2fsprogs fuse3 udev
    genimage fdisk mmdebstrap libsystemd-dev pkg-config gcc chromium)

need=()
for pkg in "${SYSTEM_PACKAGES[@]}" $( ((WITH_TEST)) && echo "${TEST_SYSTEM_PACKAGES[@]}" ); do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if ((${#need[@]})); then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    echo "setup: installing system packages: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
extras=""
((WITH_TEST)) && extras="[test]"
stamp=".venv/.installed${extras}"
if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
    .venv/bin/pip install -q --upgrade pip >/dev/null
    .venv/bin/pip install -q -e ".${extras}"
    touch "$stamp"
fi

if ((WITH_TEST)); then
    # The real Immich clients. The CLI needs Node 22, which the npm package node@22 provides.
    if [[ ! -x .tools/node/node_modules/.bin/immich || ! -x .tools/node/node_modules/.bin/node ]]; then
        mkdir -p .tools/node
        npm install --silent --no-audit --no-fund --prefix .tools/node \
            node@22 @immich/cli@3.2.2 @immich/sdk@3.2.2 >/dev/null
    fi
fi
