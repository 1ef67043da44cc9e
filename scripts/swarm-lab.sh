#!/usr/bin/env bash
# A throw-away multi-host Docker lab for the Swarm test, after ../shared/reference/multihost-lab.md, with names of
# its own (ID) so that it never meets another lab: N dockerds, each in its own network, UTS and mount namespace
# (so that /var/run/docker.sock on "host" I is host I's own socket, as on a real node), wired through a bridge
# in a switch namespace; the root namespace joins their LAN as .254 of a 10.79.X.0/24 nobody routes.
#   swarm-lab.sh up ID N X IMAGE...   start N hosts (hostnames plID-hI), load IMAGEs into each; prints HOSTS lines
#   swarm-lab.sh down ID              remove everything of lab ID (containers, swarm, dockerds, mounts, namespaces)
# ID: 1-4 lower-case letters or digits. Host I's engine: unix:///tmp/portolan-lab-ID/hI/run/docker.sock.
# LAB_IPV6=1: the LAN is dual-stack too (fd79:X::I/64, the root namespace fd79:X::254), and each dockerd runs with
# IPv6 on its default bridge (fd7a:X::/64 on every host, as 172.17.0.0/16 is) and ip6tables (experimental on 20.10): IPv6 published ports are DNATed.
set -euo pipefail
id=${2:?usage: swarm-lab.sh up|down ID ...}
[[ $id =~ ^[a-z0-9]{1,4}$ ]] || { echo "swarm-lab: bad ID $id" >&2; exit 2; }
L=/tmp/portolan-lab-$id
sw=pl${id}sw

up() {
  local n=$1 x=$2 i d; shift 2
  if ip -4 route | grep -q "^10\.79\.$x\."; then echo "swarm-lab: 10.79.$x.0/24 is already routed" >&2; exit 3; fi
  mkdir -p "$L"
  ip netns add "$sw"
  ip -n "$sw" link set lo up
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  ip link add "pl${id}r" type veth peer name "pl${id}s" netns "$sw"
  ip -n "$sw" link set "pl${id}s" master br0 up
  ip addr add "10.79.$x.254/24" dev "pl${id}r"
  if [ "${LAB_IPV6:-}" = 1 ]; then ip addr add "fd79:$x::254/64" dev "pl${id}r" nodad; fi
  ip link set "pl${id}r" up
  for i in $(seq 1 "$n"); do
    d=$L/h$i; mkdir -p "$d/run"
    ip netns add "pl${id}h$i"
    ip -n "pl${id}h$i" link set lo up
    ip link add "pl${id}p$i" type veth peer name eth0 netns "pl${id}h$i"
    ip link set "pl${id}p$i" netns "$sw"
    ip -n "$sw" link set "pl${id}p$i" master br0 up
    ip -n "pl${id}h$i" addr add "10.79.$x.$i/24" dev eth0
    if [ "${LAB_IPV6:-}" = 1 ]; then ip -n "pl${id}h$i" addr add "fd79:$x::$i/64" dev eth0 nodad; fi
    ip -n "pl${id}h$i" link set eth0 up
    # Its own trust key: its own engine ID (the default /etc/docker/key.json would give every host the main one's).
    if [ "${LAB_IPV6:-}" = 1 ]; then
      printf '{"deprecated-key-path": "%s/key.json", "ipv6": true, "fixed-cidr-v6": "fd7a:%s::/64", "experimental": true, "ip6tables": true}\n' "$d" "$x" > "$d/daemon.json"
    else
      printf '{"deprecated-key-path": "%s/key.json"}\n' "$d" > "$d/daemon.json"
    fi
    # nsenter --net (the netns file is still visible) -> unshare UTS and mount -> bind its own run dir over /run ->
    # dockerd, with its socket, pid file, exec root and containerd under that /run. No fork on the way: $! is dockerd.
    setsid nsenter --net="/var/run/netns/pl${id}h$i" unshare --uts --mount --propagation private -- \
      sh -c 'hostname "$0"; mount --bind "$1/run" /run; shift; exec dockerd "$@"' "pl$id-h$i" "$d" \
      --config-file "$d/daemon.json" -H unix:///var/run/docker.sock --data-root "$d/data" \
      --containerd-namespace "pl$id-h$i" --containerd-plugins-namespace "pl$id-h$i-plugins" \
      >"$d/dockerd.log" 2>&1 </dev/null &
    echo $! > "$d/dockerd.pid"
  done
  for i in $(seq 1 "$n"); do
    d=$L/h$i
    for _ in $(seq 1 240); do curl -fsS --max-time 2 --unix-socket "$d/run/docker.sock" http://x/_ping >/dev/null 2>&1 && break; sleep 0.25; done
    curl -fsS --unix-socket "$d/run/docker.sock" http://x/_ping >/dev/null || { echo "swarm-lab: host $i did not start:" >&2; tail -20 "$d/dockerd.log" >&2; exit 1; }
  done
  if [ "$#" -gt 0 ]; then
    docker save "$@" > "$L/images.tar"
    local loads=()
    for i in $(seq 1 "$n"); do docker -H "unix://$L/h$i/run/docker.sock" load -i "$L/images.tar" >/dev/null & loads+=($!); done
    wait "${loads[@]}"   # not a bare wait: the dockerds are children of this shell too
    rm -f "$L/images.tar"
  fi
  for i in $(seq 1 "$n"); do echo "HOST=pl$id-h$i unix://$L/h$i/run/docker.sock 10.79.$x.$i $(cat "$L/h$i/dockerd.pid")"; done
}

