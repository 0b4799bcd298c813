#!/usr/bin/env bash
# `npm run image`: builds the vbs-csi OCI image on this machine from Debian's tools alone, no registry:
#   1. a Debian bookworm root filesystem from mmdebstrap with the packages the roles need (the
#      Dockerfile's apt-get line), cached in ~/.cache/vbs-csi/image keyed by the package list;
#   2. Node 24 from the `node` npm devDependency (node_modules/node/bin/node) at /usr/local/bin/node,
#      the same major as the Dockerfile's node:24-bookworm-slim base;
#   3. production node_modules (`npm ci --omit=dev --ignore-scripts`, as the Dockerfile's deps stage),
#      cached by the hash of package.json + package-lock.json;
#   4. /app with package.json, proto and src (without tests and generated types, as .dockerignore),
#      assembled by buildah from scratch in three layers (base, deps, app) with the Dockerfile's
#      WORKDIR, ENV, LABELs, ENTRYPOINT and CMD, committed with --timestamp=SOURCE_DATE_EPOCH (the last
#      commit's time) into .e2e-work/image/vbs-csi.oci.tar.
# Nothing changed since the last build (same inputs hash): it says so and exits in about a second.
# Environment: VBS_IMAGE_REFRESH=1 rebuilds the root filesystem even when the cached one is fresh;
#   VBS_IMAGE_ROOTFS_MAX_AGE_DAYS (default 7) is how old a cached root filesystem may get before it
#   is rebuilt to pick up Debian's security updates; VBS_IMAGE_CACHE (default ~/.cache/vbs-csi/image);
#   VBS_IMAGE_OUT (default .e2e-work/image). docs/containers.md explains the choices.
set -euo pipefail

readonly ROOT=$(cd "$(dirname "$0")/.." && pwd)
readonly CACHE=${VBS_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vbs-csi/image}
readonly OUT=${VBS_IMAGE_OUT:-$ROOT/.e2e-work/image}
readonly SUITE=bookworm
# The Dockerfile's runtime packages, plus libstdc++6 that node needs (node:24-bookworm-slim has it).
readonly PACKAGES=(lvm2 open-iscsi e2fsprogs xfsprogs util-linux kmod tini libstdc++6)
# As debian:bookworm-slim: no manuals, docs (but copyrights) or translations.
readonly DPKG_OPTS=(
  'path-exclude=/usr/share/man/*'
  'path-exclude=/usr/share/doc/*'
  'path-include=/usr/share/doc/*/copyright'
  'path-exclude=/usr/share/locale/*'
  'path-exclude=/usr/share/info/*'
)
# The Dockerfile's customisations, and the node:24 image's `node` user (uid 1000) the chart runs the
# controller as. Changing this text changes the cache key.
readonly CUSTOMIZE='rm -f "$1/etc/iscsi/initiatorname.iscsi" && rm -rf "$1"/var/lib/apt/lists/* && chroot "$1" groupadd --gid 1000 node && chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
readonly MAX_AGE_DAYS=${VBS_IMAGE_ROOTFS_MAX_AGE_DAYS:-7}
readonly STORAGE=(--root "$CACHE/storage" --runroot "$CACHE/run" --storage-driver vfs)

started=$SECONDS
step() { printf 'image: [%3ds] %s\n' $((SECONDS - started)) "$*"; }
die() { printf 'image: ERROR %s\n' "$*" >&2; exit 1; }
sha() { sha256sum | cut -c1-16; }

