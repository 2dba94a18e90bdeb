#!/usr/bin/env bash
# Entrypoint of dev8 workspace images. Runs as dev8 under tini (PID 1):
#   1. installs SSH_PUBLIC_KEY as dev8's authorized_keys and makes this container's host keys;
#   2. logs gh and git in with GH_TOKEN or GITHUB_TOKEN and stores the API keys in 0600 files;
#   3. removes those secrets from the environment, starts sshd on port 2222 and, with
#      SUPERVISOR_ENABLED=true, workspace-supervisor;
#   4. runs the container's command, or waits; SIGTERM/SIGINT are passed to every child.
# docker/base/README.md lists the variables and where the secrets end up.
set -euo pipefail

readonly USER_HOME="/home/dev8"
readonly SSH_DIR="$USER_HOME/.ssh"
readonly HOSTKEY_DIR="$SSH_DIR/hostkeys"
readonly GH_DIR="$USER_HOME/.config/gh"
readonly SECRETS_DIR="$USER_HOME/.config/dev8/secrets"
readonly SECRET_VARS=(GITHUB_TOKEN GH_TOKEN ANTHROPIC_API_KEY GOOGLE_API_KEY GEMINI_API_KEY OPENAI_API_KEY)
readonly API_KEY_VARS=(ANTHROPIC_API_KEY GOOGLE_API_KEY GEMINI_API_KEY OPENAI_API_KEY)

