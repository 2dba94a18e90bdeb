#!/usr/bin/env bash
# Benchmarks for the workspace supervisor. Prints figures; it is not a test.
#   bench/run.sh                                          # 10,000 files, 1 GiB
#   BENCH_FILES=2000 BENCH_BYTES=200000000 bench/run.sh   # quicker
# Aims: full backup >= 0.8x the throughput of tar | zstd -3 -T0 of the same tree in the same run;
# idle RSS < 15 MB watching 10,000 files; deciding "nothing changed" on 10,000 files < 300 ms.
# Needs: go, tar, zstd, curl, python3, /usr/bin/time. Scratch space under BENCH_DIR (default /tmp).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
files=${BENCH_FILES:-10000}
bytes=${BENCH_BYTES:-1073741824}
runs=${BENCH_RUNS:-3}
idle_s=${BENCH_IDLE_SECONDS:-60}
scratch=$(mktemp -d "${BENCH_DIR:-/tmp}/supervisor-bench.XXXXXX")
pid=""
stop_daemon() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi
}
trap 'stop_daemon; rm -rf "$scratch"' EXIT

for tool in go tar zstd curl python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f", b - a}'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN {print (b < a) ? b : a}'; }
json() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# start_daemon MOUNT: runs the supervisor on the tree with a mount target.
start_daemon() {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  rm -rf "$1" "$scratch/state"; mkdir -p "$1"
  SUPERVISOR_WORKSPACE_DIR="$scratch/ws" SUPERVISOR_STATE_DIR="$scratch/state" BACKUP_ENABLED=true \
  SUPERVISOR_BACKUP_MOUNT_PATH="$1" SUPERVISOR_BACKUP_INTERVAL=24h SUPERVISOR_SHUTDOWN_TIMEOUT=1s \
  SUPERVISOR_HTTP_ADDR="127.0.0.1:$port" "$scratch/workspace-supervisor" 2>>"$scratch/log" &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.1; done
}
backup() { curl -sf -X POST "http://127.0.0.1:$port/v1/backup"; }
cpu_ns() { cat "/proc/$pid/task/"*/schedstat | awk '{s += $1} END {printf "%.0f\n", s}'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }

echo "== build"
(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=bench" -o "$scratch/workspace-supervisor" ./cmd/supervisor)
(cd "$here" && go build -o "$scratch/gentree" ./bench/gentree)
awk '{printf "binary size: %.1f MB\n", $1 / 1e6}' <<<"$(stat -c %s "$scratch/workspace-supervisor")"

echo "== generate $files files, $bytes bytes"
"$scratch/gentree" -dir "$scratch/ws" -files "$files" -bytes "$bytes"
sync
du -sh "$scratch/ws"

echo "== idle: watching the tree, 8 s settle, ${idle_s} s sample"
start_daemon "$scratch/mount"
sleep 8
c0=$(cpu_ns); sleep "$idle_s"; c1=$(cpu_ns)
idle_rss=$(rss_kb)
idle_cpu=$(awk -v d=$((c1 - c0)) -v s="$idle_s" 'BEGIN {printf "%.4f", 100 * d / (s * 1e9)}')
echo "idle RSS $idle_rss kB, idle CPU $idle_cpu % ($(( (c1 - c0) / 1000000 )) ms of CPU in ${idle_s} s)"

echo "== nothing changed: best of 5 after a first full backup"
backup >/dev/null
best_nc=999
for _ in 1 2 3 4 5; do
  r=$(backup)
  [ "$(json unchanged <<<"$r")" = "True" ] || { echo "bench: expected an unchanged run: $r" >&2; exit 1; }
  best_nc=$(min "$best_nc" "$(json duration_seconds <<<"$r")")
done
echo "decide nothing changed: $best_nc s"
sleep 2
base_rss=$(rss_kb)
echo "idle RSS after backing the tree up: $base_rss kB"
stop_daemon

echo "== full backup: best of $runs, each against a fresh mount"
best_ref=999; best_ref_sync=999; best_sup=999; best_ref_cpu=999; best_sup_cpu=999
for i in $(seq "$runs"); do
  sync; t=$(now)
  # The inner script gets the scratch path as $1: single quotes are meant.
  # shellcheck disable=SC2016
  /usr/bin/time -f "%U %S" -o "$scratch/ref.cpu" \
    bash -c 'tar -C "$1/ws" -cf - . | zstd -3 -T0 -q -f -o "$1/reference.tar.zst"' _ "$scratch"
  ref=$(elapsed "$t")
  sync "$scratch/reference.tar.zst"; ref_sync=$(elapsed "$t")
  ref_cpu=$(awk '{print $1 + $2}' "$scratch/ref.cpu")
  ref_size=$(stat -c %s "$scratch/reference.tar.zst"); rm -f "$scratch/reference.tar.zst"
  start_daemon "$scratch/mount"
  sync; c0=$(cpu_ns); r=$(backup); c1=$(cpu_ns)
  sup=$(json duration_seconds <<<"$r"); sup_size=$(json archive_bytes <<<"$r")
  sup_cpu=$(awk -v d=$((c1 - c0)) 'BEGIN {printf "%.3f", d / 1e9}')
  [ "$i" = 1 ] && echo "RSS after a full backup: $(rss_kb) kB"
  stop_daemon
  echo "run $i: tar|zstd -3 -T0 ${ref} s wall, ${ref_cpu} s CPU (+ fsync ${ref_sync} s, $ref_size bytes);" \
    "supervisor ${sup} s wall, ${sup_cpu} s CPU ($sup_size bytes, fsynced)"
  best_ref=$(min "$best_ref" "$ref"); best_ref_sync=$(min "$best_ref_sync" "$ref_sync"); best_sup=$(min "$best_sup" "$sup")
  best_ref_cpu=$(min "$best_ref_cpu" "$ref_cpu"); best_sup_cpu=$(min "$best_sup_cpu" "$sup_cpu")
done

echo "== summary ($files files, $bytes bytes, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
awk -v rss="$idle_rss" -v brss="$base_rss" -v cpu="$idle_cpu" -v nc="$best_nc" -v ref="$best_ref" -v refs="$best_ref_sync" \
    -v sup="$best_sup" -v refc="$best_ref_cpu" -v supc="$best_sup_cpu" 'BEGIN {
  printf "idle RSS                   %8.1f MB  (aim < 15 MB)\n", rss / 1024
  printf "idle RSS after backups     %8.1f MB  (aim < 15 MB)\n", brss / 1024
  printf "idle CPU                   %8.3f %%   (aim < 0.1 %%)\n", cpu
  printf "decide nothing changed     %8.1f ms  (aim < 300 ms)\n", nc * 1000
  printf "full backup                %8.3f s wall %8.3f s CPU\n", sup, supc
  printf "tar | zstd -3 -T0          %8.3f s wall %8.3f s CPU\n", ref, refc
  printf "tar | zstd -3 -T0 + fsync  %8.3f s wall\n", refs
  printf "throughput ratio           %8.2f     wall, vs tar | zstd -3 -T0 (aim >= 0.8)\n", ref / sup
  printf "throughput ratio (fsync)   %8.2f     wall, vs tar | zstd -3 -T0 + fsync of the output\n", refs / sup
  printf "CPU-time ratio             %8.2f     tar | zstd -3 -T0 CPU / supervisor CPU\n", refc / supc
}'
