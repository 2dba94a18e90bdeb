#!/usr/bin/env bash
# Build the dev8 images from the repository root: ./docker/build.sh [options] [IMAGE...]
# With Dagger on PATH it calls the module (dagger call build-all, or publish with --push);
# without it, it builds the committed docker/<image>/Dockerfile files (context: the repository
# root) with docker buildx or podman, whichever exists. --help lists the options and switches.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./docker/build.sh [options] [SWITCH=false...] [IMAGE...]

Builds every image of the catalog (base first, then workspace, then the specialised images),
or only the IMAGEs named. Run it from the repository root.

Switches (environment variables or arguments, true or false; all default to true):
  BUILD_BASE=false         skip the base image
  BUILD_MVP=false          skip the workspace image (BUILD_WORKSPACE=false does the same)
  BUILD_SPECIALISED=false  skip the specialised images (every image but base and workspace)

Options:
  --images a,b             build exactly these images (IMAGE arguments do the same);
                           overrides the switches
  --registry REGISTRY      name images REGISTRY/dev8-<image> (default: dev8-<image>)   [REGISTRY]
  --tag TAG                image tag (default: latest); any other tag is also stamped as the
                           supervisor's version and the OCI version label               [TAG]
  --platform LIST          platforms, e.g. linux/amd64,linux/arm64 (default: the host's)  [PLATFORMS]
  --push                   push the images after building them (needs --registry; with
                           Dagger also REGISTRY_USERNAME and REGISTRY_PASSWORD)        [PUSH=true]
  --option F.O=VALUE       a feature option, e.g. github-cli.source=distro (repeatable); becomes
                           `--option` with Dagger and the build argument F_O=VALUE otherwise
  --build-arg NAME=VALUE   an extra build argument for Dockerfile builds (repeatable), e.g.
                           BASE_IMAGE=debian:bookworm; not available with Dagger (use --option)
  --builder NAME           auto (default), dagger, docker (buildx) or podman            [BUILDER]
  --reports DIR            where Dagger exports the reports (default: reports)
  -h, --help               this help
EOF
}

die() {
  printf 'build.sh: error: %s\n' "$*" >&2
  exit 2
}

say() { printf '==> %s\n' "$*"; }

is_false() {
  case "${1,,}" in
    false | 0 | no | off) return 0 ;;
    true | 1 | yes | on | "") return 1 ;;
    *) die "$2 must be true or false, not '$1'" ;;
  esac
}

registry="${REGISTRY:-}"
tag="${TAG:-latest}"
platforms="${PLATFORMS:-}"
push="${PUSH:-false}"
builder="${BUILDER:-auto}"
reports="reports"
selected=()
feature_options=()
build_args=()

need_value() {
  [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || die "$1 needs a value (see --help)"
}

while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --push) push=true; shift ;;
    --images | --registry | --tag | --platform | --option | --build-arg | --builder | --reports)
      need_value "$@"
      case "$1" in
        --images) IFS=, read -ra names <<<"$2"; selected+=("${names[@]}") ;;
        --registry) registry="${2%/}" ;;
        --tag) tag="$2" ;;
        --platform) platforms="$2" ;;
        --option) feature_options+=("$2") ;;
        --build-arg) build_args+=("$2") ;;
        --builder) builder="$2" ;;
        --reports) reports="$2" ;;
      esac
      shift 2
      ;;
    --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
    BUILD_BASE=* | BUILD_MVP=* | BUILD_WORKSPACE=* | BUILD_SPECIALISED=*) printf -v "${1%%=*}" '%s' "${1#*=}"; shift ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) selected+=("$1"); shift ;;
  esac
done
is_false "$push" PUSH && push=false || push=true

# Run from the repository root, as the Dockerfiles' context is the repository root.
if [[ ! -f docker/images.yaml || ! -f docker/build.sh ]]; then
  die "run me from the repository root, as ./docker/build.sh (the current directory, $PWD, has no docker/images.yaml)"
fi

