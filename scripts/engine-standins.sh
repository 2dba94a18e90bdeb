#!/usr/bin/env bash
# Serves the stand-in images under the names the module pulls (`python -m pipeline pins`), from the
# Dagger kit's local registry, the engine's docker.io/ghcr.io mirror: Debian for the base reference,
# the Go toolchain image, Trivy (the binary .ci/run builds, with the templates the official image
# ships in /contrib) and cosign (built by .ci/run too), each on Debian. Rerunning pushes again; the
# registry keeps one copy of each blob.
set -euo pipefail

cd "$(dirname "$0")/.."
readonly KIT="${DAGGER_KIT:-../shared/dagger-kit/kit.sh}"
readonly PYTHON="${PYTHON:-.venv/bin/python}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/scripts/podman/containers.conf}"

log() { printf 'engine-standins: %s\n' "$*" >&2; }

[[ -x "$KIT" ]] || { log "no Dagger kit at $KIT"; exit 1; }
trivy_bin="$(command -v trivy)" || { log "trivy is not on PATH (.ci/run builds it)"; exit 1; }
trivy_version="$(trivy --version | awk '/^Version:/ {print $2}')"
templates="$(go env GOMODCACHE)/github.com/aquasecurity/trivy@v${trivy_version}/contrib"
[[ -d "$templates" ]] || { log "no Trivy $trivy_version source in the Go module cache ($templates)"; exit 1; }

cosign_bin="$(command -v cosign)" || { log "cosign is not on PATH (.ci/run builds it)"; exit 1; }
cosign_version="$(cosign version 2>/dev/null | awk '/^GitVersion:/ {print $2}')"

mapfile -t standins < <(bash scripts/make-standin-images.sh)
debian="${standins[0]}" go_image="${standins[1]}"

# standin IMAGE BINARY [EXTRA_DIR]: Debian with BINARY in /usr/local/bin (and EXTRA_DIR as /contrib).
standin() {
  local image="$1" binary="$2" extra="${3:-}" context
  podman image exists "$image" && return
  log "building $image"
  context="$(mktemp -d)"
  cp "$binary" "$context/"
  printf 'FROM %s\nCOPY %s /usr/local/bin/\n' "$debian" "$(basename "$binary")" >"$context/Containerfile"
  if [[ -n "$extra" ]]; then
    cp -r "$extra" "$context/contrib"
    echo 'COPY contrib /contrib' >>"$context/Containerfile"
  fi
  podman build --quiet -t "$image" "$context" >/dev/null
  rm -rf "$context"
}
trivy_image="localhost/dev8-standin/trivy:${trivy_version}"
cosign_image="localhost/dev8-standin/cosign:${cosign_version}"
standin "$trivy_image" "$trivy_bin" "$templates"
standin "$cosign_image" "$cosign_bin"

while read -r kind reference; do
  case "$kind" in
    base) source="$debian" ;;
    go) source="$go_image" ;;
    trivy) source="$trivy_image" ;;
    cosign) source="$cosign_image" ;;
    *) log "unknown kind '$kind' from python -m pipeline pins"; exit 1 ;;
  esac
  "$KIT" push "$source" "$reference" >/dev/null
  log "$reference <- $source"
done < <("$PYTHON" -m pipeline pins)
