#!/usr/bin/env bash
# A stand-in for the Dockerfile's default base, node:20-bookworm-slim, where no registry is reachable: a
# `docker import` of a rootfs made of this machine's own Node 20 (binary, libraries, npm, headers) and busybox's
# applets for /bin/sh and the usual tools, plus what lets `npm ci` run without a network: npm's cache (copied
# from this machine's, which `npm ci` filled) with npm set offline, and better-sqlite3's binary in that cache's
# _prebuilds, where prebuild-install looks before it downloads (the real base downloads it from GitHub). Tagged
# portolan-test/node-base:<hash of its inputs> and, when
# that name is free or already ours, as node:20-bookworm-slim; never over an image that is not ours. Idempotent:
# rebuilt only when its inputs change. Prints the base image name to use (BASE_IMAGE).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
default_base=node:20-bookworm-slim
node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
npm_cache=$(npm config get cache)
sqlite_node="$here/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
[ -f "$sqlite_node" ] || { echo "image-base: $sqlite_node missing: run npm ci first" >&2; exit 1; }
hash=$( { cat "$here/scripts/image-base.sh" "$here/package-lock.json"; node -v; sha256sum "$sqlite_node"; } | sha256sum | cut -c1-12)
image="portolan-test/node-base:$hash"

tag_default() {
  local owner
  owner=$(docker image inspect -f '{{ index .Config.Labels "org.portolan.test-base" }}' "$default_base" 2>/dev/null || true)
  if [ -z "$(docker image inspect -f '{{.Id}}' "$default_base" 2>/dev/null)" ] || [ -n "$owner" ]; then
    docker tag "$image" "$default_base"
    echo "$default_base"
  else
    echo "image-base: $default_base exists and is not ours: using $image by --build-arg BASE_IMAGE" >&2
    echo "$image"
  fi
}

if docker image inspect "$image" >/dev/null 2>&1; then tag_default; exit 0; fi
root=$(mktemp -d /tmp/portolan-node-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,usr/lib,usr/include,tmp,etc,proc,sys,dev,root}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf /bin/busybox "$root/bin/$applet"
done
ln -sf /bin/env "$root/usr/bin/env"
cp "$node_bin" "$root/usr/local/bin/node"
# Node's libraries and the rest of glibc that native modules load (rollup's needs librt), as Debian slim has them.
libdir=/lib/x86_64-linux-gnu
for lib in $(ldd "$node_bin" | grep -o '/[^ ]*' | sort -u) \
  $(ls $libdir/lib{c,m,dl,pthread,rt,resolv,util,anl,nss_files,nss_dns}.so.* 2>/dev/null); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp -a "$npm_dir" "$root/usr/local/lib-npm"
ln -s ../lib-npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib-npm/bin/npx-cli.js "$root/usr/local/bin/npx"
[ -d /usr/include/node ] && cp -a /usr/include/node "$root/usr/include/node"
mkdir -p "$root/opt/npm-cache"
cp -a "$npm_cache/_cacache" "$root/opt/npm-cache/_cacache"
# better-sqlite3's binary as the prebuild tarball prebuild-install would have downloaded and cached.
cached=$(cd "$here" && npm_config_cache=/opt/npm-cache node -e "
  const util = require('prebuild-install/util'), rc = require('prebuild-install/rc'), pkg = require('better-sqlite3/package.json');
  process.stdout.write(util.cachedPrebuild(util.getDownloadUrl(Object.assign(rc(pkg), { pkg }))));")
mkdir -p "$root/tmp/prebuild/build/Release" "$root$(dirname "$cached")"
cp "$sqlite_node" "$root/tmp/prebuild/build/Release/"
tar -C "$root/tmp/prebuild" -czf "$root$cached" build
rm -rf "$root/tmp/prebuild"

printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin' \
  --change 'ENV npm_config_cache=/opt/npm-cache npm_config_offline=true npm_config_update_notifier=false npm_config_nodedir=/usr' \
  --change 'CMD ["node"]' \
  --change 'LABEL org.portolan.test=1' \
  --change "LABEL org.portolan.test-base=$hash" - "$image" >/dev/null
echo "image-base: built $image" >&2
tag_default
