#!/usr/bin/env bash
# Installs the Azure CLI. Runs as root during the image build; the `pypi` source reads
# requirements.txt from its folder.
# Options: AZURE_CLI_VERSION, AZURE_CLI_SOURCE = microsoft | pypi | distro | none (Dev Container
# Feature: VERSION, SOURCE).
set -euo pipefail

readonly KEY_URL="https://packages.microsoft.com/keys/microsoft.asc"
# Microsoft (Release signing) <gpgsecurity@microsoft.com>
readonly KEY_FINGERPRINT="BC528686B50D79E339D3721CEB3E94ADBE1229CF"
readonly KEYRING="/etc/apt/keyrings/microsoft.gpg"
readonly REPO_LIST="/etc/apt/sources.list.d/azure-cli.list"
REQUIREMENTS="$(dirname "$(readlink -f "$0")")/requirements.txt" # in this script's folder
readonly REQUIREMENTS
readonly VENV="/opt/dev8/azure-cli"

log() { printf 'azure-cli: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# An option's value: dev8's builds pass it as <FEATURE>_<OPTION>, the Dev Container CLI as the
# option's own name (VERSION, YQ_SOURCE), which wins there (_REMOTE_USER set): a base image's ENV
# may hold either name.
option() {
  local name="$2"
  [[ -z "${_REMOTE_USER:-}" || -z "${!1+set}" ]] || name="$1"
  printf '%s' "${!name-$3}"
}

version="$(option VERSION AZURE_CLI_VERSION 2.91.0)"
source_kind="$(option SOURCE AZURE_CLI_SOURCE microsoft)"
case "$source_kind" in
  microsoft | pypi | distro) ;;
  none)
    log "AZURE_CLI_SOURCE=none: not installing the Azure CLI"
    exit 0
    ;;
  *) die "AZURE_CLI_SOURCE must be 'microsoft', 'pypi', 'distro' or 'none', got '$source_kind'" ;;
esac
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "AZURE_CLI_VERSION must be x.y.z, got '$version'"

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64 | arm64) ;;
  *) die "unsupported architecture '$arch' (amd64 and arm64 are supported)" ;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# az writes its configuration, command index and logs to ~/.azure: keep them out of the image.
export HOME="$tmp/home" AZURE_CONFIG_DIR="$tmp/azure"

# From PyPI into its own virtual environment, every file checked against requirements.txt.
install_from_pypi() {
  [[ -r "$REQUIREMENTS" ]] || die "$REQUIREMENTS not found (feature folder not mounted?)"
  local locked python_bin
  locked="$(sed -n 's/^azure-cli==\([^ ;]*\).*/\1/p' "$REQUIREMENTS")"
  [[ "$locked" == "$version" ]] ||
    die "no hash-pinned requirements for azure-cli $version in requirements.txt (it pins $locked)"
  python_bin="$(command -v python3 || true)"
  [[ -n "$python_bin" ]] || die "python3 not found: include the python feature before azure-cli"
  "$python_bin" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' ||
    die "$python_bin is not Python >= 3.11 with venv, which requirements.txt is resolved for"
  log "installing azure-cli $version from PyPI into $VENV"
  rm -rf "$VENV"
  "$python_bin" -m venv "$VENV"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install --no-cache-dir --no-deps --only-binary=:all: \
    --require-hashes -r "$REQUIREMENTS"
  chmod -R a+rX "$VENV"
  ln -sf "$VENV/bin/az" /usr/local/bin/az
  az version
}

if [[ "$source_kind" == pypi ]]; then
  install_from_pypi
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
if [[ "$source_kind" == distro ]]; then
  apt-get install -y --no-install-recommends azure-cli
  rm -rf /var/lib/apt/lists/*
  az version
  exit 0
fi
apt-get install -y --no-install-recommends ca-certificates curl gpg lsb-release
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
