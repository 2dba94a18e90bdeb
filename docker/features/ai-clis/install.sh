#!/usr/bin/env bash
# Installs the AI agent CLIs and their wrappers. Runs as root during the image build.
# Reads load-api-keys.sh and the npm lock from its folder. Needs node and npm (nodejs feature).
# Options: AI_CLIS_CLAUDE_VERSION, AI_CLIS_GEMINI_VERSION, AI_CLIS_CODEX_VERSION (Dev Container
# Feature: CLAUDE_VERSION, GEMINI_VERSION, CODEX_VERSION). Links the CLIs from ~/.local/bin of the
# user: the Dev Container's remote user (_REMOTE_USER), else dev8.
set -euo pipefail

FEATURE_DIR="$(dirname "$(readlink -f "$0")")" # this script's folder, wherever the builder put it
readonly FEATURE_DIR
readonly PREFIX="/opt/dev8/ai-clis"
readonly BIN="/opt/dev8/ai-clis/node_modules/.bin"
readonly HELPER="/usr/local/lib/dev8/load-api-keys.sh"
readonly USER_NAME="${_REMOTE_USER:-dev8}"

log() { printf 'ai-clis: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# An option's value: dev8's builds pass it as <FEATURE>_<OPTION>, the Dev Container CLI as the
# option's own name (VERSION, YQ_SOURCE), which wins there (_REMOTE_USER set): a base image's ENV
# may hold either name.
option() {
  local name="$2"
  [[ -z "${_REMOTE_USER:-}" || -z "${!1+set}" ]] || name="$1"
  printf '%s' "${!name-$3}"
}

claude_version="$(option CLAUDE_VERSION AI_CLIS_CLAUDE_VERSION 2.1.332)"
gemini_version="$(option GEMINI_VERSION AI_CLIS_GEMINI_VERSION 0.61.0)"
codex_version="$(option CODEX_VERSION AI_CLIS_CODEX_VERSION 0.171.0)"
for v in "$claude_version" "$gemini_version" "$codex_version"; do
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "CLI versions must be exact (x.y.z), got '$v'"
done

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64 | arm64) ;;
  *) die "unsupported architecture '$arch' (amd64 and arm64 are supported)" ;;
esac
command -v npm >/dev/null || die "npm not found: include the nodejs feature before ai-clis"
getent passwd "$USER_NAME" >/dev/null || die "user $USER_NAME not found: include the user feature first"
user_home="${_REMOTE_USER_HOME:-$(getent passwd "$USER_NAME" | cut -d: -f6)}"
user_group="$(id -gn "$USER_NAME")"
# Where the original image put its AI CLI wrappers (the image's PATH includes it).
user_bin="$user_home/.local/bin"
for file in load-api-keys.sh package.json package-lock.json; do
  [[ -r "$FEATURE_DIR/$file" ]] || die "$FEATURE_DIR/$file not found (feature folder not mounted?)"
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# The CLIs write settings and caches to the home, and node a compile cache to /tmp: keep both out
# of the image.
export HOME="$tmp/home" NODE_DISABLE_COMPILE_CACHE=1
# The defaults install from package-lock.json, which pins every package's sha512 (npm ci checks
# each tarball against it). Other versions install by name at those exact versions (npm checks the
# registry's integrity). Install scripts are off; only Claude Code's runs afterwards (it links its
# platform binary): gemini-cli's optional node-pty and keytar would need node-gyp and headers.
log "installing claude-code $claude_version, gemini-cli $gemini_version, codex $codex_version"
locked="$(node -p 'const d = require(process.argv[1]).dependencies;
  [d["@anthropic-ai/claude-code"], d["@google/gemini-cli"], d["@openai/codex"]].join(" ")' \
  "$FEATURE_DIR/package.json")"
npm_flags=(--cache "$tmp/npm-cache" --no-fund --no-audit --no-update-notifier --ignore-scripts)
rm -rf "$PREFIX"
install -d -m 0755 "$PREFIX"
if [[ "$locked" == "$claude_version $gemini_version $codex_version" ]]; then
  install -m 0644 "$FEATURE_DIR/package.json" "$FEATURE_DIR/package-lock.json" "$PREFIX/"
  (cd "$PREFIX" && npm ci "${npm_flags[@]}")
else
  log "versions differ from package-lock.json ($locked): installing by exact version"
  (cd "$PREFIX" && npm install --no-save --no-package-lock "${npm_flags[@]}" \
    "@anthropic-ai/claude-code@$claude_version" "@google/gemini-cli@$gemini_version" "@openai/codex@$codex_version")
fi
(cd "$PREFIX/node_modules/@anthropic-ai/claude-code" && node install.cjs)
chmod -R a+rX "$PREFIX"

install -D -m 0644 "$FEATURE_DIR/load-api-keys.sh" "$HELPER"
for cli in claude gemini codex; do
  [[ -x "$BIN/$cli" ]] || die "$BIN/$cli missing after install"
  cat >"/usr/local/bin/$cli" <<WRAPPER
#!/bin/sh
# $cli with the API keys the dev8 entrypoint stored (installed by the dev8 ai-clis feature).
. $HELPER
exec $BIN/$cli "\$@"
WRAPPER
  chmod 0755 "/usr/local/bin/$cli"
done

# gpt: the original image's name for OpenAI's CLI. OpenAI's official command-line tool is Codex
# (the openai Python package has no command since its 2.x releases).
cat >/usr/local/bin/gpt <<WRAPPER
#!/bin/sh
# gpt: OpenAI's official CLI, Codex, under the original dev8 image's name (dev8 ai-clis feature).
. $HELPER
exec $BIN/codex "\$@"
WRAPPER
chmod 0755 /usr/local/bin/gpt

cat >/usr/local/bin/copilot <<WRAPPER
#!/bin/sh
# GitHub Copilot through gh (installed by the dev8 ai-clis feature). The gh-copilot extension is
# installed at first use, which needs internet access and a GitHub login (GH_TOKEN/GITHUB_TOKEN).
. $HELPER
if ! gh extension list 2>/dev/null | grep -q 'gh-copilot'; then
  echo "copilot: installing the gh-copilot extension (first use)" >&2
  gh extension install github/gh-copilot >&2 || {
    echo "copilot: could not install github/gh-copilot: needs internet access and 'gh auth login' or GH_TOKEN" >&2
    exit 1
  }
fi
exec gh copilot "\$@"
WRAPPER
chmod 0755 /usr/local/bin/copilot

install -d -m 0755 -o "$USER_NAME" -g "$user_group" "$(dirname "$user_bin")" "$user_bin"
for cli in claude gemini gpt codex; do
  ln -sfn "/usr/local/bin/$cli" "$user_bin/$cli"
  chown -h "$USER_NAME:$user_group" "$user_bin/$cli"
done

for cli in claude gemini codex gpt; do
  "/usr/local/bin/$cli" --version >/dev/null || die "$cli --version failed"
done
