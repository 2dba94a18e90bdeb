#!/usr/bin/env bash
# Creates the workspace user. Runs as root during the image build. No options.
# The user is dev8, or, as a Dev Container Feature, the remote user that devcontainer.json names
# (_REMOTE_USER) unless that is root: an account the base image has (vscode, node) keeps its
# UID, home and groups, and gets the rest (login shell bash, /workspace, sudo for the package tools).
set -euo pipefail

USER_NAME="dev8"
if [[ -n "${_REMOTE_USER:-}" && "$_REMOTE_USER" != root ]]; then
  USER_NAME="$_REMOTE_USER"
fi
readonly USER_NAME
readonly USER_ID=1000
readonly WORKSPACE="/workspace"
readonly SUDOERS_FILE="/etc/sudoers.d/$USER_NAME"

log() { printf 'user: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Portable names only: sudo skips files in /etc/sudoers.d whose names contain a dot.
[[ "$USER_NAME" =~ ^[a-z_][a-z0-9_-]*$ ]] || die "user name '$USER_NAME' is not a portable user name"

if ! command -v visudo >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends sudo
  rm -rf /var/lib/apt/lists/*
fi

if getent passwd "$USER_NAME" >/dev/null; then
  log "keeping the existing account $USER_NAME ($(id "$USER_NAME"))"
else
  # Another account holding UID/GID 1000 (Ubuntu 24.04 images ship `ubuntu`) would make files in
  # volumes ambiguous: refuse rather than guess.
  existing_group="$(getent group "$USER_ID" | cut -d: -f1 || true)"
  if [[ -n "$existing_group" && "$existing_group" != "$USER_NAME" ]]; then
    die "GID $USER_ID already belongs to group '$existing_group'"
  fi
  existing_user="$(getent passwd "$USER_ID" | cut -d: -f1 || true)"
  [[ -z "$existing_user" ]] || die "UID $USER_ID already belongs to user '$existing_user'"
  [[ -n "$existing_group" ]] || groupadd --gid "$USER_ID" "$USER_NAME"
  useradd --uid "$USER_ID" --gid "$USER_ID" --home-dir "/home/$USER_NAME" --create-home \
    --shell /bin/bash "$USER_NAME"
fi
user_home="$(getent passwd "$USER_NAME" | cut -d: -f6)"
user_group="$(id -gn "$USER_NAME")"
usermod --shell /bin/bash "$USER_NAME"
# '*': no password can match, but the account is not locked ('!'), so sshd accepts key logins.
usermod --password '*' "$USER_NAME"

install -d -m 0755 -o "$USER_NAME" -g "$user_group" "$user_home" "$WORKSPACE"
install -d -m 0700 -o "$USER_NAME" -g "$user_group" "$user_home/.ssh"

# Convenience, not a security boundary: dpkg and apt can run maintainer scripts as root.
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
printf '%s ALL=(root) NOPASSWD: /usr/bin/apt-get, /usr/bin/apt, /usr/bin/dpkg\n' "$USER_NAME" >"$tmp"
visudo -cf "$tmp" >/dev/null || die "generated sudoers rule does not validate"
install -m 0440 -o root -g root "$tmp" "$SUDOERS_FILE"
visudo -cf "$SUDOERS_FILE" >/dev/null
