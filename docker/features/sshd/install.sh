#!/usr/bin/env bash
# Installs the OpenSSH server and its configuration. Runs as root during the image build.
# Reads sshd_config from its own folder, mounted at /tmp/dev8-feature. No options.
set -euo pipefail

readonly FEATURE_DIR="/tmp/dev8-feature"

log() { printf 'sshd: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ -r "$FEATURE_DIR/sshd_config" ]] || die "$FEATURE_DIR/sshd_config not found (feature folder not mounted?)"

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends openssh-server
rm -rf /var/lib/apt/lists/*

install -m 0644 -o root -g root "$FEATURE_DIR/sshd_config" /etc/ssh/sshd_config
# The configuration is complete in itself: no drop-ins from the distribution.
rm -f /etc/ssh/sshd_config.d/*.conf
# Host keys are made per container by the entrypoint; none may ship in the image.
rm -f /etc/ssh/ssh_host_*

# Validate with a throwaway host key (sshd -t needs one) and, as root, its privilege
# separation directory (unused at run time: sshd runs as dev8).
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
ssh-keygen -q -t ed25519 -N '' -C '' -f "$tmp/key"
created_run_sshd=false
if [[ ! -d /run/sshd ]]; then
  install -d -m 0755 /run/sshd
  created_run_sshd=true
fi
/usr/sbin/sshd -t -f /etc/ssh/sshd_config -h "$tmp/key" || die "sshd_config does not validate"
if [[ "$created_run_sshd" == true ]]; then
  rmdir /run/sshd
fi