log() { printf 'entrypoint: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

is_shell_command() {
  [[ $# -gt 0 ]] || return 1
  case "${1##*/}" in
    bash | zsh | sh) return 0 ;;
    *) return 1 ;;
  esac
}

# Writes stdin to a file of mode 0600 atomically (temp file in the same folder, then rename).
write_private() {
  local target="$1" tmp
  tmp="$(mktemp "${target}.XXXXXX")"
  chmod 0600 "$tmp"
  cat >"$tmp"
  mv -f "$tmp" "$target"
}

install_authorized_keys() {
  local keys="${SSH_PUBLIC_KEY//$'\r'/}" line tmp n=0 count=0
  install -d -m 0700 "$SSH_DIR"
  tmp="$(mktemp)"
  local content=""
  while IFS= read -r line || [[ -n "$line" ]]; do
    n=$((n + 1))
    [[ -n "${line//[[:space:]]/}" && ! "$line" =~ ^[[:space:]]*# ]] || continue
    printf '%s\n' "$line" >"$tmp"
    if ! ssh-keygen -l -f "$tmp" >/dev/null 2>&1; then
      rm -f "$tmp"
      die "SSH_PUBLIC_KEY line $n is not a valid SSH public key (expected e.g. 'ssh-ed25519 AAAA... comment')"
    fi
    content+="$line"$'\n'
    count=$((count + 1))
  done <<<"$keys"
  rm -f "$tmp"
  [[ $count -gt 0 ]] || die "SSH_PUBLIC_KEY holds no public key"
  printf '%s' "$content" | write_private "$SSH_DIR/authorized_keys"
  log "installed $count authorized key(s)"
}

make_host_keys() {
  install -d -m 0700 "$HOSTKEY_DIR"
  local type bits
  for type in ed25519 rsa; do
    [[ -s "$HOSTKEY_DIR/ssh_host_${type}_key" ]] && continue
    bits=()
    [[ "$type" == rsa ]] && bits=(-b 3072)
    ssh-keygen -q -t "$type" "${bits[@]}" -N '' -C "dev8-workspace-host" -f "$HOSTKEY_DIR/ssh_host_${type}_key"
  done
}

# gh reads hosts.yml (written here, mode 0600); git asks gh for github.com credentials.
configure_github() {
  local name token
  if [[ -n "${GH_TOKEN:-}" ]]; then
    name=GH_TOKEN token="$GH_TOKEN"
  elif [[ -n "${GITHUB_TOKEN:-}" ]]; then
    name=GITHUB_TOKEN token="$GITHUB_TOKEN"
  else
    return 0
  fi
  [[ "$token" =~ ^[A-Za-z0-9_.-]+$ ]] || die "$name contains characters a GitHub token cannot have"
  local user="${GITHUB_USER:-dev8}"
  [[ "$user" =~ ^[A-Za-z0-9-]+$ ]] || die "GITHUB_USER '$user' is not a GitHub user name"
  install -d -m 0700 "$USER_HOME/.config" "$GH_DIR"
  # The layout gh >= 2.40 writes (users map, config version 1); older gh reads the flat keys.
  printf 'github.com:\n    users:\n        %s:\n            oauth_token: %s\n    git_protocol: https\n    oauth_token: %s\n    user: %s\n' \
    "$user" "$token" "$token" "$user" | write_private "$GH_DIR/hosts.yml"
  if [[ ! -s "$GH_DIR/config.yml" ]]; then
    printf 'version: "1"\ngit_protocol: https\n' | write_private "$GH_DIR/config.yml"
  fi
  printf '%s\n' "$token" | write_private "$SECRETS_DIR/GITHUB_TOKEN"
  env -u GH_TOKEN -u GITHUB_TOKEN gh auth setup-git --hostname github.com >/dev/null ||
    die "gh auth setup-git failed"
  log "gh and git authenticated for github.com from $name"
}

store_api_keys() {
  local name
  for name in "${API_KEY_VARS[@]}"; do
    [[ -n "${!name:-}" ]] || continue
    printf '%s\n' "${!name}" | write_private "$SECRETS_DIR/$name"
    log "stored $name in $SECRETS_DIR/$name"
  done
}

children=()
command_pid=""
command_is_shell=false
sshd_pid=""
supervisor_pid=""
stop_requested=""

stop_children() {
  local pid
  for pid in "${children[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
}

# shellcheck disable=SC2329 # invoked by the traps in main
on_signal() {
  log "received SIG$1, stopping"
  stop_requested="$1"
  stop_children
  # An interactive shell ignores SIGTERM but ends on SIGHUP, as when its terminal closes.
  if [[ -n "$command_pid" && "$command_is_shell" == true ]]; then
    kill -HUP "$command_pid" 2>/dev/null || true
  fi
}

forget_child() {
  local pid kept=()
  for pid in "${children[@]}"; do
    [[ "$pid" == "$1" ]] || kept+=("$pid")
  done
  children=("${kept[@]}")
}

# Waits for every child; returns the supervisor's exit status (its final backup's verdict).
wait_all() {
  local pid status supervisor_status=0
  for pid in "${children[@]}"; do
    while true; do
      wait "$pid" && status=0 || status=$?
      # Above 128 is either the child's death by a signal or our wait cut short by one.
      if ((status > 128)) && kill -0 "$pid" 2>/dev/null; then
        continue
      fi
      break
    done
    if [[ "$pid" == "$supervisor_pid" ]]; then
      supervisor_status=$status
    fi
  done
  return "$supervisor_status"
}

main() {
  if [[ "$(id -u)" != 1000 ]]; then
    is_shell_command "$@" && exec "$@"
    die "this image runs as dev8 (UID 1000), not UID $(id -u); only an interactive shell may run as another user"
  fi
  case "${SUPERVISOR_ENABLED:-false}" in
    true | false) ;;
    *) die "SUPERVISOR_ENABLED must be 'true' or 'false', got '${SUPERVISOR_ENABLED}'" ;;
  esac

  local start_sshd=true
  if [[ -n "${SSH_PUBLIC_KEY:-}" ]]; then
    install_authorized_keys
  elif is_shell_command "$@"; then
    log "SSH_PUBLIC_KEY is not set: sshd not started"
    start_sshd=false
  else
    die "SSH_PUBLIC_KEY is not set: pass the public key(s) allowed to log in as dev8 (one per line)"
  fi

  umask 077
  install -d -m 0700 "$USER_HOME/.config" "$USER_HOME/.config/dev8" "$SECRETS_DIR"
  configure_github
  store_api_keys
  umask 022
  local name
  for name in "${SECRET_VARS[@]}"; do
    unset "$name"
  done

  trap 'on_signal TERM' TERM
  trap 'on_signal INT' INT

  if [[ "$start_sshd" == true ]]; then
    make_host_keys
    /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config &
    sshd_pid=$!
    children+=("$sshd_pid")
  fi
  if [[ "${SUPERVISOR_ENABLED:-false}" == true ]]; then
    /usr/local/bin/workspace-supervisor &
    supervisor_pid=$!
    children+=("$supervisor_pid")
  fi
  if [[ $# -gt 0 ]]; then
    is_shell_command "$@" && command_is_shell=true
    "$@" <&0 &
    command_pid=$!
    children+=("$command_pid")
  fi
  [[ ${#children[@]} -gt 0 ]] || die "nothing to run: no command, no sshd, no supervisor"
  log "started (sshd: ${sshd_pid:-off}, supervisor: ${supervisor_pid:-off}, command: ${command_pid:-none})"

  local exited status
  while [[ -z "$stop_requested" ]]; do
    exited=""
    wait -n -p exited "${children[@]}" && status=0 || status=$?
    [[ -n "${exited:-}" ]] || continue # interrupted by a signal
    forget_child "$exited"
    if [[ "$exited" == "$command_pid" ]]; then
      stop_children
      wait_all || true
      exit "$status"
    fi
    if [[ "$exited" == "$sshd_pid" ]]; then
      log "sshd exited with status $status"
    else
      log "workspace-supervisor exited with status $status"
    fi
    stop_children
    wait_all || true
    exit 1
  done
  wait_all && exit 0
  status=$?
  log "workspace-supervisor exited with status $status during shutdown"
  exit "$status"
}

main "$@"
