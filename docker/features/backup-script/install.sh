#!/usr/bin/env bash
# Installs dev8's backup script. Runs as root during the image build.
# Reads backup.sh from its own folder. No options. Installs it in ~/.backup-scripts of the user: the
# Dev Container's remote user (_REMOTE_USER), else dev8.
set -euo pipefail

FEATURE_DIR="$(dirname "$(readlink -f "$0")")" # this script's folder, wherever the builder put it
readonly FEATURE_DIR
readonly USER_NAME="${_REMOTE_USER:-dev8}"

log() { printf 'backup-script: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ -r "$FEATURE_DIR/backup.sh" ]] || die "$FEATURE_DIR/backup.sh not found (feature folder not mounted?)"
getent passwd "$USER_NAME" >/dev/null || die "user $USER_NAME not found: include the user feature first"
user_home="${_REMOTE_USER_HOME:-$(getent passwd "$USER_NAME" | cut -d: -f6)}"
user_group="$(id -gn "$USER_NAME")"
target_dir="$user_home/.backup-scripts"
if ! command -v curl >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends ca-certificates curl
  rm -rf /var/lib/apt/lists/*
fi
install -d -m 0755 -o "$USER_NAME" -g "$user_group" "$target_dir"
install -m 0755 -o "$USER_NAME" -g "$user_group" "$FEATURE_DIR/backup.sh" "$target_dir/backup.sh"
bash -n "$target_dir/backup.sh"
