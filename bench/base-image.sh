#!/usr/bin/env bash
# Benchmark of the base image (not a test): time from `podman run` to an accepted SSH login,
# memory of an idle container, and image size against the 1.2 GB of the image it replaces.
# Usage: bench/base-image.sh [IMAGE] [RUNS]    (defaults: localhost/dev8/base:dev, 5)
# SUPERVISOR_ENABLED=true (default) runs workspace-supervisor in the containers too, as production does.
set -euo pipefail

readonly IMAGE="${1:-localhost/dev8/base:dev}"
readonly RUNS="${2:-5}"
readonly ORIGINAL_BYTES=1200000000 # the original workspace image: 1.2 GB
readonly IDLE_SECONDS=5
readonly SUPERVISOR="${SUPERVISOR_ENABLED:-true}"

log() { printf 'bench: %s\n' "$*" >&2; }

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { log "RUNS must be a positive integer, got '$RUNS'"; exit 2; }
podman image exists "$IMAGE" || { log "image $IMAGE not found"; exit 1; }

work="$(mktemp -d)"
prefix="dev8-bench-$$"
cleanup() {
  local i
  for ((i = 1; i <= RUNS; i++)); do podman rm -f -t 0 "$prefix-$i" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -C bench -f "$work/key"
ssh_opts=(-F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o IdentitiesOnly=yes -o ConnectTimeout=2 -o LogLevel=ERROR -i "$work/key")

now() { date +%s.%N; }

# One run: start a container, poll until `ssh dev8@... true` succeeds; prints the seconds.
time_to_login() {
  local name="$prefix-$1" start port
  start="$(now)"
  podman run -d --name "$name" -p 127.0.0.1::2222 -e SSH_PUBLIC_KEY="$(cat "$work/key.pub")" \
    -e SUPERVISOR_ENABLED="$SUPERVISOR" "$IMAGE" >/dev/null
  port="$(podman port "$name" 2222/tcp | head -n1)"
  port="${port##*:}"
  local deadline=$((SECONDS + 60))
  until ssh "${ssh_opts[@]}" -p "$port" dev8@127.0.0.1 true 2>/dev/null; do
    ((SECONDS < deadline)) || { log "no login within 60 s"; podman logs "$name" >&2; exit 1; }
    sleep 0.05
  done
  awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.3f\n", b - a }'
}

times=()
for ((i = 1; i <= RUNS; i++)); do
  times+=("$(time_to_login "$i")")
done
last="$prefix-$RUNS"
sleep "$IDLE_SECONDS"
memory="$(podman stats --no-stream --format '{{.MemUsage}}' "$last" | cut -d/ -f1 | tr -d ' ')"
size_bytes="$(podman image inspect --format '{{.Size}}' "$IMAGE")"

sorted="$(printf '%s\n' "${times[@]}" | sort -n)"
median="$(printf '%s\n' "$sorted" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
printf 'image                        %s (supervisor: %s)\n' "$IMAGE" "$SUPERVISOR"
printf 'run -> SSH login (s)         median %s, min %s, max %s over %d runs\n' \
  "$median" "$(head -n1 <<<"$sorted")" "$(tail -n1 <<<"$sorted")" "$RUNS"
printf '%-29s%s\n' "idle memory after ${IDLE_SECONDS}s" "$memory"
awk -v s="$size_bytes" -v o="$ORIGINAL_BYTES" 'BEGIN {
  printf "image size                   %.0f MB (original %.0f MB): %.2fx the original, %.0f%% smaller\n",
    s / 1e6, o / 1e6, s / o, (1 - s / o) * 100
}'
