#!/usr/bin/env bash
# Entrypoint of dev8 workspace images. Runs first, as PID 1, as dev8, with the container's
# environment (secrets included), and ends by exec'ing tini with those secrets removed:
#   1. with no command (serve): installs SSH_PUBLIC_KEY (required) as dev8's authorized_keys and
#      makes this container's ed25519 host key; with a command, no key is needed;
#   2. logs gh and git in with GH_TOKEN or GITHUB_TOKEN, stores the API keys in 0600 files and,
#      to serve, code-server's password (PASSWORD or HASHED_PASSWORD) in a 0600 config file;
#   3. writes the environment that SSH sessions get, ~/.ssh/environment: this one minus the secrets;
#   4. execs `tini -- services.sh serve` (sshd, supervisor, code-server) or `tini -- services.sh
#      run CMD...` with an environment without any secret. An exec'd process's /proc/PID/environ is
#      the environment it was given, so no process of the container holds a secret in it, PID 1
#      included. The supervisor's credentials reach only the supervisor, on file descriptor 3.
# docker/base/README.md lists the variables and where the secrets end up.
set -euo pipefail

readonly USER_HOME="/home/dev8"
readonly SSH_DIR="$USER_HOME/.ssh"
readonly HOSTKEY_DIR="$SSH_DIR/hostkeys"
readonly SESSION_ENV="$SSH_DIR/environment"
readonly GH_DIR="$USER_HOME/.config/gh"
readonly SECRETS_DIR="$USER_HOME/.config/dev8/secrets"
readonly CODE_SERVER_SECRET_CONFIG="$SECRETS_DIR/code-server.yaml"
readonly SERVICES="/usr/local/lib/dev8/services.sh"
# Read here, stored in files, removed from every process's environment.
readonly SECRET_VARS=(GITHUB_TOKEN GH_TOKEN ANTHROPIC_API_KEY GOOGLE_API_KEY GEMINI_API_KEY OPENAI_API_KEY
  PASSWORD HASHED_PASSWORD SSH_PUBLIC_KEY)
readonly API_KEY_VARS=(ANTHROPIC_API_KEY GOOGLE_API_KEY GEMINI_API_KEY OPENAI_API_KEY)
# The supervisor's own credentials: handed to it alone, removed from everything else.
readonly SUPERVISOR_SECRET_VARS=(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AZURE_BLOB_ACCOUNT_KEY SUPERVISOR_HTTP_TOKEN)
# Set per process or per session by the shell, sshd or the runtime: never copied into sessions.
readonly SESSION_SKIP_VARS=(HOME HOSTNAME PWD OLDPWD SHLVL _ TERM USER LOGNAME MAIL SHELL container)

log() { printf 'entrypoint: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Writes stdin to a file of mode 0600 atomically (temp file in the same folder, then rename); makes
# its folder (0700) first, so that nothing is written to the home when there is nothing to store.
write_private() {
  local target="$1" tmp
  install -d -m 0700 "$(dirname "$target")"
  tmp="$(mktemp "${target}.XXXXXX")"
  chmod 0600 "$tmp"
  cat >"$tmp"
  mv -f "$tmp" "$target"
}

install_authorized_keys() {
  local keys="${SSH_PUBLIC_KEY//$'\r'/}" line n=0 count=0 content=""
  install -d -m 0700 "$SSH_DIR"
  while IFS= read -r line || [[ -n "$line" ]]; do
    n=$((n + 1))
    [[ -n "${line//[[:space:]]/}" && ! "$line" =~ ^[[:space:]]*# ]] || continue
    ssh-keygen -l -f /dev/stdin <<<"$line" >/dev/null 2>&1 ||
      die "SSH_PUBLIC_KEY line $n is not a valid SSH public key (expected e.g. 'ssh-ed25519 AAAA... comment')"
    content+="$line"$'\n'
    count=$((count + 1))
  done <<<"$keys"
  [[ $count -gt 0 ]] || die "SSH_PUBLIC_KEY holds no public key"
  printf '%s' "$content" | write_private "$SSH_DIR/authorized_keys"
  log "installed $count authorized key(s)"
}

# ed25519 only: every maintained SSH client accepts it, and an RSA key would cost up to a second
# of start-up for clients older than 2014.
make_host_key() {
  install -d -m 0700 "$HOSTKEY_DIR"
  [[ -s "$HOSTKEY_DIR/ssh_host_ed25519_key" ]] && return 0
  ssh-keygen -q -t ed25519 -N '' -C "dev8-workspace-host" -f "$HOSTKEY_DIR/ssh_host_ed25519_key"
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
  for name in "${API_KEY_VARS[@]}" SUPERVISOR_HTTP_TOKEN; do
    [[ -n "${!name:-}" ]] || continue
    [[ "${!name}" != *$'\n'* ]] || die "$name must be a single line"
    printf '%s\n' "${!name}" | write_private "$SECRETS_DIR/$name"
    log "stored $name in $SECRETS_DIR/$name"
  done
}

# A YAML double-quoted scalar (JSON string syntax) of $1; control characters are refused.
yaml_string() {
  local value="$1"
  [[ ! "$value" =~ [[:cntrl:]] ]] || return 1
  value="${value//\\/\\\\}"
  printf '"%s"' "${value//\"/\\\"}"
}

# code-server's password goes into a 0600 config file that only code-server reads (with
# --config), never into its environment. No password: code-server does not start.
store_code_server_password() {
  rm -f "$CODE_SERVER_SECRET_CONFIG"
  command -v code-server >/dev/null || return 0
  case "${CODE_SERVER_ENABLED:-true}" in
    true) ;;
    false) return 0 ;;
    *) die "CODE_SERVER_ENABLED must be 'true' or 'false', got '${CODE_SERVER_ENABLED}'" ;;
  esac
  local key value quoted
  if [[ -n "${HASHED_PASSWORD:-}" ]]; then
    key=hashed-password value="$HASHED_PASSWORD"
  elif [[ -n "${PASSWORD:-}" ]]; then
    key=password value="$PASSWORD"
  else
    return 0
  fi
  quoted="$(yaml_string "$value")" || die "${key^^} must not contain control characters (newlines, tabs)"
  printf '%s: %s\n' "${key}" "$quoted" | write_private "$CODE_SERVER_SECRET_CONFIG"
}

