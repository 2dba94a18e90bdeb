#!/usr/bin/env bash
# Gives the Dagger kit's engine a cache policy that keeps what one test run builds.
#
# Why: the engine's default garbage collection aims to leave 20 % of the disk free and, when it
# cannot, prunes down to 10 GB after every call. On a machine whose disk is mostly taken (a CI
# runner: 28 GB free of a 252 GB disk), that evicts the images the previous call built and every
# function result, so each call rebuilds and nothing is answered from the function cache. The
# policy below keeps up to DEV8_ENGINE_CACHE_RESERVED of cache and prunes only when the disk's free
# space falls under DEV8_ENGINE_MIN_FREE. It is written into the running engine container's
# /etc/dagger/engine.json (Dagger's engine configuration) and the engine restarted; `kit.sh down`
# removes the container, and with it this policy. Rerunning with the policy in place does nothing.
set -euo pipefail

cd "$(dirname "$0")/.."
readonly KIT="${DAGGER_KIT:-../shared/dagger-kit/kit.sh}"
readonly KIT_DIR="${DAGGER_KIT_DIR:-/var/cache/dagger-kit}"
readonly ENGINE="${DAGGER_KIT_ENGINE_NAME:-dagger-kit-engine}"
readonly RESERVED="${DEV8_ENGINE_CACHE_RESERVED:-20GB}"
readonly MIN_FREE="${DEV8_ENGINE_MIN_FREE:-5GB}"
readonly MAX_USED="${DEV8_ENGINE_CACHE_MAX:-50GB}"
readonly CONFIG=/etc/dagger/engine.json

log() { printf 'engine-cache-policy: %s\n' "$*" >&2; }

for variable in DEV8_ENGINE_CACHE_RESERVED:"$RESERVED" DEV8_ENGINE_MIN_FREE:"$MIN_FREE" DEV8_ENGINE_CACHE_MAX:"$MAX_USED"; do
  [[ "${variable#*:}" =~ ^[0-9]+(GB|MB|%)$ ]] ||
    { log "${variable%%:*}=${variable#*:}: expected a size such as 20GB, 500MB or 10%"; exit 1; }
done

[[ -x "$KIT" ]] || { log "no Dagger kit at $KIT"; exit 1; }
current="$(podman exec "$ENGINE" cat "$CONFIG")" || { log "engine container $ENGINE is not running: $KIT up"; exit 1; }
wanted="$(printf '%s' "$current" | python3 -c '
import json, sys
config = json.load(sys.stdin)
config["gc"] = {"reservedSpace": sys.argv[1], "minFreeSpace": sys.argv[2], "maxUsedSpace": sys.argv[3]}
print(json.dumps(config, indent=2, sort_keys=True))
' "$RESERVED" "$MIN_FREE" "$MAX_USED")"
if [[ "$current" == "$wanted" ]]; then
  log "in place: keep up to $RESERVED, prune when under $MIN_FREE free (at most $MAX_USED)"
  exit 0
fi
# Stopping an engine still starting would be an unclean stop too.
bash scripts/engine-wait.sh || { log "the engine is not ready to be restarted"; exit 1; }
printf '%s\n' "$wanted" | podman exec -i "$ENGINE" sh -c "cat >$CONFIG.new && mv $CONFIG.new $CONFIG"
# A stop that ends in SIGKILL leaves the engine's cache marked unclean, and the next start wipes it:
# give it the time it needs to stop cleanly.
podman stop --time 300 "$ENGINE" >/dev/null
# The engine makes its socket anew when it is ready; `kit.sh up` would replace a container whose
# socket is not there yet, and the policy with it, so wait here and check the policy survived.
rm -f "$KIT_DIR/run/engine.sock"
podman start "$ENGINE" >/dev/null
bash scripts/engine-wait.sh || { log "the engine did not come back"; exit 1; }
[[ "$(podman exec "$ENGINE" cat "$CONFIG")" == "$wanted" ]] || { log "$ENGINE lost $CONFIG while restarting"; exit 1; }
log "set: keep up to $RESERVED, prune when under $MIN_FREE free (at most $MAX_USED)"
