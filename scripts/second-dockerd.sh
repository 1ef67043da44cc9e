#!/usr/bin/env bash
# A second, temporary Docker host on this machine (reference notes §8): a dockerd in its own network namespace,
# with its own bridge, data root, exec root, pid file, containerd and iptables/conntrack tables, reachable from
# the first host over a veth pair. Used by integration tests that need a daemon configured differently (e.g.
# `--userland-proxy=false`, so that published ports are reached through iptables DNAT only).
#
#   second-dockerd.sh start NAME [OCTET] [-- EXTRA_DOCKERD_FLAGS...]
#       NAME: 1-11 characters [a-z0-9-], used for the netns, the veth pair, /run/NAME and the data root.
#       OCTET: third octet of the veth subnet 10.77.OCTET.0/24 (default 0): host side .1, NAME side .2.
#       Prints shell-style KEY=VALUE lines: DOCKER_HOST, PID (dockerd), NETNS, HOST_IP (NAME's address),
#       PEER_IP (this host's address on the pair), DATA_ROOT, LOG.
#   second-dockerd.sh load NAME IMAGE     copy an image from the first daemon (images do not travel by themselves)
#   second-dockerd.sh stop NAME           remove everything `start NAME` made; safe to run twice or after a failed start
#
# `start` cleans up after itself when it fails. Needs root, iproute2, nsenter, dockerd and docker (see
# scripts/ensure-docker.sh). Traffic stays between this host and the namespace.
set -euo pipefail
log() { printf 'second-dockerd: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

usage() { sed -n '2,20p' "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1
name=$2
shift 2
[[ "$name" =~ ^[a-z0-9][a-z0-9-]{0,10}$ ]] || die "NAME must be 1-11 characters of [a-z0-9-], got '$name'"

run_dir=/run/portolan-$name
data_root=/var/lib/portolan-$name
sock=$run_dir/docker.sock
pidfile=$run_dir/docker.pid
logfile=$run_dir/dockerd.log
veth_host=${name}-a
veth_ns=${name}-b

# Pids of every process started for NAME: the dockerd of the pid file, and anything whose command line names
# this instance's own directories (its managed containerd and the shims, which outlive a killed dockerd).
own_pids() {
  # One grep over /proc, not a fork per process (with a few hundred processes a call took 20 s or more). The patterns
  # end in a bracket expression, so that they do not match grep's own command line.
  local pid
  {
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile" 2>/dev/null || true)
      [ -n "$pid" ] && [ -d "/proc/$pid" ] && echo "$pid"
    fi
    grep -lsE -e "$run_dir[/]" -e "${data_root%?}[${data_root: -1}]" /proc/[0-9]*/cmdline | awk -F/ '{ print $3 }'
  } | sort -un
  true
}

stop() {
  # Containers first, so that dockerd unmounts their layers and releases their namespaces cleanly.
  if [ -S "$sock" ] && curl -fsS --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; then
    ids=$(DOCKER_HOST=unix://$sock docker ps -aq 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && DOCKER_HOST=unix://$sock docker rm -f $ids >/dev/null 2>&1 || true
  fi
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
  fi
  for pid in $(own_pids); do kill -KILL "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do [ -z "$(own_pids)" ] && break; sleep 0.1; done
  # Mounts dockerd left behind (overlay layers, shm, netns bind mounts), deepest first.
  awk -v a="$run_dir" -v b="$data_root" '$2 == a || index($2, a "/") == 1 || $2 == b || index($2, b "/") == 1 { print $2 }' /proc/mounts \
    | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  ip link del "$veth_host" 2>/dev/null || true
  ip netns del "$name" 2>/dev/null || true
  rm -rf "$run_dir" "$data_root"
}

start() {
  local octet=0 extra=()
  if [ $# -gt 0 ] && [ "$1" != -- ]; then octet=$1; shift; fi
  [ $# -gt 0 ] && [ "$1" = -- ] && { shift; extra=("$@"); }
  [[ "$octet" =~ ^[0-9]+$ ]] && [ "$octet" -le 255 ] || die "OCTET must be 0-255, got '$octet'"
  [ "$(id -u)" = 0 ] || die "must run as root"
  for c in ip nsenter dockerd docker curl; do command -v "$c" >/dev/null || die "$c not found (run scripts/ensure-docker.sh)"; done
  if ip netns list | grep -qw "^$name" || [ -e "$run_dir" ]; then die "an instance named $name exists; run: $0 stop $name"; fi

  local host_ip=10.77.$octet.2 peer_ip=10.77.$octet.1
  [ -z "$(ip route show "10.77.$octet.0/24")" ] || die "10.77.$octet.0/24 is already routed here; pick another OCTET"
  trap 'log "start failed; cleaning up"; [ -f "$logfile" ] && tail -n 20 "$logfile" >&2; stop' ERR
  ip netns add "$name"
  ip link add "$veth_host" type veth peer name "$veth_ns"
  ip link set "$veth_ns" netns "$name"
  ip addr add "$peer_ip/24" dev "$veth_host"
  ip link set "$veth_host" up
  ip -n "$name" addr add "$host_ip/24" dev "$veth_ns"
  ip -n "$name" link set "$veth_ns" up
  ip -n "$name" link set lo up
  mkdir -p "$run_dir" "$data_root"
  # nsenter --net only, not `ip netns exec`: the latter remounts /sys in a new mount namespace and dockerd
  # then fails with "Devices cgroup isn't mounted" (notes §8).
  setsid nsenter --net="/var/run/netns/$name" dockerd \
    -H "unix://$sock" --data-root "$data_root" --exec-root "$run_dir/exec" --pidfile "$pidfile" \
    --containerd-namespace "portolan-$name" --containerd-plugins-namespace "portolan-$name-plugins" \
    "${extra[@]}" >"$logfile" 2>&1 </dev/null &
  # setsid and nsenter exec (no fork without a pid namespace): $! is dockerd itself.
  local daemon=$! ok=
  for _ in $(seq 1 120); do
    if curl -fsS --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; then ok=1; break; fi
    kill -0 "$daemon" 2>/dev/null || { log "dockerd exited"; break; }
    sleep 0.5
  done
  [ -n "$ok" ] || { log "dockerd did not answer on $sock"; false; }
  trap - ERR
  printf 'DOCKER_HOST=unix://%s\nPID=%s\nNETNS=%s\nHOST_IP=%s\nPEER_IP=%s\nDATA_ROOT=%s\nLOG=%s\n' \
    "$sock" "$(cat "$pidfile")" "$name" "$host_ip" "$peer_ip" "$data_root" "$logfile"
}

case "$cmd" in
  start) start "$@" ;;
  stop) stop; log "stopped $name" ;;
  load)
    [ $# -eq 1 ] || usage
    docker save "$1" | DOCKER_HOST=unix://$sock docker load >/dev/null
    log "loaded $1 into $name" ;;
  *) usage ;;
esac