for tool in mmdebstrap buildah npm git sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is missing: run \`npm run setup\` (scripts/install-e2e-deps.sh installs Debian's mmdebstrap and buildah)"
done
readonly NODE_BIN=$ROOT/node_modules/node/bin/node
[[ -x $NODE_BIN ]] || die "$NODE_BIN is missing: run \`npm ci\` (the \`node\` devDependency is the image's Node 24)"
node_version=$("$NODE_BIN" --version)
[[ $node_version == v24.* ]] || die "node_modules/node is $node_version, expected v24 (the Dockerfile's node:24 base)"
arch=$(dpkg --print-architecture)

mkdir -p "$CACHE" "$OUT"
exec 9>"$CACHE/.lock"
flock 9 || die "cannot lock $CACHE/.lock"

# Reproducible: the same commit, cached root filesystem and lockfile give the same image digest.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 0)}
revision=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$ROOT/package.json")
readonly TAG="localhost/vbs-csi:$version"
readonly ARCHIVE=$OUT/vbs-csi.oci.tar

# --- 1. root filesystem ---------------------------------------------------------------------------
apt_sources=${VBS_IMAGE_APT_SOURCES:-}
if [[ -z $apt_sources ]]; then
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [[ -s $f ]]; then apt_sources=$f; break; fi
  done
fi
[[ -n $apt_sources ]] || die "no Debian apt sources on this host (set VBS_IMAGE_APT_SOURCES to a .sources or sources.list file)"
rootfs_key=$(printf '%s\n' "$SUITE" "$arch" minbase "${PACKAGES[@]}" "${DPKG_OPTS[@]}" "$CUSTOMIZE" | sha)
rootfs=$CACHE/rootfs-$SUITE-$arch-$rootfs_key.tar
if [[ -f $rootfs && ${VBS_IMAGE_REFRESH:-0} != 1 ]] && [[ -z $(find "$rootfs" -mtime "+$MAX_AGE_DAYS" -print) ]]; then
  step "root filesystem: cached $(basename "$rootfs") ($(du -m "$rootfs" | cut -f1) MiB)"
else
  step "root filesystem: mmdebstrap $SUITE ${PACKAGES[*]} (apt sources from $apt_sources)"
  dpkg_args=()
  for o in "${DPKG_OPTS[@]}"; do dpkg_args+=(--dpkgopt="$o"); done
  mmdebstrap --variant=minbase --format=tar --architectures="$arch" --include="$(IFS=,; echo "${PACKAGES[*]}")" \
    "${dpkg_args[@]}" --customize-hook="$CUSTOMIZE" \
    "$SUITE" "$rootfs.partial" "$apt_sources"
  mv "$rootfs.partial" "$rootfs"
  find "$CACHE" -maxdepth 1 -name "rootfs-*.tar" ! -name "$(basename "$rootfs")" -delete
fi
rootfs_sha=$(sha256sum "$rootfs" | cut -d' ' -f1)

# --- 2. production node_modules ---------------------------------------------------------------------
deps_key=$(cat "$ROOT/package.json" "$ROOT/package-lock.json" | sha)
deps=$CACHE/node_modules-$deps_key
if [[ -d $deps/node_modules ]]; then
  step "production node_modules: cached $(basename "$deps")"
else
  step "production node_modules: npm ci --omit=dev --ignore-scripts"
  rm -rf "$deps.partial"
  mkdir -p "$deps.partial"
  cp "$ROOT/package.json" "$ROOT/package-lock.json" "$deps.partial/"
  (cd "$deps.partial" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=warn)
  rm -rf "$deps"
  mv "$deps.partial" "$deps"
  find "$CACHE" -maxdepth 1 -name 'node_modules-*' ! -name "$(basename "$deps")" -exec rm -rf {} +
fi

# --- 3. the application files, as the Dockerfile copies them (.dockerignore drops tests, generated) ---
app=$OUT/app
rm -rf "$app"
mkdir -p "$app"
cp "$ROOT/package.json" "$app/"
cp -r "$ROOT/proto" "$app/proto"
(cd "$ROOT" && find src -type f -name '*.ts' ! -name '*.test.ts' ! -path 'src/generated/*' -print0 | cpio --null -pdm --quiet "$app")
app_key=$( (cd "$app" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha)

inputs=$(printf '%s\n' "$rootfs_sha" "$node_version" "$deps_key" "$app_key" "$SOURCE_DATE_EPOCH" "$revision" "$(sha256sum <"$0")")
if [[ -f $ARCHIVE && -f $ARCHIVE.inputs && $(<"$ARCHIVE.inputs") == "$inputs" ]]; then
  step "up to date: $ARCHIVE ($(du -m "$ARCHIVE" | cut -f1) MiB)"
  exit 0
fi

# --- 4. assemble with buildah: three layers, each reused while its inputs stay the same ------------
b() { buildah "${STORAGE[@]}" "$@"; }
has_image() { b inspect --type image "$1" >/dev/null 2>&1; }
commit() { b commit --quiet --timestamp "$SOURCE_DATE_EPOCH" --format oci "$@" >/dev/null; }

base_image=localhost/vbs-csi-base:$(printf '%s\n' "$rootfs_sha" "$node_version" | sha)
if has_image "$base_image"; then
  step "layer base: cached $base_image"
else
  step "layer base: Debian root filesystem + node $node_version"
  ctr=$(b from --quiet scratch)
  b add --quiet "$ctr" "$rootfs" / >/dev/null
  b copy --quiet --chmod 0755 "$ctr" "$NODE_BIN" /usr/local/bin/node >/dev/null
  commit "$ctr" "$base_image"
  b rm "$ctr" >/dev/null
fi

deps_image=localhost/vbs-csi-deps:$(printf '%s\n' "$base_image" "$deps_key" | sha)
if has_image "$deps_image"; then
  step "layer deps: cached $deps_image"
else
  step "layer deps: production node_modules"
  ctr=$(b from --quiet --pull-never "$base_image")
  b copy --quiet "$ctr" "$deps/node_modules" /app/node_modules >/dev/null
  commit "$ctr" "$deps_image"
  b rm "$ctr" >/dev/null
fi

step "layer app: package.json, proto, src; image config"
ctr=$(b from --quiet --pull-never "$deps_image")
b copy --quiet "$ctr" "$app/package.json" /app/package.json >/dev/null
b copy --quiet "$ctr" "$app/proto" /app/proto >/dev/null
b copy --quiet "$ctr" "$app/src" /app/src >/dev/null
b config \
  --workingdir /app \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="${node_version#v}" \
  --env NODE_ENV=production \
  --label org.opencontainers.image.title=vbs-csi \
  --label 'org.opencontainers.image.description=Virtual Block Store CSI driver: LVM thin volumes over LIO iSCSI' \
  --label org.opencontainers.image.licenses=Apache-2.0 \
  --label org.opencontainers.image.version="$version" \
  --label org.opencontainers.image.revision="$revision" \
  --label io.vbs-csi.image.rootfs-sha256="$rootfs_sha" \
  --entrypoint '["/usr/bin/tini", "--", "node", "src/main.ts"]' \
  --cmd '["--help"]' \
  "$ctr"
step "commit $TAG → $ARCHIVE"
rm -f "$ARCHIVE" "$ARCHIVE.inputs"
commit "$ctr" "oci-archive:$ARCHIVE.partial:$TAG"
b rm "$ctr" >/dev/null
mv "$ARCHIVE.partial" "$ARCHIVE"
printf '%s\n' "$inputs" >"$ARCHIVE.inputs"
# Old base/deps images of earlier inputs would only fill the cache.
b images --format '{{.Name}}:{{.Tag}}' | grep -E '^localhost/vbs-csi-(base|deps):' | grep -vxF -e "$base_image" -e "$deps_image" | xargs -r buildah "${STORAGE[@]}" rmi >/dev/null || true

manifest_digest=$(tar -xOf "$ARCHIVE" index.json | sed -n 's/.*"digest":"\(sha256:[0-9a-f]*\)".*/\1/p' | head -1)
step "done: $ARCHIVE ($(du -m "$ARCHIVE" | cut -f1) MiB, manifest $manifest_digest, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)"
