#!/usr/bin/env bash
# Benchmark of the catalog images (not a test): each image's size (the workspace against the
# original image's 3.5 GB), and in the same run the time of a full rebuild (no layer cache) against
# the rebuild after a change to the supervisor's source, which should rebuild only the supervisor
# stage and the tail, never a feature layer.
# Usage: bench/images.sh [--offline] [IMAGE...]   (default images: base nodejs python go rust workspace)
#   --offline: build on the stand-in base images with the offline build arguments (as the tests do).
# Extra build arguments: DEV8_BUILD_ARGS="NAME=value NAME=value". Podman (or BENCH_ENGINE=docker).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO
readonly ENGINE="${BENCH_ENGINE:-podman}"
readonly ORIGINAL_WORKSPACE_BYTES=3500000000 # the original workspace image: about 3.5 GB
readonly SUPERVISOR_FILE="apps/supervisor/cmd/supervisor/main.go"

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

offline=false
images=()
for arg in "$@"; do
  case "$arg" in
    --offline) offline=true ;;
    -*) die "unknown option $arg (usage: bench/images.sh [--offline] [IMAGE...])" ;;
    *) images+=("$arg") ;;
  esac
done
((${#images[@]} > 0)) || images=(base nodejs python go rust workspace)
for image in "${images[@]}"; do
  [[ -f "$REPO/docker/$image/Dockerfile" ]] || die "no docker/$image/Dockerfile (run 'python -m pipeline render')"
done

build_args=()
read -r -a extra <<<"${DEV8_BUILD_ARGS:-}"
if [[ "$offline" == true ]]; then
  export CONTAINERS_CONF="${CONTAINERS_CONF:-$REPO/scripts/podman/containers.conf}"
  mapfile -t standins < <(bash "$REPO/scripts/make-standin-images.sh")
  ((${#standins[@]} == 2)) || die "scripts/make-standin-images.sh did not print two images"
  debian="${standins[0]}" go="${standins[1]}"
  mapfile -t offline_args < <(grep -v -e '^#' -e '^$' "$REPO/scripts/offline-build-args")
  extra=("BASE_IMAGE=$debian" "GO_IMAGE=$go" "${offline_args[@]}" "${extra[@]}")
fi
for pair in "${extra[@]}"; do build_args+=("--build-arg=$pair"); done

# A private copy of the build context, so that the supervisor change never touches the checkout.
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/apps"
cp -a "$REPO/docker" "$context/docker"
cp -a "$REPO/apps/supervisor" "$context/apps/supervisor"
cp "$REPO/.dockerignore" "$context/.dockerignore"

now() { date +%s.%N; }

# Builds one image from the private context; prints the seconds it took.
build() {
  local image="$1" start
  shift
  start="$(now)"
  "$ENGINE" build "$@" "${build_args[@]}" -f "$context/docker/$image/Dockerfile" \
    -t "localhost/dev8/$image:bench" "$context" >"$context/build-$image.log" 2>&1 ||
    die "building $image failed; the log: $(tail -n 20 "$context/build-$image.log")"
  awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f\n", b - a }'
}

declare -A full touched size
for image in "${images[@]}"; do
  log "full rebuild of $image (no layer cache)"
  full[$image]="$(build "$image" --no-cache)"
  size[$image]="$("$ENGINE" image inspect --format '{{.Size}}' "localhost/dev8/$image:bench")"
done

# A real change to the supervisor's source (a comment): the supervisor stage and the tail rebuild.
printf '\n// bench %s\n' "$(date +%s%N)" >>"$context/$SUPERVISOR_FILE"
for image in "${images[@]}"; do
  log "rebuild of $image after a supervisor change"
  touched[$image]="$(build "$image" --layers)"
done

printf '%-10s %10s %12s %16s %8s\n' image "size (MB)" "full (s)" "supervisor (s)" ratio
for image in "${images[@]}"; do
  awk -v i="$image" -v s="${size[$image]}" -v f="${full[$image]}" -v t="${touched[$image]}" 'BEGIN {
    printf "%-10s %10.0f %12.1f %16.1f %7.1f%%\n", i, s / 1e6, f, t, 100 * t / f
  }'
done
if [[ -n "${size[workspace]:-}" ]]; then
  awk -v s="${size[workspace]}" -v o="$ORIGINAL_WORKSPACE_BYTES" 'BEGIN {
    printf "workspace: %.0f MB against the original %.0f MB: %.2fx\n", s / 1e6, o / 1e6, s / o
  }'
fi
[[ "$offline" == false ]] || log "offline build: Python, Rust and the AWS CLI from Debian, the Azure CLI from PyPI, code-server from npm"
