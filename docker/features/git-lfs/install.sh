#!/usr/bin/env bash
# Installs Git LFS and enables it system-wide. Runs as root during the image build. No options.
set -euo pipefail

log() { printf 'git-lfs: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if ! command -v git-lfs >/dev/null || ! command -v git >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends git git-lfs
  rm -rf /var/lib/apt/lists/*
fi
git lfs install --system --skip-repo
git config --system --get filter.lfs.process >/dev/null || die "git lfs filters not in /etc/gitconfig"
