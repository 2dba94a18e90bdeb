#!/usr/bin/env bash
# Installs the AI agent CLIs and their wrappers. Runs as root during the image build.
# Reads load-api-keys.sh from its folder (/tmp/dev8-feature). Needs node and npm (nodejs feature).
# Options (environment): AI_CLIS_CLAUDE_VERSION, AI_CLIS_GEMINI_VERSION, AI_CLIS_CODEX_VERSION.
set -euo pipefail

readonly FEATURE_DIR="/tmp/dev8-feature"
readonly PREFIX="/opt/dev8/ai-clis"
readonly BIN="/opt/dev8/ai-clis/node_modules/.bin"
readonly HELPER="/usr/local/lib/dev8/load-api-keys.sh"

log() { printf 'ai-clis: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

claude_version="${AI_CLIS_CLAUDE_VERSION:-2.1.332}"
gemini_version="${AI_CLIS_GEMINI_VERSION:-0.61.0}"
codex_version="${AI_CLIS_CODEX_VERSION:-0.171.0}"
for v in "$claude_version" "$gemini_version" "$codex_version"; do
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "CLI versions must be exact (x.y.z), got '$v'"
done

arch="$(dpkg --print-architecture)"
case "$arch" in
  amd64 | arm64) ;;
  *) die "unsupported architecture '$arch' (amd64 and arm64 are supported)" ;;
esac
command -v npm >/dev/null || die "npm not found: include the nodejs feature before ai-clis"
for file in load-api-keys.sh package.json package-lock.json; do
  [[ -r "$FEATURE_DIR/$file" ]] || die "$FEATURE_DIR/$file not found (feature folder not mounted?)"
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
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

for cli in claude gemini codex; do
  "/usr/local/bin/$cli" --version >/dev/null || die "$cli --version failed"
done
