#!/usr/bin/env bash
# Installs Rust. Runs as root during the image build.
# Options: RUST_VERSION (toolchain), RUST_SOURCE = rustup | distro (Dev Container Feature: VERSION,
# SOURCE).
set -euo pipefail

readonly RUSTUP_VERSION="1.28.2"
readonly RUSTUP_HOME_DIR="/usr/local/rustup"
readonly CARGO_HOME_DIR="/usr/local/cargo"
readonly COMPONENTS=(rustfmt clippy rust-analyzer)

log() { printf 'rust: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# An option's value: dev8's builds pass it as <FEATURE>_<OPTION>, the Dev Container CLI as the
# option's own name (VERSION, YQ_SOURCE), which wins there (_REMOTE_USER set): a base image's ENV
# may hold either name.
option() {
  local name="$2"
  [[ -z "${_REMOTE_USER:-}" || -z "${!1+set}" ]] || name="$1"
  printf '%s' "${!name-$3}"
}

version="$(option VERSION RUST_VERSION stable)"
source_kind="$(option SOURCE RUST_SOURCE rustup)"
case "$source_kind" in
  rustup | distro) ;;
  *) die "RUST_SOURCE must be 'rustup' or 'distro', got '$source_kind'" ;;
esac
[[ "$version" =~ ^(stable|[0-9]+\.[0-9]+(\.[0-9]+)?)$ ]] || die "RUST_VERSION must be 'stable' or x.y[.z], got '$version'"

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64) triple=x86_64-unknown-linux-gnu ;;
  arm64) triple=aarch64-unknown-linux-gnu ;;
  *) die "unsupported architecture '$arch' (amd64 and arm64 are supported)" ;;
esac

export DEBIAN_FRONTEND=noninteractive
apt-get update
if [[ "$source_kind" == distro ]]; then
  apt-get install -y --no-install-recommends rustc cargo rustfmt rust-clippy
  rm -rf /var/lib/apt/lists/*
  rustc --version
  cargo --version
  exit 0
fi
apt-get install -y --no-install-recommends ca-certificates curl gcc libc6-dev
rm -rf /var/lib/apt/lists/*

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
url="https://static.rust-lang.org/rustup/archive/$RUSTUP_VERSION/$triple/rustup-init"
log "installing rustup $RUSTUP_VERSION ($triple) and Rust $version"
curl -fsSL --retry 3 --proto '=https' -o "$tmp/rustup-init" "$url"
curl -fsSL --retry 3 --proto '=https' -o "$tmp/rustup-init.sha256" "$url.sha256"
printf '%s  %s\n' "$(cut -d' ' -f1 "$tmp/rustup-init.sha256")" "$tmp/rustup-init" |
  sha256sum --check --strict --quiet || die "rustup-init $RUSTUP_VERSION: checksum mismatch"
chmod 0755 "$tmp/rustup-init"
export RUSTUP_HOME="$RUSTUP_HOME_DIR" CARGO_HOME="$CARGO_HOME_DIR"
"$tmp/rustup-init" -y --no-modify-path --profile minimal --default-toolchain "$version" \
  --default-host "$triple" --component "${COMPONENTS[@]}"
chmod -R a+rX "$RUSTUP_HOME_DIR" "$CARGO_HOME_DIR"

cat >/etc/profile.d/rust.sh <<PROFILE
# Rust (installed by the dev8 rust feature): rustup's toolchains are shared and read-only.
export RUSTUP_HOME="\${RUSTUP_HOME:-$RUSTUP_HOME_DIR}"
case ":\$PATH:" in *":$CARGO_HOME_DIR/bin:"*) ;; *) PATH="$CARGO_HOME_DIR/bin:\$PATH" ;; esac
export PATH
PROFILE
"$CARGO_HOME_DIR/bin/rustc" --version
"$CARGO_HOME_DIR/bin/rust-analyzer" --version
