#!/usr/bin/env bash
# Make sure a Docker engine answers, installing Debian's docker.io and the tools the tests need when absent.
# Idempotent; safe to run on a fresh Debian 12 machine as root. Prints what it does on stderr.
set -euo pipefail
log() { printf 'ensure-docker: %s\n' "$*" >&2; }

sock="${DOCKER_HOST:-unix:///var/run/docker.sock}"
sock="${sock#unix://}"

ping_ok() {
  curl -fsS --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1
}

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx nc || need_pkgs+=(busybox-static)
command -v ss >/dev/null 2>&1 || need_pkgs+=(iproute2)
command -v conntrack >/dev/null 2>&1 || need_pkgs+=(conntrack)
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)
command -v nsenter >/dev/null 2>&1 || need_pkgs+=(util-linux)
command -v dot >/dev/null 2>&1 || need_pkgs+=(graphviz)
command -v tmux >/dev/null 2>&1 || need_pkgs+=(tmux)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
# promtool (Debian ships it in the prometheus package) checks /metrics in the serve tests.
command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)
# pmacct's pmacctd (sfprobe plugin) exports real sFlow v5 from a test bridge; tcpdump counts the same packets
# and decodes the same datagrams independently (sflow tests).
command -v pmacctd >/dev/null 2>&1 || need_pkgs+=(pmacct)
command -v tcpdump >/dev/null 2>&1 || need_pkgs+=(tcpdump)
# docker-compose (Compose v1, Debian's) runs compose.yaml in the deploy tests; zsh and fish check the completion
# scripts; systemd-analyze (package systemd) verifies the unit; setpriv (util-linux) runs unprivileged.
command -v docker-compose >/dev/null 2>&1 || need_pkgs+=(docker-compose)
command -v zsh >/dev/null 2>&1 || need_pkgs+=(zsh)
command -v fish >/dev/null 2>&1 || need_pkgs+=(fish)
command -v systemd-analyze >/dev/null 2>&1 || need_pkgs+=(systemd)
# nats-server receives the NATS export (export tests); bpftrace runs the optional eBPF source (ebpf tests).
command -v nats-server >/dev/null 2>&1 || need_pkgs+=(nats-server)
command -v bpftrace >/dev/null 2>&1 || need_pkgs+=(bpftrace)
# Debian's Chromium (and a font for its text) drives the web map's browser tests.
[ -x /usr/bin/chromium ] || need_pkgs+=(chromium fonts-dejavu-core)
# Debian's nats-server (JetStream) runs the fleet lab's 3-node cluster (fleet tests, bench/fleet.mjs).
command -v nats-server >/dev/null 2>&1 || need_pkgs+=(nats-server)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2
fi

if ping_ok; then log "engine answers at $sock"; exit 0; fi

if [ "$sock" != /var/run/docker.sock ]; then
  log "no engine answers at DOCKER_HOST=$DOCKER_HOST; not starting one there"; exit 1
fi

# A stale pid file from an earlier run would make dockerd refuse to start.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
  rm -f /var/run/docker.pid
fi
if ! pgrep -x dockerd >/dev/null; then
  # containerd is started by dockerd itself when not running.
  log "starting dockerd"
  mkdir -p /var/log
  setsid nohup dockerd >/var/log/portolan-dockerd.log 2>&1 < /dev/null &
fi
for _ in $(seq 1 120); do
  if ping_ok; then log "engine ready"; exit 0; fi
  sleep 0.5
done
log "dockerd did not answer within 60 s; last log lines:"
tail -n 30 /var/log/portolan-dockerd.log >&2 || true
exit 1
