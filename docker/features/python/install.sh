#!/usr/bin/env bash
# Installs Python, pip, uv and the Python developer tools. Runs as root during the image build.
# Options: PYTHON_VERSION (3.X), PYTHON_SOURCE = distro | uv, PYTHON_TOOLS (Dev Container Feature:
# VERSION, SOURCE, TOOLS).
set -euo pipefail

# uv from its PyPI wheel (the wheel carries the static binary), pinned by SHA-256.
readonly UV_VERSION="0.13.9"
readonly UV_WHEEL_AMD64="3d/aa/26d64642d808de4a652579ef950d7cd2d37f080a8babf9c67c6b75fc4c3f/uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
readonly UV_SHA256_AMD64="d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19"
readonly UV_WHEEL_ARM64="fe/2f/51a5de367c602592c018a42a23d57fba5f2689fe6c3bf025dcf043b39c61/uv-0.13.9-py3-none-manylinux_2_28_aarch64.whl"
readonly UV_SHA256_ARM64="ecb6028d79dc96fbeafffe5c8af62a7099487ebc05a701e76714eebcffd06375"
readonly TOOL_DIR="/opt/dev8/python-tools"
readonly UV_PYTHON_DIR="/opt/dev8/python"
# Commands a tool's own package does not expose: `jupyter` (so `jupyter lab` works) is jupyter-core's.
declare -A EXECUTABLES_FROM=([jupyterlab]=jupyter-core)

log() { printf 'python: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# An option's value: dev8's builds pass it as <FEATURE>_<OPTION>, the Dev Container CLI as the
# option's own name (VERSION, YQ_SOURCE), which wins there (_REMOTE_USER set): a base image's ENV
# may hold either name.
option() {
  local name="$2"
  [[ -z "${_REMOTE_USER:-}" || -z "${!1+set}" ]] || name="$1"
  printf '%s' "${!name-$3}"
}

version="$(option VERSION PYTHON_VERSION 3.11)"
source_kind="$(option SOURCE PYTHON_SOURCE uv)"
read -r -a tools <<<"$(option TOOLS PYTHON_TOOLS "poetry==2.5.1 pipenv==2026.10.3 black==26.10.1 pytest==9.2.0 ipython==9.18.1 jupyterlab==4.6.6")"
[[ "$version" =~ ^3\.[0-9]+$ ]] || die "PYTHON_VERSION must be 3.X, got '$version'"
case "$source_kind" in
  distro | uv) ;;
  *) die "PYTHON_SOURCE must be 'distro' or 'uv', got '$source_kind'" ;;
esac
for tool in "${tools[@]}"; do
  [[ "$tool" =~ ^[A-Za-z0-9._-]+==[A-Za-z0-9.+-]+$ ]] || die "PYTHON_TOOLS entry '$tool' is not name==version"
done

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64) uv_wheel="$UV_WHEEL_AMD64" uv_sha256="$UV_SHA256_AMD64" ;;
  arm64) uv_wheel="$UV_WHEEL_ARM64" uv_sha256="$UV_SHA256_ARM64" ;;
  *) die "unsupported architecture '$arch' (amd64 and arm64 are supported)" ;;
esac

export DEBIAN_FRONTEND=noninteractive
packages=(ca-certificates curl unzip)
if [[ "$source_kind" == distro ]]; then
  packages+=("python$version" "python$version-venv" "python$version-dev" python3-pip)
fi
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"
rm -rf /var/lib/apt/lists/*

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Whatever the tools write to a home (caches, settings) stays out of the image.
export HOME="$tmp/home"
log "installing uv $UV_VERSION ($arch) from PyPI"
curl -fsSL --retry 3 -o "$tmp/uv.whl" "https://files.pythonhosted.org/packages/$uv_wheel"
printf '%s  %s\n' "$uv_sha256" "$tmp/uv.whl" | sha256sum --check --strict --quiet ||
  die "uv $UV_VERSION wheel: checksum mismatch (pinned $uv_sha256)"
unzip -q -o "$tmp/uv.whl" "uv-$UV_VERSION.data/scripts/*" -d "$tmp/uv"
install -m 0755 "$tmp/uv/uv-$UV_VERSION.data/scripts/uv" "$tmp/uv/uv-$UV_VERSION.data/scripts/uvx" /usr/local/bin/

if [[ "$source_kind" == uv ]]; then
  log "installing Python $version with uv (python-build-standalone)"
  UV_PYTHON_INSTALL_DIR="$UV_PYTHON_DIR" uv python install --default "$version"
  python_bin="$(UV_PYTHON_INSTALL_DIR="$UV_PYTHON_DIR" UV_PYTHON_PREFERENCE=only-managed uv python find "$version")"
  chmod -R a+rX "$UV_PYTHON_DIR"
  ln -sf "$python_bin" "/usr/local/bin/python$version"
  "$python_bin" -m ensurepip --upgrade --default-pip >/dev/null
else
  python_bin="$(command -v "python$version")"
fi
ln -sf "$python_bin" /usr/local/bin/python3
ln -sf "$python_bin" /usr/local/bin/python
# pip of this Python (the distribution's pip3 may belong to another python3, as on Ubuntu 22.04).
for name in pip pip3; do
  printf '#!/bin/sh\n# pip of %s (installed by the dev8 python feature).\nexec %s -m pip "$@"\n' \
    "$python_bin" "$python_bin" >"/usr/local/bin/$name"
  chmod 0755 "/usr/local/bin/$name"
done
"$python_bin" --version
pip --version

# Each tool in its own environment; the commands land in /usr/local/bin for every user.
if ((${#tools[@]} > 0)); then
  export UV_TOOL_DIR="$TOOL_DIR" UV_TOOL_BIN_DIR=/usr/local/bin UV_PYTHON_DOWNLOADS=never
  export UV_CACHE_DIR="$tmp/uv-cache" UV_NATIVE_TLS=1
  for tool in "${tools[@]}"; do
    log "installing $tool"
    extra=()
    from="${EXECUTABLES_FROM[${tool%%==*}]:-}"
    [[ -z "$from" ]] || extra=(--with-executables-from "$from")
    uv tool install --force --python "$python_bin" "${extra[@]}" "$tool"
  done
  # uv's lock file is created world-writable; nobody installs tools here after the build.
  rm -f "$TOOL_DIR/.lock"
  chmod -R a+rX "$TOOL_DIR"
fi
