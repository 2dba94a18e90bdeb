#!/usr/bin/env bash
# Installs the Azure CLI. Runs as root during the image build.
# Options (environment): AZURE_CLI_VERSION, AZURE_CLI_SOURCE = microsoft | distro | none.
set -euo pipefail

readonly KEY_URL="https://packages.microsoft.com/keys/microsoft.asc"
# Microsoft (Release signing) <gpgsecurity@microsoft.com>
readonly KEY_FINGERPRINT="BC528686B50D79E339D3721CEB3E94ADBE1229CF"
readonly KEYRING="/etc/apt/keyrings/microsoft.gpg"
readonly REPO_LIST="/etc/apt/sources.list.d/azure-cli.list"

log() { printf 'azure-cli: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

version="${AZURE_CLI_VERSION:-2.91.0}"
source_kind="${AZURE_CLI_SOURCE:-microsoft}"
case "$source_kind" in
  microsoft | distro) ;;
  none)
    log "AZURE_CLI_SOURCE=none: not installing the Azure CLI"
    exit 0
    ;;
  *) die "AZURE_CLI_SOURCE must be 'microsoft', 'distro' or 'none', got '$source_kind'" ;;
esac
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "AZURE_CLI_VERSION must be x.y.z, got '$version'"

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64 | arm64) ;;
  *) die "unsupported architecture '$arch' (amd64 and arm64 are supported)" ;;
esac

export DEBIAN_FRONTEND=noninteractive
apt-get update
if [[ "$source_kind" == distro ]]; then
  apt-get install -y --no-install-recommends azure-cli
  rm -rf /var/lib/apt/lists/*
  az version
  exit 0
fi
apt-get install -y --no-install-recommends ca-certificates curl gpg lsb-release
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 3 -o "$tmp/microsoft.asc" "$KEY_URL"
fingerprints="$(gpg --homedir "$tmp" --show-keys --with-colons "$tmp/microsoft.asc" | awk -F: '$1 == "fpr" { print $10 }')"
grep -qx "$KEY_FINGERPRINT" <<<"$fingerprints" || die "$KEY_URL lacks the pinned key $KEY_FINGERPRINT"
install -d -m 0755 /etc/apt/keyrings
gpg --homedir "$tmp" --dearmor <"$tmp/microsoft.asc" >"$tmp/microsoft.gpg"
install -m 0644 "$tmp/microsoft.gpg" "$KEYRING"
codename="$(lsb_release -cs)"
printf 'deb [arch=%s signed-by=%s] https://packages.microsoft.com/repos/azure-cli/ %s main\n' \
  "$arch" "$KEYRING" "$codename" >"$REPO_LIST"
apt-get update
apt-get install -y --no-install-recommends "azure-cli=$version-1~$codename"
rm -rf /var/lib/apt/lists/*
az version
