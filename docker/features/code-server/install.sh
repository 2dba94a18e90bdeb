#!/usr/bin/env bash
# Installs code-server and dev8's settings for it. Runs as root during the image build.
# Reads config.yaml, settings.json and lock-check.js from its folder.
# Options: CODE_SERVER_VERSION, CODE_SERVER_SOURCE = github | npm | none (Dev Container Feature:
# VERSION, SOURCE). The settings go to the home of the user: the Dev Container's remote user
# (_REMOTE_USER), else dev8.
set -euo pipefail

FEATURE_DIR="$(dirname "$(readlink -f "$0")")" # this script's folder, wherever the builder put it
readonly FEATURE_DIR
readonly PREFIX="/usr/local/lib/code-server"
readonly USER_NAME="${_REMOTE_USER:-dev8}"
readonly REGISTRY="https://registry.npmjs.org"
# The npm registry's sha512 integrity of code-server@<version>; the package's own lock files pin
# every dependency below it.
declare -A INTEGRITY=(
  [4.139.1]="sha512-fUYvJVdz4ZoVJfakGiGWXFMpF8K1ObsrpGvX17ZxNpKOzdNHs7lANT670JTr4ZhA8DnWqyvvmFG/d3HV9Yy6ew=="
)
# The only dependency of code-server itself with an install script (lib/vscode and its extensions
# ship their own allowScripts policy).
readonly ALLOW_SCRIPTS="argon2@0.44.0"
# Headers and libraries the native modules build against (kerberos needs krb5's); removed after.
readonly BUILD_PACKAGES=(libkrb5-dev pkg-config python3 make g++)

log() { printf 'code-server: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# An option's value: dev8's builds pass it as <FEATURE>_<OPTION>, the Dev Container CLI as the
# option's own name (VERSION, YQ_SOURCE), which wins there (_REMOTE_USER set): a base image's ENV
# may hold either name.
option() {
  local name="$2"
  [[ -z "${_REMOTE_USER:-}" || -z "${!1+set}" ]] || name="$1"
  printf '%s' "${!name-$3}"
}

version="$(option VERSION CODE_SERVER_VERSION 4.139.1)"
source_kind="$(option SOURCE CODE_SERVER_SOURCE github)"
case "$source_kind" in
  github | npm) ;;
  none)
    log "CODE_SERVER_SOURCE=none: not installing code-server"
    exit 0
    ;;
  *) die "CODE_SERVER_SOURCE must be 'github', 'npm' or 'none', got '$source_kind'" ;;
esac
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "CODE_SERVER_VERSION must be x.y.z, got '$version'"
getent passwd "$USER_NAME" >/dev/null || die "user $USER_NAME not found: include the user feature first"
user_home="${_REMOTE_USER_HOME:-$(getent passwd "$USER_NAME" | cut -d: -f6)}"
user_group="$(id -gn "$USER_NAME")"

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64 | arm64) ;;
  *) die "unsupported architecture '$arch' (amd64 and arm64 are supported)" ;;
esac
if [[ "$source_kind" == npm && -z "${INTEGRITY[$version]:-}" ]]; then
  die "no pinned checksum for code-server@$version in install.sh (pinned: ${!INTEGRITY[*]})"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl jq
