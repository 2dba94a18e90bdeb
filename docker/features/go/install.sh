#!/usr/bin/env bash
# Installs the Go toolchain. Runs as root during the image build.
# Options: GO_VERSION, GO_SOURCE = proxy (Dev Container Feature: VERSION, SOURCE).
set -euo pipefail

readonly GOROOT_DIR="/usr/local/go"
readonly PROXY="https://proxy.golang.org"
# SHA-256 of the module zips golang.org/toolchain@v0.0.1-go<version>.linux-<arch>.zip.
declare -A SHA256=(
  [1.26.11-amd64]="e1edb778de0aa08c8e827f5a873b35a46afe680fb241482c531725b2355e470d"
  [1.26.11-arm64]="51902dab7e130b07083119a36ce09e0cc50fdd9d0d64184c24bd302072ad8b70"
)

log() { printf 'go: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# An option's value: dev8's builds pass it as <FEATURE>_<OPTION>, the Dev Container CLI as the
# option's own name (VERSION, YQ_SOURCE), which wins there (_REMOTE_USER set): a base image's ENV
# may hold either name.
option() {
  local name="$2"
  [[ -z "${_REMOTE_USER:-}" || -z "${!1+set}" ]] || name="$1"
  printf '%s' "${!name-$3}"
}

version="$(option VERSION GO_VERSION 1.26.11)"
source_kind="$(option SOURCE GO_SOURCE proxy)"
[[ "$source_kind" == proxy ]] || die "GO_SOURCE must be 'proxy', got '$source_kind'"

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64 | arm64) ;;
  *) die "unsupported architecture '$arch' (amd64 and arm64 are supported)" ;;
esac
sha256="${SHA256[$version-$arch]:-}"
[[ -n "$sha256" ]] || die "no pinned checksum for Go $version ($arch) in install.sh (pinned: ${!SHA256[*]})"

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl unzip
rm -rf /var/lib/apt/lists/*

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# The go command keeps telemetry counters in the home and starts a background process that writes
# them: point it at a throwaway home, and turn telemetry off there before any other go command.
export HOME="$tmp/home"
module="golang.org/toolchain@v0.0.1-go$version.linux-$arch"
log "installing Go $version ($arch) from the Go module proxy"
curl -fsSL --retry 3 -o "$tmp/go.zip" "$PROXY/golang.org/toolchain/@v/v0.0.1-go$version.linux-$arch.zip"
printf '%s  %s\n' "$sha256" "$tmp/go.zip" | sha256sum --check --strict --quiet ||
  die "Go $version ($arch): checksum mismatch (pinned $sha256)"
unzip -q "$tmp/go.zip" -d "$tmp/unpacked"
rm -rf "$GOROOT_DIR"
mv "$tmp/unpacked/$module" "$GOROOT_DIR"
# Module zips carry no modes: make everything readable, the tools executable.
chmod -R u=rwX,go=rX "$GOROOT_DIR"
chmod 0755 "$GOROOT_DIR/bin/"* "$GOROOT_DIR/pkg/tool/"*/*
ln -sf "$GOROOT_DIR/bin/go" /usr/local/bin/go
ln -sf "$GOROOT_DIR/bin/gofmt" /usr/local/bin/gofmt

cat >/etc/profile.d/go.sh <<'PROFILE'
# Go (installed by the dev8 go feature).
export GOPATH="${GOPATH:-$HOME/go}"
case ":$PATH:" in *":$GOPATH/bin:"*) ;; *) PATH="$GOPATH/bin:$PATH" ;; esac
export PATH
PROFILE
go telemetry off
[[ "$(go env GOVERSION)" == "go$version" ]] || die "go reports $(go env GOVERSION), expected go$version"
