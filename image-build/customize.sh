#!/usr/bin/env bash
# mmdebstrap customize hook (build.sh step 3): turn a plain Debian root into the Shoebox appliance.
#   $1                  the root filesystem being built
#   SHOEBOX_OVERLAY     configure.py's overlay/ (copied over the root)
#   SHOEBOX_WHEELHOUSE  Shoebox's wheel and its pinned dependencies (installed with --no-index)
#   SHOEBOX_LOCK        requirements.lock (to build the wheelhouse inside the root on a cross build)
set -euo pipefail
ROOT=$1
: "${SHOEBOX_OVERLAY:?}" "${SHOEBOX_WHEELHOUSE:?}" "${SHOEBOX_LOCK:?}"

log() { echo "customize: $*" >&2; }
# Commands in the target run with a clean environment: the build host's pip/proxy settings stay out.
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"; }

log "overlay"
cp -a "$SHOEBOX_OVERLAY/." "$ROOT/"

log "the shoebox user and its data folder"
in_root systemd-sysusers
in_root systemd-tmpfiles --create --prefix=/var/lib/shoebox

log "Shoebox, offline from the wheelhouse"
stage="$ROOT/tmp/shoebox-wheelhouse"
mkdir -p "$stage"
cp -a "$SHOEBOX_WHEELHOUSE/." "$stage/"
cp "$SHOEBOX_LOCK" "$stage/requirements.lock"
# --system-site-packages: Debian's python3-systemd (journald handler, sd_notify) without a compiler.
in_root python3 -m venv --system-site-packages /opt/shoebox
if [[ -f $stage/.build-in-target ]]; then
    # Cross build: the target's own pip builds the pinned wheels (needs PyPI), kept for offline rebuilds.
    log "building the wheelhouse inside the target"
    chroot "$ROOT" /opt/shoebox/bin/pip wheel --quiet --wheel-dir /tmp/shoebox-wheelhouse \
        -r /tmp/shoebox-wheelhouse/requirements.lock
    rm "$stage/.build-in-target" "$SHOEBOX_WHEELHOUSE/.build-in-target"
    cp -a "$stage/." "$SHOEBOX_WHEELHOUSE/"
fi
in_root /opt/shoebox/bin/pip install --quiet --no-index --no-cache-dir \
    --find-links /tmp/shoebox-wheelhouse -c /tmp/shoebox-wheelhouse/requirements.lock shoebox
ln -sf /opt/shoebox/bin/shoebox "$ROOT/usr/local/bin/shoebox"
rm -rf "$stage"

log "services"
in_root systemctl enable shoebox.service shoebox-firstboot.service \
    systemd-networkd.service systemd-resolved.service systemd-timesyncd.service
# Timers that write to the (read-only) root or do maintenance an appliance doesn't want.
in_root systemctl mask apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer

log "no identity, no passwords"
in_root passwd --lock root >/dev/null
: > "$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id" "$ROOT"/etc/ssh/ssh_host_*
ln -sf ../run/systemd/resolve/stub-resolv.conf "$ROOT/etc/resolv.conf"

log "trimming"
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/log/*.log "$ROOT"/root/.cache
