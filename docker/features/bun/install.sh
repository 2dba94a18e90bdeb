#!/usr/bin/env bash
# Installs Bun. Runs as root during the image build.
# Options: BUN_VERSION, BUN_SOURCE = npm (Dev Container Feature: VERSION, SOURCE).
set -euo pipefail

readonly REGISTRY="https://registry.npmjs.org"
# The registry's sha512 integrity of @oven/bun-linux-<arch>@<version>.
declare -A INTEGRITY=(
  [x64@1.4.5]="sha512-IWX9BELoGHAUtMonkeSaNaZwXzRk+oDw6Mk+HBFXd3KHYIBNBsIGRupMZPcgNoDbJpLu6gAJjIoIVPZtt1aJ1g=="
  [aarch64@1.4.5]="sha512-4BXmsSKnjOrlGWqZV4x/oWa7AVoR+B6lCXddMzOAXBIm3t50eslg9wb66gmtW1AamEQ1l1CDvmmruysEhqOWMg=="
)

log() { printf 'bun: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# An option's value: dev8's builds pass it as <FEATURE>_<OPTION>, the Dev Container CLI as the
# option's own name (VERSION, YQ_SOURCE), which wins there (_REMOTE_USER set): a base image's ENV
# may hold either name.
option() {
  local name="$2"
  [[ -z "${_REMOTE_USER:-}" || -z "${!1+set}" ]] || name="$1"
  printf '%s' "${!name-$3}"
}

version="$(option VERSION BUN_VERSION 1.4.5)"
source_kind="$(option SOURCE BUN_SOURCE npm)"
[[ "$source_kind" == npm ]] || die "BUN_SOURCE must be 'npm', got '$source_kind'"

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64) bun_arch=x64 ;;
  arm64) bun_arch=aarch64 ;;
  *) die "unsupported architecture '$arch' (amd64 and arm64 are supported)" ;;
esac
integrity="${INTEGRITY[$bun_arch@$version]:-}"
[[ -n "$integrity" ]] || die "no pinned checksum for Bun $version ($bun_arch) in install.sh (pinned: ${!INTEGRITY[*]})"

if ! command -v curl >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends ca-certificates curl
  rm -rf /var/lib/apt/lists/*
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp/home" # whatever bun writes to a home stays out of the image
log "installing Bun $version ($bun_arch) from the npm registry"
curl -fsSL --retry 3 -o "$tmp/bun.tgz" "$REGISTRY/@oven/bun-linux-$bun_arch/-/bun-linux-$bun_arch-$version.tgz"
want="$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
got="$(sha512sum "$tmp/bun.tgz" | cut -d' ' -f1)"
[[ "$got" == "$want" ]] || die "Bun $version ($bun_arch): sha512 mismatch (pinned $want, got $got)"
tar -xzf "$tmp/bun.tgz" -C "$tmp" package/bin/bun
install -m 0755 "$tmp/package/bin/bun" /usr/local/bin/bun
ln -sf bun /usr/local/bin/bunx
[[ "$(bun --version)" == "$version" ]] || die "bun reports $(bun --version), expected $version"
