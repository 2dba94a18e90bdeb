#!/usr/bin/env bash
# Installs the OpenSSH server and its configuration. Runs as root during the image build.
# Reads sshd_config and session-environment.sh from its own folder. No options. sshd runs as, and
# admits only, one unprivileged user: the Dev Container's remote user (_REMOTE_USER), else dev8.
# Nothing here starts it: dev8's entrypoint does, with a host key it makes per container.
set -euo pipefail

FEATURE_DIR="$(dirname "$(readlink -f "$0")")" # this script's folder, wherever the builder put it
readonly FEATURE_DIR
readonly USER_NAME="${_REMOTE_USER:-dev8}"

log() { printf 'sshd: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for file in sshd_config session-environment.sh; do
  [[ -r "$FEATURE_DIR/$file" ]] || die "$FEATURE_DIR/$file not found (feature folder not mounted?)"
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# sshd_config is dev8's; for another user, the same with that user and its home.
cp "$FEATURE_DIR/sshd_config" "$tmp/sshd_config"
if [[ "$USER_NAME" != dev8 ]]; then
  [[ "$USER_NAME" != root ]] ||
    die "the remote user is root: this sshd runs as, and admits only, an unprivileged user (set remoteUser)"
  [[ "$USER_NAME" =~ ^[a-z_][a-z0-9_-]*$ ]] || die "user name '$USER_NAME' is not a portable user name"
  getent passwd "$USER_NAME" >/dev/null || die "user $USER_NAME not found: include the user feature first"
  user_home="${_REMOTE_USER_HOME:-$(getent passwd "$USER_NAME" | cut -d: -f6)}"
  sed -i -e "s|^AllowUsers dev8\$|AllowUsers $USER_NAME|" \
    -e "s|^HostKey /home/dev8/|HostKey $user_home/|" "$tmp/sshd_config"
  grep -qx "AllowUsers $USER_NAME" "$tmp/sshd_config" || die "sshd_config has no 'AllowUsers dev8' line to adapt"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends openssh-server
rm -rf /var/lib/apt/lists/*

install -m 0644 -o root -g root "$tmp/sshd_config" /etc/ssh/sshd_config
# The configuration is complete in itself: no drop-ins from the distribution.
rm -f /etc/ssh/sshd_config.d/*.conf
# Host keys are made per container by the entrypoint; none may ship in the image.
rm -f /etc/ssh/ssh_host_*
install -m 0644 -o root -g root "$FEATURE_DIR/session-environment.sh" /etc/profile.d/dev8-session-environment.sh

# Validate with a throwaway host key (sshd -t needs one) and, as root, its privilege
# separation directory (unused at run time: sshd runs as the user).
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