for arg in "${build_args[@]}"; do
  [[ "$arg" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--build-arg takes NAME=VALUE, not '$arg'"
done
for opt in "${feature_options[@]}"; do
  [[ "$opt" =~ ^[a-z0-9-]+\.[a-z0-9-]+= ]] || die "--option takes feature.option=value, not '$opt'"
done

# The catalog's images are the committed Dockerfiles: base, workspace, then the others by name.
known=()
for dockerfile in docker/*/Dockerfile; do
  [[ -f "$dockerfile" ]] || continue
  name="${dockerfile#docker/}"
  known+=("${name%/Dockerfile}")
done
ordered=()
for name in base workspace; do
  [[ " ${known[*]} " == *" $name "* ]] && ordered+=("$name")
done
for name in "${known[@]}"; do
  [[ "$name" == base || "$name" == workspace ]] || ordered+=("$name")
done

images=()
if ((${#selected[@]})); then
  for name in "${selected[@]}"; do
    [[ " ${ordered[*]} " == *" $name "* ]] || die "unknown image '$name' (known: ${ordered[*]})"
    images+=("$name")
  done
else
  build_mvp=true # BUILD_MVP is the original script's name for it; either one false skips workspace
  if is_false "${BUILD_MVP:-true}" BUILD_MVP || is_false "${BUILD_WORKSPACE:-true}" BUILD_WORKSPACE; then
    build_mvp=false
  fi
  for name in "${ordered[@]}"; do
    case "$name" in
      base) is_false "${BUILD_BASE:-true}" BUILD_BASE && continue ;;
      workspace) [[ "$build_mvp" == false ]] && continue ;;
      *) is_false "${BUILD_SPECIALISED:-true}" BUILD_SPECIALISED && continue ;;
    esac
    images+=("$name")
  done
fi
((${#images[@]})) || die "nothing to build: every image is switched off"
if [[ "$push" == true && -z "$registry" ]]; then
  die "--push needs --registry (for example --registry ghcr.io/dev8)"
fi

# Which tool: Dagger if installed, else docker with buildx, else podman.
has_buildx() { command -v docker >/dev/null && docker buildx version >/dev/null 2>&1; }
case "$builder" in
  auto)
    if command -v dagger >/dev/null; then
      builder=dagger
    elif has_buildx; then
      builder=docker
    elif command -v podman >/dev/null; then
      builder=podman
    else
      die "no build tool found: install Dagger (https://docs.dagger.io/install), Docker with buildx, or podman"
    fi
    ;;
  dagger) command -v dagger >/dev/null || die "--builder dagger: dagger is not on PATH" ;;
  docker) has_buildx || die "--builder docker: docker with the buildx plugin is not available" ;;
  podman) command -v podman >/dev/null || die "--builder podman: podman is not on PATH" ;;
  *) die "--builder must be auto, dagger, docker or podman, not '$builder'" ;;
esac

ref() { printf '%s' "${registry:+$registry/}dev8-$1:$tag"; }

say "building ${images[*]} with $builder (tag $tag${platforms:+, platforms $platforms}${registry:+, registry $registry})"

if [[ "$builder" == dagger ]]; then
  ((${#build_args[@]} == 0)) || die "--build-arg is for Dockerfile builds; with Dagger use --option feature.option=value"
  selection=()
  if ((${#images[@]} != ${#ordered[@]})); then
    selection+=(--images "$(IFS=, && printf '%s' "${images[*]}")")
  fi
  for opt in "${feature_options[@]}"; do selection+=(--option "$opt"); done
  if [[ "$push" == true ]]; then
    [[ -n "${REGISTRY_USERNAME:-}" && -n "${REGISTRY_PASSWORD:-}" ]] ||
      die "--push with Dagger needs REGISTRY_USERNAME and REGISTRY_PASSWORD (a token) in the environment"
    command -v git >/dev/null || die "--push with Dagger needs git, to tag the images with the commit"
    call=(--revision "$(git rev-parse HEAD)" publish --registry "$registry" --username "$REGISTRY_USERNAME"
      --password env:REGISTRY_PASSWORD --tag "$tag" ${platforms:+--platform "$platforms"} "${selection[@]}")
    say "dagger call ${call[*]}"
    dagger call "${call[@]}"
    exit 0
  fi
  [[ -z "$platforms" ]] || die "--platform with Dagger goes with --push (build-all builds for the engine's platform)"
  call=()
  [[ "$tag" == latest ]] || call+=(--version "$tag")
  call+=(build-all "${selection[@]}" export --path "$reports")
  say "dagger call ${call[*]}"
  dagger call "${call[@]}"
  say "reports in $reports/ (summary: $reports/summary.md)"
  if [[ -s "$reports/failures.txt" ]]; then
    printf 'build.sh: failed:\n' >&2
    while IFS= read -r line; do printf '  %s\n' "$line" >&2; done <"$reports/failures.txt"
    exit 1
  fi
  exit 0
fi

# Dockerfile builds: feature options become build arguments (github-cli.source -> GITHUB_CLI_SOURCE).
args=()
for opt in "${feature_options[@]}"; do
  name="${opt%%=*}"
  name="${name//[.-]/_}"
  args+=(--build-arg "${name^^}=${opt#*=}")
done
for arg in "${build_args[@]}"; do args+=(--build-arg "$arg"); done
if [[ "$tag" != latest ]]; then
  args+=(--build-arg "SUPERVISOR_VERSION=$tag" --build-arg "IMAGE_VERSION=$tag")
fi
multi=false
[[ "$platforms" == *,* ]] && multi=true

count=0
for name in "${images[@]}"; do
  count=$((count + 1))
  started=$SECONDS
  say "[$count/${#images[@]}] $(ref "$name") from docker/$name/Dockerfile"
  if [[ "$builder" == docker ]]; then
    output=(--load)
    [[ "$push" == true ]] && output=(--push)
    if [[ "$multi" == true && "$push" == false ]]; then
      output=()
      say "several platforms without --push: docker cannot load the result; it stays in the buildx cache"
    fi
    docker buildx build --progress plain ${platforms:+--platform "$platforms"} "${args[@]}" "${output[@]}" \
      -f "docker/$name/Dockerfile" -t "$(ref "$name")" .
  elif [[ "$multi" == true ]]; then
    # A manifest list is added to, not replaced: start from an empty one.
    if podman manifest exists "$(ref "$name")"; then podman manifest rm "$(ref "$name")"; fi
    podman build --layers --platform "$platforms" "${args[@]}" -f "docker/$name/Dockerfile" --manifest "$(ref "$name")" .
    [[ "$push" == false ]] || podman manifest push --all "$(ref "$name")" "docker://$(ref "$name")"
  else
    podman build --layers ${platforms:+--platform "$platforms"} "${args[@]}" -f "docker/$name/Dockerfile" -t "$(ref "$name")" .
    [[ "$push" == false ]] || podman push "$(ref "$name")"
  fi
  say "[$count/${#images[@]}] $(ref "$name") built in $((SECONDS - started))s"
done
say "done with $builder: ${images[*]}"
