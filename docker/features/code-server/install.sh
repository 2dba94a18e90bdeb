#!/usr/bin/env bash
# Installs code-server and dev8's settings for it. Runs as root during the image build.
# Reads config.yaml and settings.json from its folder (/tmp/dev8-feature).
# Options (environment): CODE_SERVER_VERSION, CODE_SERVER_SOURCE = github | none.
set -euo pipefail

readonly FEATURE_DIR="/tmp/dev8-feature"
readonly PREFIX="/usr/local/lib/code-server"
readonly USER_NAME="dev8"
readonly USER_HOME="/home/dev8"

log() { printf 'code-server: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

version="${CODE_SERVER_VERSION:-4.139.1}"
source_kind="${CODE_SERVER_SOURCE:-github}"
case "$source_kind" in
  github) ;;
  none)
    log "CODE_SERVER_SOURCE=none: not installing code-server"
    exit 0
    ;;
  *) die "CODE_SERVER_SOURCE must be 'github' or 'none', got '$source_kind'" ;;
esac
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "CODE_SERVER_VERSION must be x.y.z, got '$version'"
getent passwd "$USER_NAME" >/dev/null || die "user $USER_NAME not found: include the user feature first"

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64 | arm64) ;;
  *) die "unsupported architecture '$arch' (amd64 and arm64 are supported)" ;;
esac

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl jq
rm -rf /var/lib/apt/lists/*

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
asset="code-server-$version-linux-$arch.tar.gz"
log "installing code-server $version ($arch) from its GitHub release"
curl -fsSL --retry 3 -o "$tmp/release.json" \
  "https://api.github.com/repos/coder/code-server/releases/tags/v$version"
digest="$(jq -r --arg name "$asset" '.assets[] | select(.name == $name) | .digest // ""' "$tmp/release.json")"
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "no SHA-256 digest for $asset in release v$version"
curl -fsSL --retry 3 -o "$tmp/$asset" "https://github.com/coder/code-server/releases/download/v$version/$asset"
printf '%s  %s\n' "${digest#sha256:}" "$tmp/$asset" | sha256sum --check --strict --quiet ||
  die "$asset: checksum mismatch (GitHub digest $digest)"
rm -rf "$PREFIX"
install -d -m 0755 "$PREFIX"
tar -xzf "$tmp/$asset" -C "$PREFIX" --strip-components=1 --no-same-owner
ln -sf "$PREFIX/bin/code-server" /usr/local/bin/code-server

install -d -m 0755 -o "$USER_NAME" -g "$USER_NAME" \
  "$USER_HOME/.config" "$USER_HOME/.config/code-server" "$USER_HOME/.local" "$USER_HOME/.local/share" \
  "$USER_HOME/.local/share/code-server" "$USER_HOME/.local/share/code-server/User"
install -m 0644 -o "$USER_NAME" -g "$USER_NAME" "$FEATURE_DIR/config.yaml" "$USER_HOME/.config/code-server/config.yaml"
install -m 0644 -o "$USER_NAME" -g "$USER_NAME" "$FEATURE_DIR/settings.json" \
  "$USER_HOME/.local/share/code-server/User/settings.json"
code-server --version
