#!/usr/bin/env bash
# Build a Shoebox SD-card image in one command:
#
#     sudo image-build/build.sh                      # Raspberry Pi (3, 4, 5, Zero 2 W), arm64
#     sudo image-build/build.sh --board none --arch amd64 --rootfs-only   # a root folder, for tests
#
# Runs on an arm64 host, or on another host with binfmt for qemu-aarch64 registered (mmdebstrap runs
# target binaries in the chroot). Needs root and Debian's mmdebstrap, genimage, dosfstools, mtools,
# e2fsprogs; python3 and pip to build the wheel. Steps, each leaving its output in --work:
#   1. configure.py  -> config/ (overlay, package list, apt sources, genimage.cfg)
#   2. wheelhouse    -> wheelhouse/ (Shoebox's wheel + every pinned dependency from requirements.lock)
#   3. mmdebstrap    -> rootfs/ (Debian + overlay; Shoebox installed offline from the wheelhouse)
#   4. genimage      -> shoebox-<board>-<arch>.img (+ .sha256)
# Reproducible: SOURCE_DATE_EPOCH defaults to the last commit's time; set SNAPSHOT=YYYYMMDDTHHMMSSZ to
# take Debian from snapshot.debian.org as of that moment, and the wheelhouse is pinned by the lock.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

BOARD=rpi
ARCH=arm64
SUITE=bookworm
WORK="$REPO/build/image"
ROOTFS_ONLY=0
WHEELHOUSE=""
PYTHON=${PYTHON:-python3}
ROOT_SIZE=${ROOT_SIZE:-3G}

usage() {
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    cat <<EOF
Options:
  --board rpi|none       target board (none: no kernel or bootloader; a root folder for containers/tests)
  --arch arm64|amd64     Debian architecture (default arm64)
  --suite NAME           Debian suite (default bookworm)
  --work DIR             where every step writes (default build/image)
  --wheelhouse DIR       use this prepared wheelhouse instead of building one (offline builds)
  --rootfs-only          stop after the root folder (no disk image)
EOF
}

while (($#)); do
    case "$1" in
        --board) BOARD=$2; shift 2 ;;
        --arch) ARCH=$2; shift 2 ;;
        --suite) SUITE=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --wheelhouse) WHEELHOUSE=$2; shift 2 ;;
        --rootfs-only) ROOTFS_ONLY=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "build.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done

log() { echo "build.sh: $*" >&2; }
die() { log "$*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (mmdebstrap --mode=root and genimage need it)"
for tool in mmdebstrap "$PYTHON"; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install mmdebstrap python3-pip python3-venv)"
done
if [[ $ARCH != "$(dpkg --print-architecture)" ]] && ! arch-test "$ARCH" >/dev/null 2>&1; then
    die "this host cannot run $ARCH binaries: build on an $ARCH host or register binfmt (qemu-user-static, binfmt-support)"
fi

export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || date +%s)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# 1. Configuration.
log "1/4 configuration for board $BOARD"
"$PYTHON" "$HERE/configure.py" --board "$BOARD" --suite "$SUITE" --out "$WORK/config" --root-size "$ROOT_SIZE"

# 2. Wheelhouse: Shoebox's wheel plus the pinned dependencies, built for the target. On a host of the
#    target architecture pip builds it here; otherwise inside the target root (step 3) with the same lock.
if [[ -z $WHEELHOUSE ]]; then
    WHEELHOUSE="$WORK/wheelhouse"
    rm -rf "$WHEELHOUSE"
    mkdir -p "$WHEELHOUSE"
    log "2/4 wheelhouse in $WHEELHOUSE"
    "$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$WHEELHOUSE" "$REPO"
    if [[ $ARCH == "$(dpkg --print-architecture)" ]]; then
        "$PYTHON" -m pip wheel --quiet --wheel-dir "$WHEELHOUSE" -r "$HERE/requirements.lock"
    else
        touch "$WHEELHOUSE/.build-in-target"
    fi
else
    WHEELHOUSE=$(cd "$WHEELHOUSE" && pwd)
    log "2/4 using the wheelhouse in $WHEELHOUSE"
fi

# 3. Root filesystem.
log "3/4 root filesystem ($SUITE, $ARCH) in $WORK/rootfs"
mirror_args=()
aptopts=(--aptopt='APT::Install-Recommends "false"')
# Documentation, manuals and translations are dead weight on an appliance (the copyright files stay).
for path in /usr/share/man/'*' /usr/share/info/'*' /usr/share/locale/'*' /usr/share/doc/'*'; do
    aptopts+=(--dpkgopt="path-exclude=$path")
done
aptopts+=(--dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-include=/usr/share/locale/locale.alias')
while read -r line; do
    if [[ -n ${SNAPSHOT:-} ]]; then
        line=${line//http:\/\/deb.debian.org\/debian-security/http:\/\/snapshot.debian.org\/archive\/debian-security\/$SNAPSHOT}
        line=${line//http:\/\/deb.debian.org\/debian /http:\/\/snapshot.debian.org\/archive\/debian\/$SNAPSHOT }
    fi
    mirror_args+=("$line")
done < "$WORK/config/sources.txt"
[[ -n ${SNAPSHOT:-} ]] && aptopts+=(--aptopt='Acquire::Check-Valid-Until "false"')
if [[ $BOARD == rpi && ! -f /usr/share/keyrings/raspberrypi-archive-keyring.gpg ]]; then
    die "the Raspberry Pi archive key is missing: install raspberrypi-archive-keyring (present on Raspberry Pi OS)"
fi
# The customize hook reads these (mmdebstrap runs hooks with our environment).
export SHOEBOX_CUSTOMIZE="$HERE/customize.sh" SHOEBOX_OVERLAY="$WORK/config/overlay"
export SHOEBOX_WHEELHOUSE="$WHEELHOUSE" SHOEBOX_LOCK="$HERE/requirements.lock"
rm -rf "$WORK/rootfs"
mmdebstrap \
    --mode=root \
    --variant=apt \
    --architectures="$ARCH" \
    --include="$(paste -sd, "$WORK/config/packages.txt")" \
    "${aptopts[@]}" \
    --customize-hook='"$SHOEBOX_CUSTOMIZE" "$1"' \
    "$SUITE" "$WORK/rootfs" "${mirror_args[@]}"

if ((ROOTFS_ONLY)); then
    log "done: root filesystem in $WORK/rootfs"
    exit 0
fi

# 4. Disk image.
[[ -f $WORK/config/genimage.cfg ]] || die "board $BOARD has no disk layout; use --rootfs-only"
command -v genimage >/dev/null || die "genimage is missing (apt-get install genimage)"
IMAGE="shoebox-$BOARD-$ARCH.img"
log "4/4 disk image $IMAGE"
rm -rf "$WORK/genimage-tmp" "$WORK/images"
genimage \
    --config "$WORK/config/genimage.cfg" \
    --rootpath "$WORK/rootfs" \
    --tmppath "$WORK/genimage-tmp" \
    --inputpath "$WORK/images" \
    --outputpath "$WORK/images"
(cd "$WORK/images" && sha256sum "$IMAGE" > "$IMAGE.sha256")
log "done: $WORK/images/$IMAGE (write it with: dd if=$IMAGE of=/dev/sdX bs=4M conv=fsync)"