# The supervisor's credentials as NAME=value lines, for file descriptor 3 of services.sh.
supervisor_credentials() {
  local name
  for name in "${SUPERVISOR_SECRET_VARS[@]}"; do
    [[ -n "${!name:-}" ]] || continue
    [[ "${!name}" != *$'\n'* ]] || die "$name must be a single line"
    printf '%s=%s\n' "$name" "${!name}"
  done
}

# ~/.ssh/environment, which sshd reads for every session (PermitUserEnvironment): this
# environment, secrets already removed, less what the shell, sshd or the runtime set themselves.
write_session_environment() {
  local name content="# Written by the dev8 entrypoint at each start: the container's environment for SSH sessions."$'\n'
  local -A skip=()
  for name in "${SESSION_SKIP_VARS[@]}"; do skip[$name]=1; done
  while IFS= read -r name; do
    [[ -z "${skip[$name]:-}" && "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    if [[ "${!name}" == *$'\n'* ]]; then
      log "warning: $name holds a newline; SSH sessions will not get it"
      continue
    fi
    content+="$name=${!name}"$'\n'
  done < <(compgen -e | sort)
  printf '%s' "$content" | write_private "$SESSION_ENV"
}

# As PID 1, the entrypoint would ignore a signal it has no handler for: a stop that comes while it sets
# up would wait for podman's or docker's SIGKILL. Nothing has started yet, so it ends as stopped (0).
stop_before_start() {
  log "received SIG$1 before anything started: stopping"
  exit 0
}

main() {
  trap 'stop_before_start TERM' TERM
  trap 'stop_before_start INT' INT
  local mode=run
  [[ $# -gt 0 ]] || mode=serve
  if [[ "$(id -u)" != 1000 ]]; then
    [[ "$mode" == run ]] || die "this image serves as dev8 (UID 1000), not UID $(id -u); another user may only run a command"
    log "running as UID $(id -u), not dev8: nothing set up, secrets removed from the environment"
    unset "${SECRET_VARS[@]}" "${SUPERVISOR_SECRET_VARS[@]}"
    exec /usr/bin/tini -- "$SERVICES" run "$@"
  fi
  case "${SUPERVISOR_ENABLED:-false}" in
    true | false) ;;
    *) die "SUPERVISOR_ENABLED must be 'true' or 'false', got '${SUPERVISOR_ENABLED}'" ;;
  esac

  if [[ "$mode" == serve ]]; then
    [[ -n "${SSH_PUBLIC_KEY:-}" ]] ||
      die "SSH_PUBLIC_KEY is not set: pass the public key(s) allowed to log in as dev8 (one per line), or a command to run"
    install_authorized_keys
    make_host_key
  fi

  umask 077
  configure_github
  store_api_keys
  local credentials=""
  if [[ "$mode" == serve ]]; then
    store_code_server_password
    [[ "${SUPERVISOR_ENABLED:-false}" == false ]] || credentials="$(supervisor_credentials)"
  fi
  umask 022

  unset "${SECRET_VARS[@]}" "${SUPERVISOR_SECRET_VARS[@]}"
  if [[ "$mode" == serve ]]; then
    write_session_environment
    # A here-string is a pipe or an unlinked file: the credentials never touch the home.
    exec /usr/bin/tini -- "$SERVICES" serve 3<<<"$credentials"
  fi
  exec /usr/bin/tini -- "$SERVICES" run "$@"
}

main "$@"
