#!/usr/bin/env bash
# Asks the dev8 workspace supervisor for a backup now and waits for its result.
# Usage: backup.sh [--async]   (--async: start the backup and print its run ID without waiting)
# Environment: SUPERVISOR_HTTP_ADDR (default 127.0.0.1:9000), SUPERVISOR_HTTP_TOKEN (bearer token;
# when unset, the one the entrypoint stored in ~/.config/dev8/secrets/SUPERVISOR_HTTP_TOKEN).
# Exit status: 0 backup done (or started, with --async); 1 backup failed or refused; 2 supervisor
# not reachable; 64 usage error.
set -euo pipefail

addr="${SUPERVISOR_HTTP_ADDR:-127.0.0.1:9000}"
query=""
case "${1:-}" in
  "") ;;
  --async) query="?wait=false" ;;
  -h | --help)
    sed -n '2,7s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
  *)
    printf 'backup: unknown argument %s (usage: backup.sh [--async])\n' "$1" >&2
    exit 64
    ;;
esac

token="${SUPERVISOR_HTTP_TOKEN:-}"
token_file="${DEV8_SECRETS_DIR:-$HOME/.config/dev8/secrets}/SUPERVISOR_HTTP_TOKEN"
if [[ -z "$token" && -r "$token_file" ]]; then
  token="$(cat "$token_file")"
fi
headers=()
if [[ -n "$token" ]]; then
  headers=(-H "Authorization: Bearer $token")
fi

body="$(mktemp)"
trap 'rm -f "$body"' EXIT
if ! status="$(curl -sS -o "$body" -w '%{http_code}' --max-time 3600 -X POST "${headers[@]}" \
  "http://$addr/v1/backup$query" 2>"$body.err")"; then
  printf 'backup: the workspace supervisor is not running (no answer on http://%s: %s)\n' \
    "$addr" "$(tr -d '\n' <"$body.err")" >&2
  rm -f "$body.err"
  exit 2
fi
rm -f "$body.err"
case "$status" in
  200 | 202)
    cat "$body"
    printf '\n'
    ;;
  401)
    printf 'backup: the supervisor refused the request (HTTP 401): set SUPERVISOR_HTTP_TOKEN\n' >&2
    exit 1
    ;;
  *)
    printf 'backup: backup failed (HTTP %s): %s\n' "$status" "$(cat "$body")" >&2
    exit 1
    ;;
esac