own_pids() { # processes in the lab's network namespaces (dockerd, containerd, shims, proxies) or naming $L/
  # One find and one grep over /proc, not a fork per process (with a few hundred processes that took 20-90 s);
  # the pattern `$L[/]` does not match grep's own command line.
  local nss="" ns
  for ns in /var/run/netns/pl"${id}"h[0-9]* "/var/run/netns/$sw"; do [ -e "$ns" ] && nss="$nss net:[$(stat -L -c %i "$ns")]"; done
  {
    [ -n "$nss" ] && find /proc -mindepth 3 -maxdepth 3 -path '/proc/[0-9]*/ns/net' -printf '%h %l\n' 2>/dev/null \
      | awk -v nss="$nss " '{ split($1, p, "/"); if (index(nss, " " $2 " ")) print p[3] }'
    grep -lsE -- "$L[/]" /proc/[0-9]*/cmdline | awk -F/ '{ print $3 }'
  } | sort -un; true
}

down() {
  local d pid sock
  for d in "$L"/h[0-9]*; do
    sock=$d/run/docker.sock
    [ -S "$sock" ] || continue
    docker -H "unix://$sock" swarm leave --force >/dev/null 2>&1 || true
    ids=$(docker -H "unix://$sock" ps -aq 2>/dev/null || true)
    [ -n "$ids" ] && docker -H "unix://$sock" rm -f $ids >/dev/null 2>&1 || true
  done
  for d in "$L"/h[0-9]*; do
    pid=$(cat "$d/dockerd.pid" 2>/dev/null || true)
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
  for d in "$L"/h[0-9]*; do
    pid=$(cat "$d/dockerd.pid" 2>/dev/null || true)
    for _ in $(seq 1 75); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  done
  for pid in $(own_pids); do kill -KILL "$pid" 2>/dev/null || true; done
  awk -v a="$L/" 'index($2, a) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
  for ns in $(ip netns list | awk -v p="^pl${id}(sw|h[0-9]+)$" '$1 ~ p {print $1}'); do ip netns del "$ns"; done
  ip link del "pl${id}r" 2>/dev/null || true
  rm -rf "$L"
}

case "$1" in
  up) shift 2; up "$@" ;;
  down) down ;;
  *) echo "usage: swarm-lab.sh up ID N X IMAGE... | down ID" >&2; exit 2 ;;
esac
