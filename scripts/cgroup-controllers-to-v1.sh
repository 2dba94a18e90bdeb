#!/usr/bin/env bash
# On a hybrid cgroup host (v1 hierarchies plus a v2 tree at /sys/fs/cgroup/unified), crun refuses to
# start a container while any controller is attached to the v2 tree ("cgroups in hybrid mode not
# supported, drop all controllers from cgroupv2"). The Dagger kit starts its engine with podman's
# default runtime, crun, so this moves each such controller (seen here: hugetlb) to a v1 hierarchy of
# its own, as the rest are. Does nothing on a pure v1 or v2 host, or when nothing is attached.
set -euo pipefail

readonly UNIFIED=/sys/fs/cgroup/unified

if ! mountpoint -q "$UNIFIED" 2>/dev/null || [[ ! -s "$UNIFIED/cgroup.controllers" ]]; then
  exit 0
fi
read -r -a controllers <"$UNIFIED/cgroup.controllers"
for controller in "${controllers[@]}"; do
  mkdir -p "/sys/fs/cgroup/$controller"
  mount -t cgroup -o "$controller" cgroup "/sys/fs/cgroup/$controller"
  echo "cgroup: moved the $controller controller from the v2 tree to /sys/fs/cgroup/$controller"
done
