#!/usr/bin/env bash
# Installs the GitHub CLI. Runs as root during the image build.
# Options: GITHUB_CLI_SOURCE = github | distro (Dev Container Feature: SOURCE).
set -euo pipefail

readonly KEYRING_URL="https://cli.github.com/packages/githubcli-archive-keyring.gpg"
readonly KEYRING="/etc/apt/keyrings/githubcli-archive-keyring.gpg"
readonly REPO_LIST="/etc/apt/sources.list.d/github-cli.list"
# GitHub CLI package signing keys: the one in use since April 2026 (required) and its
# predecessor, expired September 2026 (tolerated: GitHub still ships it in the keyring).
readonly KEY_CURRENT="7F38BBB59D064DBCB3D84D725612B36462313325"
readonly KEY_PREVIOUS="2C6106201985B60E6C7AC87323F3D4EA75716059"

log() { printf 'github-cli: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# An option's value: dev8's builds pass it as <FEATURE>_<OPTION>, the Dev Container CLI as the
# option's own name (VERSION, YQ_SOURCE), which wins there (_REMOTE_USER set): a base image's ENV
# may hold either name.
option() {
  local name="$2"
  [[ -z "${_REMOTE_USER:-}" || -z "${!1+set}" ]] || name="$1"
  printf '%s' "${!name-$3}"
}

source_kind="$(option SOURCE GITHUB_CLI_SOURCE github)"
case "$source_kind" in
  github | distro) ;;
  *) die "GITHUB_CLI_SOURCE must be 'github' or 'distro', got '$source_kind'" ;;
esac

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64 | arm64) ;;
  *) die "unsupported architecture '$arch' (amd64 and arm64 are supported)" ;;
esac

export DEBIAN_FRONTEND=noninteractive

if [[ "$source_kind" == github ]]; then
  apt-get update
  apt-get install -y --no-install-recommends ca-certificates curl gpg
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  curl -fsSL --retry 3 -o "$tmp/keyring.gpg" "$KEYRING_URL"
  mapfile -t fingerprints < <(
    gpg --homedir "$tmp" --show-keys --with-colons "$tmp/keyring.gpg" |
      awk -F: '$1 == "pub" { want = 1; next } $1 == "fpr" && want { print $10; want = 0 }'
  )
  found_current=false
  for fpr in "${fingerprints[@]}"; do
    case "$fpr" in
      "$KEY_CURRENT") found_current=true ;;
      "$KEY_PREVIOUS") ;;
      *) die "unexpected key $fpr in $KEYRING_URL (pinned: $KEY_CURRENT, $KEY_PREVIOUS)" ;;
    esac
  done
  [[ "$found_current" == true ]] || die "$KEYRING_URL lacks the pinned key $KEY_CURRENT"
  install -d -m 0755 /etc/apt/keyrings
  install -m 0644 "$tmp/keyring.gpg" "$KEYRING"
  printf 'deb [arch=%s signed-by=%s] https://cli.github.com/packages stable main\n' \
    "$arch" "$KEYRING" >"$REPO_LIST"
fi

apt-get update
apt-get install -y --no-install-recommends gh
rm -rf /var/lib/apt/lists/*
gh --version >/dev/null
