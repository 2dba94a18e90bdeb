# shellcheck shell=bash
# Sourced by the image benchmarks: a scratch directory and an SSH key for logging in to the
# containers they start (named "$prefix-..."), both removed on exit with every container listed
# in `started`.
work="$(mktemp -d)"
# shellcheck disable=SC2034 # used by the scripts that source this file
prefix="${BENCH_PREFIX:?set BENCH_PREFIX before sourcing}-$$"
started=()
cleanup() {
  local name
  # Best effort: a container that never started has nothing to remove.
  for name in "${started[@]}"; do podman rm -f -v -t 0 "$name" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -C bench -f "$work/key"
# shellcheck disable=SC2034
ssh_opts=(-F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o IdentitiesOnly=yes -o ConnectTimeout=2 -o LogLevel=ERROR -i "$work/key")

now() { date +%s.%N; }
