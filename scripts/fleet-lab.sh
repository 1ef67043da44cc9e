#!/usr/bin/env bash
# The fleet lab: N Docker hosts in their own network, UTS and mount namespaces (scripts/swarm-lab.sh, after
# ../shared/reference/multihost-lab.md) and a 3-node nats-server cluster with JetStream (Debian's nats-server) in the
# root namespace, bound to the lab's address 10.79.X.254 (the hosts reach it over the lab LAN; nothing else does).
#   fleet-lab.sh up ID N X BASEPORT IMAGE...   hosts (HOST= lines, as swarm-lab.sh) and NATS (NATS=K URL PID lines)
#   fleet-lab.sh nats-stop ID K               kill node K (1-3) of the cluster (SIGKILL: a crash)
#   fleet-lab.sh nats-start ID K              start node K again on its data (prints its NATS= line)
#   fleet-lab.sh down ID                      remove everything of lab ID
# LAB_IPV6=1 (passed on to swarm-lab.sh): a dual-stack LAN and IPv6 engines with ip6tables.
# Ports: node K listens on BASEPORT+K (clients), BASEPORT+10+K (routes), BASEPORT+20+K (monitoring).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
id=${2:?usage: fleet-lab.sh up|down|nats-stop|nats-start ID ...}
[[ $id =~ ^[a-z0-9]{1,4}$ ]] || { echo "fleet-lab: bad ID $id" >&2; exit 2; }
L=/tmp/portolan-lab-$id
command -v nats-server >/dev/null || { echo "fleet-lab: nats-server is not installed (apt-get install nats-server; scripts/ensure-docker.sh does)" >&2; exit 2; }

nats_start() {
  local k=$1 d=$L/nats$k x base routes="" j
  x=$(cat "$L/nats.x"); base=$(cat "$L/nats.base")
  for j in 1 2 3; do [ "$j" = "$k" ] || routes="${routes:+$routes,}nats://10.79.$x.254:$((base + 10 + j))"; done
  mkdir -p "$d"
  setsid nats-server -n "pl$id-n$k" -a "10.79.$x.254" -p $((base + k)) -m $((base + 20 + k)) -js -sd "$d/js" \
    --cluster_name "pl$id" --cluster "nats://10.79.$x.254:$((base + 10 + k))" --routes "$routes" \
    -l "$d/nats.log" </dev/null >/dev/null 2>&1 &
  echo $! > "$d/pid"
}

nats_wait() { # a node answers and its JetStream is ready (healthz is ok once it has caught up with the cluster)
  local k=$1 x base
  x=$(cat "$L/nats.x"); base=$(cat "$L/nats.base")
  for _ in $(seq 1 240); do curl -fsS --max-time 2 "http://10.79.$x.254:$((base + 20 + k))/healthz" >/dev/null 2>&1 && break; sleep 0.25; done
  curl -fsS --max-time 2 "http://10.79.$x.254:$((base + 20 + k))/healthz" >/dev/null || { echo "fleet-lab: NATS node $k not healthy:" >&2; tail -20 "$L/nats$k/nats.log" >&2; exit 1; }
  echo "NATS=$k nats://10.79.$x.254:$((base + k)) $(cat "$L/nats$k/pid")"
}

case "$1" in
  up)
    n=$3 x=$4 base=$5; shift 5
    bash "$here/swarm-lab.sh" up "$id" "$n" "$x" "$@"
    echo "$x" > "$L/nats.x"; echo "$base" > "$L/nats.base"
    for k in 1 2 3; do nats_start "$k"; done
    for k in 1 2 3; do nats_wait "$k"; done
    ;;
  nats-stop)
    k=${3:?node}; pid=$(cat "$L/nats$k/pid")
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    ;;
  nats-start)
    k=${3:?node}; nats_start "$k"; nats_wait "$k"
    ;;
  down)
    for k in 1 2 3; do
      pid=$(cat "$L/nats$k/pid" 2>/dev/null || true)
      [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    for k in 1 2 3; do
      pid=$(cat "$L/nats$k/pid" 2>/dev/null || true)
      for _ in $(seq 1 50); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    done
    bash "$here/swarm-lab.sh" down "$id"
    ;;
  *) echo "usage: fleet-lab.sh up ID N X BASEPORT IMAGE... | nats-stop ID K | nats-start ID K | down ID" >&2; exit 2 ;;
esac
