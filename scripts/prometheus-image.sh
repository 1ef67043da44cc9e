#!/usr/bin/env bash
# A Prometheus image for the compose tests where no registry is reachable: a `docker import` of Debian's own
# prometheus binary (package prometheus, installed by ensure-docker.sh) with its libraries and busybox, laid out
# like the official prom/prometheus image (binary /bin/prometheus, data /prometheus owned by nobody, run as
# nobody). Idempotent: rebuilt only when the binary or this script changes. Prints the image name, to be given to
# compose.yaml as PROMETHEUS_IMAGE.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(readlink -f "$(command -v prometheus)")
hash=$( { cat "$here/scripts/prometheus-image.sh"; sha256sum "$bin"; } | sha256sum | cut -c1-12)
image="portolan-test/prometheus:$hash"
if docker image inspect "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi
root=$(mktemp -d /tmp/portolan-prometheus.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,etc/prometheus,prometheus,tmp,proc,sys,dev}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in sh ls cat wget; do ln -sf busybox "$root/bin/$applet"; done
cp "$bin" "$root/bin/prometheus"
for lib in $(ldd "$bin" | grep -o '/[^ ]*' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
chown 65534:65534 "$root/prometheus"
tar -C "$root" -c . | docker import \
  --change 'USER nobody' \
  --change 'WORKDIR /prometheus' \
  --change 'ENTRYPOINT ["/bin/prometheus"]' \
  --change 'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]' \
  --change 'LABEL org.portolan.test=1' - "$image" >/dev/null
echo "prometheus-image: built $image" >&2
echo "$image"
