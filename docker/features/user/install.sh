#!/usr/bin/env bash
# Creates the workspace user. Runs as root during the image build. No options.
set -euo pipefail

readonly USER_NAME="dev8"
readonly USER_ID=1000
readonly USER_HOME="/home/dev8"
readonly WORKSPACE="/workspace"
readonly SUDOERS_FILE="/etc/sudoers.d/dev8"

log() { printf 'user: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if ! command -v visudo >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends sudo
  rm -rf /var/lib/apt/lists/*
fi

# Another account holding UID/GID 1000 (Ubuntu 24.04 images ship `ubuntu`) would make files in
# volumes ambiguous: refuse rather than guess.
existing_group="$(getent group "$USER_ID" | cut -d: -f1 || true)"
if [[ -n "$existing_group" && "$existing_group" != "$USER_NAME" ]]; then
  die "GID $USER_ID already belongs to group '$existing_group'"
fi
existing_user="$(getent passwd "$USER_ID" | cut -d: -f1 || true)"
if [[ -n "$existing_user" && "$existing_user" != "$USER_NAME" ]]; then
  die "UID $USER_ID already belongs to user '$existing_user'"
fi

[[ -n "$existing_group" ]] || groupadd --gid "$USER_ID" "$USER_NAME"
if [[ -z "$existing_user" ]]; then
  useradd --uid "$USER_ID" --gid "$USER_ID" --home-dir "$USER_HOME" --create-home \
    --shell /bin/bash "$USER_NAME"
fi
usermod --shell /bin/bash "$USER_NAME"
# '*': no password can match, but the account is not locked ('!'), so sshd accepts key logins.
usermod --password '*' "$USER_NAME"

install -d -m 0755 -o "$USER_NAME" -g "$USER_NAME" "$USER_HOME" "$WORKSPACE"
install -d -m 0700 -o "$USER_NAME" -g "$USER_NAME" "$USER_HOME/.ssh"

# Convenience, not a security boundary: dpkg and apt can run maintainer scripts as root.
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
printf '%s ALL=(root) NOPASSWD: /usr/bin/apt-get, /usr/bin/apt, /usr/bin/dpkg\n' "$USER_NAME" >"$tmp"
visudo -cf "$tmp" >/dev/null || die "generated sudoers rule does not validate"
install -m 0440 -o root -g root "$tmp" "$SUDOERS_FILE"
visudo -cf "$SUDOERS_FILE" >/dev/null
