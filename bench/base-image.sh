#!/usr/bin/env bash
# Benchmark of the base image (not a test): time from `podman run` to an accepted SSH login,
# memory of an idle container, and the image's size against the 1.2 GB of the image it replaces,
# with every directory over 20 MB and every layer over 1 MB, so that the size is accounted for.
# Usage: bench/base-image.sh [IMAGE] [RUNS] [BASELINE]   (defaults: localhost/dev8/base:dev, 5)
#   BASELINE: another image (e.g. the previous build) measured in the same run, runs alternating.
# SUPERVISOR_ENABLED=true (default) runs workspace-supervisor in the containers too, as production does.
set -euo pipefail

readonly IMAGE="${1:-localhost/dev8/base:dev}"
readonly RUNS="${2:-5}"
readonly BASELINE="${3:-}"
readonly ORIGINAL_BYTES=1200000000 # the original workspace image: 1.2 GB
readonly IDLE_SECONDS=5
readonly SUPERVISOR="${SUPERVISOR_ENABLED:-true}"
readonly LARGE_DIR_MB=20

log() { printf 'bench: %s\n' "$*" >&2; }

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { log "RUNS must be a positive integer, got '$RUNS'"; exit 2; }
for image in "$IMAGE" ${BASELINE:+"$BASELINE"}; do
  podman image exists "$image" || { log "image $image not found"; exit 1; }
done

BENCH_PREFIX=dev8-bench
# shellcheck source=bench/lib/ssh-containers.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/ssh-containers.sh"

# One run: start a container, poll until `ssh dev8@... true` succeeds; prints the seconds.
time_to_login() {
  local image="$1" name="$2" start port
  start="$(now)"
  podman run -d --name "$name" -p 127.0.0.1::2222 -e SSH_PUBLIC_KEY="$(cat "$work/key.pub")" \
    -e SUPERVISOR_ENABLED="$SUPERVISOR" "$image" >/dev/null
  port="$(podman port "$name" 2222/tcp | head -n1)"
  port="${port##*:}"
  local deadline=$((SECONDS + 60))
  until ssh "${ssh_opts[@]}" -p "$port" dev8@127.0.0.1 true 2>/dev/null; do
    ((SECONDS < deadline)) || { log "no login within 60 s"; podman logs "$name" >&2; exit 1; }
    sleep 0.05
  done
  awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.3f\n", b - a }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

times=() baseline_times=()
for ((i = 1; i <= RUNS; i++)); do
  started+=("$prefix-$i")
  times+=("$(time_to_login "$IMAGE" "$prefix-$i")")
  if [[ -n "$BASELINE" ]]; then
    started+=("$prefix-baseline-$i")
    baseline_times+=("$(time_to_login "$BASELINE" "$prefix-baseline-$i")")
    podman rm -f -v -t 0 "$prefix-baseline-$i" >/dev/null
  fi
  ((i == RUNS)) || podman rm -f -v -t 0 "$prefix-$i" >/dev/null
done
last="$prefix-$RUNS"
sleep "$IDLE_SECONDS"
memory="$(podman stats --no-stream --format '{{.MemUsage}}' "$last" | cut -d/ -f1 | tr -d ' ')"
size_bytes="$(podman image inspect --format '{{.Size}}' "$IMAGE")"

sorted="$(printf '%s\n' "${times[@]}" | sort -n)"
login_median="$(printf '%s\n' "${times[@]}" | median)"
printf 'image                        %s (supervisor: %s)\n' "$IMAGE" "$SUPERVISOR"
printf 'run -> SSH login (s)         median %s, min %s, max %s over %d runs\n' \
  "$login_median" "$(head -n1 <<<"$sorted")" "$(tail -n1 <<<"$sorted")" "$RUNS"
if [[ -n "$BASELINE" ]]; then
  baseline_median="$(printf '%s\n' "${baseline_times[@]}" | median)"
  awk -v b="$baseline_median" -v m="$login_median" -v i="$BASELINE" 'BEGIN {
    printf "baseline run -> SSH login    median %.3f s (%s, same run): %.2fx the baseline\n", b, i, m / b
  }'
fi
printf '%-29s%s\n' "idle memory after ${IDLE_SECONDS}s" "$memory"
awk -v s="$size_bytes" -v o="$ORIGINAL_BYTES" 'BEGIN {
  printf "image size                   %.0f MB (original %.0f MB): %.2fx the original, %.0f%% smaller\n",
    s / 1e6, o / 1e6, s / o, (1 - s / o) * 100
}'
if [[ -n "$BASELINE" ]]; then
  awk -v s="$size_bytes" -v b="$(podman image inspect --format '{{.Size}}' "$BASELINE")" 'BEGIN {
    printf "baseline image size          %.0f MB: %.2fx the baseline\n", b / 1e6, s / b
  }'
fi

printf '\nlayers over 1 MB (size, what made it):\n'
podman history --no-trunc --format '{{.Size}}\t{{.CreatedBy}}' "$IMAGE" |
  awk -F'\t' '$1 ~ /MB|GB/ {
    what = $2
    if (match(what, /source=docker\/features\/[a-z0-9-]+/)) what = "feature " substr(what, RSTART + 23, RLENGTH - 23)
    else if (what ~ /workspace-supervisor/) what = "workspace-supervisor"
    else if (what ~ /^\/bin\/sh -c #\(nop\) ADD/) what = "the base image (FROM)"
    printf "  %9s  %s\n", $1, substr(what, 1, 100)
  }'
printf '\ndirectories over %d MB (disk usage, MB):\n' "$LARGE_DIR_MB"
podman run --rm --user root --entrypoint du "$IMAGE" -xm --max-depth=4 / 2>/dev/null |
  awk -v min="$LARGE_DIR_MB" '$1 > min { printf "  %6d  %s\n", $1, $2 }' | sort -k2
