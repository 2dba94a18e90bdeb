#!/usr/bin/env bash
# Benchmark of the workspace image (not a test): time from `podman run` to an accepted SSH login,
# and the idle memory of a workspace without code-server (the baseline, same run), with code-server
# serving on 8080, and with one browser session that has opened the VS Code workbench (headless
# Chromium, when Debian's chromium and chromium-driver are installed). The original image: 1-2 GB
# with code-server, 400-600 MB idle.
# Usage: bench/workspace-image.sh [IMAGE] [RUNS]   (defaults: localhost/dev8/workspace:test, 3)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO
readonly IMAGE="${1:-localhost/dev8/workspace:test}"
readonly RUNS="${2:-3}"
readonly IDLE_SECONDS=10
readonly PASSWORD="bench-$$-password"
readonly PYTHON="${PYTHON:-$REPO/.venv/bin/python}"

log() { printf 'bench: %s\n' "$*" >&2; }

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { log "RUNS must be a positive integer, got '$RUNS'"; exit 2; }
podman image exists "$IMAGE" || { log "image $IMAGE not found"; exit 1; }

BENCH_PREFIX=dev8-bench-ws
# shellcheck source=bench/lib/ssh-containers.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/ssh-containers.sh"
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
published() { local p; p="$(podman port "$1" "$2/tcp" | head -n1)"; printf '%s' "${p##*:}"; }
memory() { podman stats --no-stream --format '{{.MemUsage}}' "$1" | cut -d/ -f1 | tr -d ' '; }

# Starts a workspace with extra -e flags; waits for an SSH login; prints the seconds it took.
start() {
  local name="$1" begin port
  shift
  started+=("$name")
  begin="$(now)"
  podman run -d --name "$name" -p 127.0.0.1::2222 -p 127.0.0.1::8080 \
    -e SSH_PUBLIC_KEY="$(cat "$work/key.pub")" -e SUPERVISOR_ENABLED=true "$@" "$IMAGE" >/dev/null
  port="$(published "$name" 2222)"
  local deadline=$((SECONDS + 60))
  until ssh "${ssh_opts[@]}" -p "$port" dev8@127.0.0.1 true 2>/dev/null; do
    ((SECONDS < deadline)) || { log "no login within 60 s"; podman logs "$name" >&2; exit 1; }
    sleep 0.05
  done
  awk -v a="$begin" -v b="$(now)" 'BEGIN { printf "%.3f\n", b - a }'
}

wait_for_code_server() {
  local port deadline=$((SECONDS + 120))
  port="$(published "$1" 8080)"
  until curl -fs -o /dev/null "http://127.0.0.1:$port/healthz"; do
    ((SECONDS < deadline)) || { log "code-server did not answer"; podman logs "$1" >&2; exit 1; }
    sleep 0.5
  done
}

times=()
for ((i = 1; i <= RUNS; i++)); do
  times+=("$(start "$prefix-login-$i" -e CODE_SERVER_ENABLED=false)")
  podman rm -f -v -t 0 "$prefix-login-$i" >/dev/null
done

start "$prefix-without" -e CODE_SERVER_ENABLED=false >/dev/null
start "$prefix-with" -e PASSWORD="$PASSWORD" >/dev/null
wait_for_code_server "$prefix-with"
sleep "$IDLE_SECONDS"
without="$(memory "$prefix-without")"
with="$(memory "$prefix-with")"

session="not measured (no chromium/chromedriver)"
if [[ -x /usr/bin/chromium ]] && command -v chromedriver >/dev/null; then
  # Measured while the browser has the workbench open (extension host and file watcher running).
  session="$(cd "$REPO" && "$PYTHON" - "$prefix-with" "$(published "$prefix-with" 8080)" "$PASSWORD" <<'PY'
import subprocess, sys, time
from tests.support.browser import Browser
container, port, password = sys.argv[1:4]
with Browser() as chrome:
    chrome.open(f"http://127.0.0.1:{port}/")
    chrome.type(chrome.wait_for("input[type=password]", 30), password)
    chrome.click(chrome.wait_for("input[type=submit]", 5))
    chrome.wait_for(".monaco-workbench", 120)
    chrome.wait_for(".explorer-folders-view", 120)
    time.sleep(10)
    stats = ["podman", "stats", "--no-stream", "--format", "{{.MemUsage}}", container]
    print(subprocess.run(stats, capture_output=True, text=True, check=True).stdout.split("/")[0].strip())
PY
  )" || { log "the browser session failed"; exit 1; }
fi

sorted="$(printf '%s\n' "${times[@]}" | sort -n)"
row() { printf '%-36s%s\n' "$1" "$2"; }
row image "$IMAGE"
row "run -> SSH login (s)" "median $(printf '%s\n' "${times[@]}" | median), min $(head -n1 <<<"$sorted"), max $(tail -n1 <<<"$sorted") over $RUNS runs"
row "idle memory, no code-server" "$without (baseline, same run)"
row "idle memory, code-server serving" "$with"
row "with a workbench open in a browser" "$session"
row "original image" "400-600 MB idle, 1-2 GB with code-server"
