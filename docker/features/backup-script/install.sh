#!/usr/bin/env bash
# Installs dev8's backup script. Runs as root during the image build.
# Reads backup.sh from its own folder, mounted at /tmp/dev8-feature. No options.
set -euo pipefail

readonly FEATURE_DIR="/tmp/dev8-feature"
readonly USER_NAME="dev8"
readonly TARGET_DIR="/home/dev8/.backup-scripts"

log() { printf 'backup-script: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ -r "$FEATURE_DIR/backup.sh" ]] || die "$FEATURE_DIR/backup.sh not found (feature folder not mounted?)"
getent passwd "$USER_NAME" >/dev/null || die "user $USER_NAME not found: include the user feature first"
if ! command -v curl >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends ca-certificates curl
  rm -rf /var/lib/apt/lists/*
fi
install -d -m 0755 -o "$USER_NAME" -g "$USER_NAME" "$TARGET_DIR"
install -m 0755 -o "$USER_NAME" -g "$USER_NAME" "$FEATURE_DIR/backup.sh" "$TARGET_DIR/backup.sh"
bash -n "$TARGET_DIR/backup.sh"
