#!/usr/bin/env bash
# What a dev8 container runs under tini, started by entrypoint.sh with the secrets already out of
# the environment:
#   services.sh serve     sshd on port 2222; workspace-supervisor with SUPERVISOR_ENABLED=true (its
#                         credentials arrive as NAME=value lines on file descriptor 3); code-server
#                         on port 8080 where it is installed and a password was stored.
#   services.sh run CMD   the command, and nothing else.
# SIGTERM/SIGINT are passed to every child (a shell command also gets SIGHUP). The container
# stops when the command ends (with its status), when a service dies (status 1), or on a signal
# (status 0, or the supervisor's if its final backup failed).
set -euo pipefail

readonly CODE_SERVER_SECRET_CONFIG="/home/dev8/.config/dev8/secrets/code-server.yaml"
readonly CODE_SERVER_PORT=8080

log() { printf 'entrypoint: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

is_shell_command() {
  case "${1##*/}" in
    bash | zsh | sh | dash) return 0 ;;
    *) return 1 ;;
  esac
}

children=()
declare -A child_names=()
command_pid=""
command_is_shell=false
supervisor_pid=""
stop_requested=""

# Starts a child in the background, its stdin the container's ("-") or /dev/null ("null", what a
# background job gets without a redirection).
start_child() {
  local name="$1" stdin="$2"
  shift 2
  if [[ "$stdin" == - ]]; then
    "$@" <&0 &
  else
    "$@" </dev/null &
  fi
  children+=("$!")
  child_names[$!]="$name"
}

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

start_services() {
  start_child sshd null /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config
  if [[ "${SUPERVISOR_ENABLED:-false}" == true ]]; then
    local line credentials=()
    if [[ -e /dev/fd/3 ]]; then
      while IFS= read -r line; do
        [[ "$line" == *=* ]] && credentials+=("$line")
      done <&3
    fi
    start_child workspace-supervisor null env "${credentials[@]}" /usr/local/bin/workspace-supervisor
    supervisor_pid="${children[-1]}"
  fi
  exec 3<&- # no other child inherits the pipe
  if ! command -v code-server >/dev/null; then
    return 0
  elif [[ "${CODE_SERVER_ENABLED:-true}" == false ]]; then
    log "code-server: not started (CODE_SERVER_ENABLED=false)"
  elif [[ ! -s "$CODE_SERVER_SECRET_CONFIG" ]]; then
    log "code-server: not started: PASSWORD is not set (set PASSWORD or HASHED_PASSWORD to serve it on port $CODE_SERVER_PORT, or CODE_SERVER_ENABLED=false)"
  else
    start_child code-server null code-server --config "$CODE_SERVER_SECRET_CONFIG" \
      --bind-addr "0.0.0.0:$CODE_SERVER_PORT" --auth password \
      --disable-telemetry --disable-update-check /workspace
  fi
}

main() {
  [[ $# -gt 0 ]] || die "usage: services.sh serve | services.sh run CMD [ARG...]"
  local mode="$1"
  shift
  trap 'on_signal TERM' TERM
  trap 'on_signal INT' INT
  case "$mode" in
    serve) start_services ;;
    run)
      [[ $# -gt 0 ]] || die "services.sh run: no command"
      is_shell_command "$1" && command_is_shell=true
      start_child "$1" - "$@"
      command_pid="${children[-1]}"
      ;;
    *) die "unknown mode '$mode' (serve or run)" ;;
  esac
  [[ "$mode" == run ]] || log "started: $(for pid in "${children[@]}"; do printf '%s (%s) ' "${child_names[$pid]}" "$pid"; done)"

  local exited status
  while [[ -z "$stop_requested" ]]; do
    exited=""
    wait -n -p exited "${children[@]}" && status=0 || status=$?
    [[ -n "${exited:-}" ]] || continue # interrupted by a signal
    forget_child "$exited"
    if [[ "$exited" == "$command_pid" ]]; then
      exit "$status"
    fi
    log "${child_names[$exited]} exited with status $status"
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