rm -rf /var/lib/apt/lists/*

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# code-server and npm write settings, logs and caches to the home, node a compile cache to /tmp.
export HOME="$tmp/home" NODE_DISABLE_COMPILE_CACHE=1

install_from_github() {
  local asset="code-server-$version-linux-$arch.tar.gz" digest
  log "installing code-server $version ($arch) from its GitHub release"
  curl -fsSL --retry 3 -o "$tmp/release.json" \
    "https://api.github.com/repos/coder/code-server/releases/tags/v$version"
  digest="$(jq -r --arg name "$asset" '.assets[] | select(.name == $name) | .digest // ""' "$tmp/release.json")"
  [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "no SHA-256 digest for $asset in release v$version"
  curl -fsSL --retry 3 -o "$tmp/$asset" "https://github.com/coder/code-server/releases/download/v$version/$asset"
  printf '%s  %s\n' "${digest#sha256:}" "$tmp/$asset" | sha256sum --check --strict --quiet ||
    die "$asset: checksum mismatch (GitHub digest $digest)"
  rm -rf "$PREFIX"
  install -d -m 0755 "$PREFIX"
  tar -xzf "$tmp/$asset" -C "$PREFIX" --strip-components=1 --no-same-owner
  ln -sf "$PREFIX/bin/code-server" /usr/local/bin/code-server
}

# The npm package, run by the image's own Node.js: its native modules (node-pty, spdlog, sqlite3,
# kerberos, argon2...) are compiled here against that Node's headers; nothing comes from GitHub
# (prebuild-install and node-gyp's header download are both bypassed).
install_from_npm() {
  local node_bin node_dir node_major want got before
  node_bin="$(command -v node || true)"
  [[ -n "$node_bin" ]] || die "node not found: include the nodejs feature before code-server"
  node_bin="$(readlink -f "$node_bin")"
  node_dir="$(dirname "$(dirname "$node_bin")")"
  node_major="$("$node_bin" -p 'process.versions.node.split(".")[0]')"
  [[ -r "$node_dir/include/node/node.h" ]] ||
    die "no Node.js headers in $node_dir/include/node: the native modules compile against them"

  log "installing code-server $version from the npm registry (Node.js $("$node_bin" --version))"
  want="$(printf '%s' "${INTEGRITY[$version]#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
  curl -fsSL --retry 3 -o "$tmp/code-server.tgz" "$REGISTRY/code-server/-/code-server-$version.tgz"
  got="$(sha512sum "$tmp/code-server.tgz" | cut -d' ' -f1)"
  [[ "$got" == "$want" ]] || die "code-server@$version: sha512 mismatch (pinned $want, got $got)"
  rm -rf "$PREFIX"
  install -d -m 0755 "$PREFIX"
  tar -xzf "$tmp/code-server.tgz" -C "$PREFIX" --strip-components=1 --no-same-owner
  local required
  required="$(jq -r '.engines.node // ""' "$PREFIX/package.json")"
  [[ ! "$required" =~ ^[0-9]+$ || "$required" == "$node_major" ]] ||
    die "code-server $version needs Node.js $required, the image has $node_major (nodejs feature's version)"

  # npm 12 no longer reads npm-shrinkwrap.json; the same file as package-lock.json pins every
  # package with its sha512 again (npm ci at the top, the postinstall's npm install below it).
  local dir
  for dir in . lib/vscode lib/vscode/extensions; do
    mv "$PREFIX/$dir/npm-shrinkwrap.json" "$PREFIX/$dir/package-lock.json"
  done

  mapfile -t before < <(dpkg-query -W -f '${Package}\n' | sort)
  apt-get update
  apt-get install -y --no-install-recommends "${BUILD_PACKAGES[@]}"
  printf 'allow-scripts=%s\n' "$ALLOW_SCRIPTS" >"$tmp/npmrc"
  (
    cd "$PREFIX"
    export npm_config_userconfig="$tmp/npmrc" npm_config_cache="$tmp/npm-cache" \
      npm_config_nodedir="$node_dir" npm_config_build_from_source=true \
      npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
    npm ci --omit=dev
  )
  node "$FEATURE_DIR/lock-check.js" "$PREFIX" . lib/vscode lib/vscode/extensions

  # Build leftovers: object files and generated sources (sqlite's amalgamation among them).
  find "$PREFIX" -type d -path '*/build/Release/obj*' -prune -exec rm -rf {} +
  find "$PREFIX" -type d -path '*/build/Release/.deps' -prune -exec rm -rf {} +
  # Only the packages this step added (build tools already in the image stay).
  mapfile -t added < <(comm -13 <(printf '%s\n' "${before[@]}") <(dpkg-query -W -f '${Package}\n' | sort))
  ((${#added[@]} == 0)) || apt-get purge -y "${added[@]}"
  rm -rf /var/lib/apt/lists/*
  local module missing
  while IFS= read -r module; do
    missing="$(ldd "$module" | grep 'not found' || true)"
    [[ -z "$missing" ]] || die "$module: libraries missing after the build packages were removed: $missing"
  done < <(find "$PREFIX" -name '*.node' -path '*/build/Release/*')

  cat >/usr/local/bin/code-server <<WRAPPER
#!/bin/sh
# code-server from the npm registry on the image's Node.js (installed by the dev8 code-server feature).
exec $node_bin $PREFIX/out/node/entry.js "\$@"
WRAPPER
  chmod 0755 /usr/local/bin/code-server
}

if [[ "$source_kind" == github ]]; then
  install_from_github
else
  [[ -r "$FEATURE_DIR/lock-check.js" ]] || die "$FEATURE_DIR/lock-check.js not found (feature folder not mounted?)"
  install_from_npm
fi
chmod -R a+rX "$PREFIX"

install -d -m 0755 -o "$USER_NAME" -g "$user_group" \
  "$user_home/.config" "$user_home/.config/code-server" "$user_home/.local" "$user_home/.local/share" \
  "$user_home/.local/share/code-server" "$user_home/.local/share/code-server/User"
install -m 0644 -o "$USER_NAME" -g "$user_group" "$FEATURE_DIR/config.yaml" "$user_home/.config/code-server/config.yaml"
install -m 0644 -o "$USER_NAME" -g "$user_group" "$FEATURE_DIR/settings.json" \
  "$user_home/.local/share/code-server/User/settings.json"
code-server --version
