#!/usr/bin/env bash
# Installs the everyday tools of a workspace image. Runs as root during the image build; reads
# dpkg-excludes.cfg from its folder.
# Options: SYSTEM_PACKAGES_YQ_SOURCE = github | distro (Dev Container Feature: YQ_SOURCE).
set -euo pipefail

readonly YQ_VERSION="v4.53.3"
readonly YQ_SHA256_AMD64="fa52a4e758c63d38299163fbdd1edfb4c4963247918bf9c1c5d31d84789eded4"
readonly YQ_SHA256_ARM64="578648e463a11c1b6db6010cbf41eafed6bee79466fcffa1bb446672cf7945ea"
readonly LOCALE="en_US.UTF-8"
FEATURE_DIR="$(dirname "$(readlink -f "$0")")" # this script's folder, wherever the builder put it
readonly FEATURE_DIR

log() { printf 'system-packages: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# An option's value: dev8's builds pass it as <FEATURE>_<OPTION>, the Dev Container CLI as the
# option's own name (VERSION, YQ_SOURCE), which wins there (_REMOTE_USER set): a base image's ENV
# may hold either name.
option() {
  local name="$2"
  [[ -z "${_REMOTE_USER:-}" || -z "${!1+set}" ]] || name="$1"
  printf '%s' "${!name-$3}"
}

yq_source="$(option YQ_SOURCE SYSTEM_PACKAGES_YQ_SOURCE github)"
case "$yq_source" in
  github | distro) ;;
  *) die "SYSTEM_PACKAGES_YQ_SOURCE must be 'github' or 'distro', got '$yq_source'" ;;
esac

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64) yq_sha256="$YQ_SHA256_AMD64" ;;
  arm64) yq_sha256="$YQ_SHA256_ARM64" ;;
  *) die "unsupported architecture '$arch' (amd64 and arm64 are supported)" ;;
esac

packages=(
  ca-certificates curl wget git git-lfs openssh-client vim neovim nano tmux screen zsh jq
  unzip zip tar build-essential cmake pkg-config htop procps netcat-openbsd fuse3 cifs-utils
  nfs-common ripgrep fd-find bat sudo locales tzdata tini less
)
if [[ "$yq_source" == distro ]]; then
  packages+=(yq)
fi

# Before any package: dpkg applies the excludes to every package installed after this point.
install -d -m 0755 /etc/dpkg/dpkg.cfg.d
install -m 0644 "$FEATURE_DIR/dpkg-excludes.cfg" /etc/dpkg/dpkg.cfg.d/dev8-excludes

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"
rm -rf /var/lib/apt/lists/*

if [[ "$yq_source" == github ]]; then
  log "installing yq $YQ_VERSION ($arch) from its GitHub release"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  curl -fsSL --retry 3 -o "$tmp/yq" \
    "https://github.com/mikefarah/yq/releases/download/${YQ_VERSION}/yq_linux_${arch}"
  printf '%s  %s\n' "$yq_sha256" "$tmp/yq" | sha256sum --check --strict --quiet ||
    die "yq $YQ_VERSION checksum mismatch (pinned $yq_sha256)"
  install -m 0755 "$tmp/yq" /usr/local/bin/yq
fi

# The usual command names where Debian and Ubuntu rename them.
for pair in fd:fdfind bat:batcat; do
  name="${pair%%:*}" distro_name="${pair#*:}"
  if ! command -v "$name" >/dev/null && command -v "$distro_name" >/dev/null; then
    ln -sf "$(command -v "$distro_name")" "/usr/local/bin/$name"
  fi
done

# A UTF-8 locale; the image sets LANG to it. Ubuntu's locale-gen takes the locale as an
# argument; Debian's reads /etc/locale.gen.
distro_id="$(sed -n "s/^ID=\"\?\([^\"]*\)\"\?$/\1/p" /etc/os-release)"
if [[ "$distro_id" == ubuntu ]]; then
  locale-gen "$LOCALE"
else
  sed -i "s/^# *\(${LOCALE} UTF-8\)/\1/" /etc/locale.gen
  grep -q "^${LOCALE} UTF-8" /etc/locale.gen || printf '%s UTF-8\n' "$LOCALE" >>/etc/locale.gen
  locale-gen
fi
update-locale "LANG=$LOCALE"
