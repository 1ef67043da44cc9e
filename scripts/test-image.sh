#!/usr/bin/env bash
# Build the test image portolan-test/busybox:1 by `docker import` of a rootfs made from /bin/busybox
# (no registry is reachable). Idempotent: does nothing when the image exists.
set -euo pipefail
image="${PORTOLAN_TEST_IMAGE:-portolan-test/busybox:1}"
if docker image inspect "$image" >/dev/null 2>&1; then exit 0; fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,tmp,etc,proc,sys,dev,www,root}
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf /bin/busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
echo hello >"$root/www/index.html"
tar -C "$root" -c . | docker import \
  --change 'CMD ["/bin/sh"]' \
  --change 'LABEL org.portolan.test=1' - "$image" >/dev/null
echo "built $image" >&2
