#!/usr/bin/env bash
# Waits until the Dagger kit's engine answers: its socket made and the registry beside it serving.
#
# Why not `kit.sh up` alone: it allows the engine 60 s, and an engine restarting on a large state
# takes longer (it wipes a cache left by an unclean stop and releases every network namespace left
# over); a second `up` then finds no socket yet and replaces the container, which starts the wait
# anew and drops the cache policy set in it. The budget is DEV8_ENGINE_START_BUDGET seconds (600).
# Exits 1 at once when the container is not running (podman can list one whose processes are gone).
set -euo pipefail

readonly KIT_DIR="${DAGGER_KIT_DIR:-/var/cache/dagger-kit}"
readonly ENGINE="${DAGGER_KIT_ENGINE_NAME:-dagger-kit-engine}"
readonly REGISTRY=127.0.0.1:5000
readonly BUDGET="${DEV8_ENGINE_START_BUDGET:-600}"

log() { printf 'engine-wait: %s\n' "$*" >&2; }

[[ "$BUDGET" =~ ^[0-9]+$ ]] || { log "DEV8_ENGINE_START_BUDGET=$BUDGET: expected a whole number of seconds"; exit 1; }
deadline=$((SECONDS + BUDGET))
while :; do
  podman exec "$ENGINE" true >/dev/null 2>&1 ||
    { log "engine container $ENGINE is not running: podman logs $ENGINE"; exit 1; }
  if [[ -S "$KIT_DIR/run/engine.sock" ]] && podman exec "$ENGINE" curl -sf "http://$REGISTRY/v2/" >/dev/null 2>&1; then
    exit 0
  fi
  ((SECONDS < deadline)) || { log "$ENGINE not ready after ${BUDGET}s: podman logs $ENGINE"; exit 1; }
  sleep 2
done
