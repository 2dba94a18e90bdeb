#!/usr/bin/env bash
# Installs the AWS CLI. Runs as root during the image build.
# Options: AWS_CLI_VERSION, AWS_CLI_SOURCE = aws | distro (Dev Container Feature: VERSION, SOURCE).
set -euo pipefail

# The AWS CLI team's signing key (docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html).
readonly AWS_CLI_KEY="FB5DB77FD5C118B80511ADA8A6310ACC4672475C"
readonly KEYSERVER="hkps://keyserver.ubuntu.com"

log() { printf 'aws-cli: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# An option's value: dev8's builds pass it as <FEATURE>_<OPTION>, the Dev Container CLI as the
# option's own name (VERSION, YQ_SOURCE), which wins there (_REMOTE_USER set): a base image's ENV
# may hold either name.
option() {
  local name="$2"
  [[ -z "${_REMOTE_USER:-}" || -z "${!1+set}" ]] || name="$1"
  printf '%s' "${!name-$3}"
}

version="$(option VERSION AWS_CLI_VERSION 2.27.0)"
source_kind="$(option SOURCE AWS_CLI_SOURCE aws)"
case "$source_kind" in
  aws | distro) ;;
  *) die "AWS_CLI_SOURCE must be 'aws' or 'distro', got '$source_kind'" ;;
esac
[[ "$version" =~ ^2\.[0-9]+\.[0-9]+$ ]] || die "AWS_CLI_VERSION must be 2.x.y, got '$version'"

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64) aws_arch=x86_64 ;;
  arm64) aws_arch=aarch64 ;;
  *) die "unsupported architecture '$arch' (amd64 and arm64 are supported)" ;;
esac

export DEBIAN_FRONTEND=noninteractive
apt-get update
if [[ "$source_kind" == distro ]]; then
  apt-get install -y --no-install-recommends awscli
  rm -rf /var/lib/apt/lists/*
  aws --version
  exit 0
fi
apt-get install -y --no-install-recommends ca-certificates curl gpg dirmngr unzip
rm -rf /var/lib/apt/lists/*

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
zip="awscli-exe-linux-$aws_arch-$version.zip"
log "installing AWS CLI $version ($aws_arch) from awscli.amazonaws.com"
export GNUPGHOME="$tmp/gnupg"
install -d -m 0700 "$GNUPGHOME"
gpg --batch --keyserver "$KEYSERVER" --recv-keys "$AWS_CLI_KEY"
curl -fsSL --retry 3 -o "$tmp/$zip" "https://awscli.amazonaws.com/$zip"
curl -fsSL --retry 3 -o "$tmp/$zip.sig" "https://awscli.amazonaws.com/$zip.sig"
gpg --batch --status-fd 1 --verify "$tmp/$zip.sig" "$tmp/$zip" >"$tmp/status" ||
  die "$zip: bad signature"
grep -q "VALIDSIG .* $AWS_CLI_KEY\$" "$tmp/status" || die "$zip: not signed by the pinned key $AWS_CLI_KEY"
unzip -q "$tmp/$zip" -d "$tmp"
"$tmp/aws/install" --update --install-dir /usr/local/aws-cli --bin-dir /usr/local/bin
aws --version
