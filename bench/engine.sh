#!/usr/bin/env bash
# Benchmarks of the module on the Dagger kit's engine (not tests), offline options, printing seconds
# and ratios measured in the same run:
#
# bench/engine.sh [IMAGE]            (default base) beside the podman/Dockerfile path:
#   cold        an engine with an empty cache (the kit's engine state is set aside, restored after)
#   no-op       the same call again
#   supervisor  after a change to the supervisor's Go source
#   entrypoint  after a change to docker/base/entrypoint.sh
#   Engine: `image ... sync` (the build alone, as podman's), then `build-all` (build, go test,
#   structure tests, secret scan, SBOM: the main job; cold on an emptied engine of its own, else
#   after the image call). Podman: `podman build` of the rendered Dockerfile (cold:
#   --no-cache; its apt and Go download caches stay warm, the engine's do not).
#
# bench/engine.sh --reuse [IMAGE...]  (default base workspace) what CI pays for a supervisor-only
#   change on a runner whose engine starts empty, without and with --reuse-from a registry where the
#   images were published once (the kit's, 127.0.0.1:5000/dev8-bench): `build-all --skip-scan`, each
#   on an emptied engine. Without reuse an empty engine builds all of an image whatever changed, so
#   that figure is taken before the change, and its warm engine then publishes.
#
# Needs ../shared/dagger-kit (kit.sh up) and scripts/engine-standins.sh run; it applies
# scripts/engine-cache-policy.sh each time it restarts the engine.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO
readonly KIT="${DAGGER_KIT:-$REPO/../shared/dagger-kit/kit.sh}"
readonly KIT_DIR="${DAGGER_KIT_DIR:-/var/cache/dagger-kit}"
readonly REUSE_REGISTRY="127.0.0.1:5000/dev8-bench"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$REPO/scripts/podman/containers.conf}"

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

mode=rebuild
if [[ "${1:-}" == --reuse ]]; then
  mode=reuse
  shift
fi
images=("$@")
((${#images[@]} > 0)) || if [[ "$mode" == reuse ]]; then images=(base workspace); else images=(base); fi

[[ -x "$KIT" ]] || die "no Dagger kit at $KIT"
eval "$("$KIT" env)"
export NO_COLOR=1

# A private copy of the repository: the changes below never touch the checkout.
copy="$(mktemp -d)"
saved_state=""
cleanup() {
  rm -rf "$copy"
  if [[ -n "$saved_state" ]]; then
    "$KIT" down >/dev/null 2>&1
    rm -rf "$KIT_DIR/state"
    mv "$saved_state" "$KIT_DIR/state"
    "$KIT" up >/dev/null 2>&1
    bash "$REPO/scripts/engine-cache-policy.sh"
  fi
}
trap cleanup EXIT
(cd "$REPO" && git ls-files --cached --others --exclude-standard | grep -v '^sdk/' | tar -cf - -T -) | tar -xf - -C "$copy"
git -C "$copy" init -q

now() { date +%s.%N; }
seconds() {
  local start
  start="$(now)"
  "$@" >/dev/null 2>"$copy/.last.log" || { tail -n 30 "$copy/.last.log" >&2; die "failed: $*"; }
  awk -v start="$start" -v end="$(now)" 'BEGIN { printf "%.2f", end - start }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
dagger_call() { (cd "$copy" && seconds dagger call --options-file scripts/offline-build-args "$@"); }

# An empty engine cache, as a CI runner starts with; the kit's own is restored on exit.
cold_engine() {
  "$KIT" down >/dev/null
  if [[ -z "$saved_state" ]]; then
    saved_state="$KIT_DIR/state.bench-$$"
    mv "$KIT_DIR/state" "$saved_state"
  else
    rm -rf "$KIT_DIR/state"
  fi
  "$KIT" up >/dev/null
  # `down` dropped the cache policy with the container: without it a full disk prunes between calls.
  bash "$REPO/scripts/engine-cache-policy.sh"
}
change_supervisor() {
  printf '\nfunc init() { benchmarkChange = "%s" }\n\nvar benchmarkChange string\n' "$(now)" \
    >>"$copy/apps/supervisor/cmd/supervisor/main.go"
}

rebuild() {
  local image="${images[0]}" scenario path
  local -A figures
  mapfile -t standins < <(bash "$REPO/scripts/make-standin-images.sh")
  mapfile -t offline_args < <(grep -v -e '^#' -e '^$' "$REPO/scripts/offline-build-args")
  local podman_args=("--build-arg=BASE_IMAGE=${standins[0]}" "--build-arg=GO_IMAGE=${standins[1]}")
  for pair in "${offline_args[@]}"; do podman_args+=("--build-arg=$pair"); done
  # The build alone first, then build-all on top of it; cold, build-all gets an emptied engine of its
  # own, so both cold figures start from nothing.
  measure() {
    scenario="$1"
    figures[$scenario,image]="$(dagger_call image --name "$image" sync)"
    [[ "$scenario" == cold ]] && cold_engine
    figures[$scenario,all]="$(dagger_call build-all --images "$image" --scanners secret export --path "$copy/.reports")"
    local cache=()
    [[ "$scenario" == cold ]] && cache=(--no-cache)
    figures[$scenario,podman]="$(seconds podman build --layers "${cache[@]}" -f "$copy/docker/$image/Dockerfile" \
      "${podman_args[@]}" -t "localhost/dev8-bench/$image" "$copy")"
    log "$scenario: build-all ${figures[$scenario,all]} s, image ${figures[$scenario,image]} s, podman ${figures[$scenario,podman]} s"
  }
  cold_engine
  measure cold
  measure no-op
  change_supervisor
  measure supervisor
  printf '\n# benchmark change %s\n' "$(now)" >>"$copy/docker/base/entrypoint.sh"
  measure entrypoint
  printf '\n%s on the Dagger kit engine and podman, seconds (ratio to the cold run of the same path)\n\n' "$image"
  printf '| scenario | build-all | image (build only) | podman build |\n|---|---|---|---|\n'
  for scenario in cold no-op supervisor entrypoint; do
    local row="| $scenario"
    for path in all image podman; do
      row+=" | ${figures[$scenario,$path]} ($(ratio "${figures[$scenario,$path]}" "${figures[cold,$path]}"))"
    done
    echo "$row |"
  done
}

reuse() {
  local list image
  local -A without with
  list="$(IFS=,; echo "${images[*]}")"
  # Without reuse, an empty engine builds everything whatever changed: measured first, on the tree
  # as it is, so that its warm cache then makes the publish cheap.
  for image in "${images[@]}"; do
    cold_engine
    without[$image]="$(dagger_call build-all --images "$image" --skip-scan export --path "$copy/.reports")"
    log "$image: without reuse ${without[$image]} s"
  done
  log "publishing $list once to $REUSE_REGISTRY (feature layers and Go caches included)"
  (cd "$copy" && seconds dagger call --options-file scripts/offline-build-args --revision 0000000 publish \
    --registry "$REUSE_REGISTRY" --username bench --password env:HOME --tag v0.0.0 --images "$list" \
    --platform linux/amd64 --scanners secret --sign=false --reuse-from "$REUSE_REGISTRY") >/dev/null
  change_supervisor
  for image in "${images[@]}"; do
    cold_engine
    with[$image]="$(dagger_call build-all --images "$image" --skip-scan --reuse-from "$REUSE_REGISTRY" \
      export --path "$copy/.reports")"
    log "$image: with reuse ${with[$image]} s; $(grep -m1 'Go caches' "$copy/.reports/summary.md")"
  done
  printf '\nA supervisor-only change on an empty engine, build-all --skip-scan, seconds\n\n'
  printf '| image | without reuse | with --reuse-from | ratio |\n|---|---|---|---|\n'
  for image in "${images[@]}"; do
    echo "| $image | ${without[$image]} | ${with[$image]} | $(ratio "${with[$image]}" "${without[$image]}") |"
  done
}

"$mode"
