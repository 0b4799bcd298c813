# syntax=docker/dockerfile:1
# vbs-csi image: one program, the role is the first argument (controller | node | agent | all-in-one).
# Without a registry, `npm run image` (scripts/build-image.sh: mmdebstrap + buildah) builds the same
# layout from Debian's tools; test/packaging/image.test.ts keeps the two in step (docs/containers.md).
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build stage for code;
# the first stage only installs production dependencies. charts/vbs-csi runs this image for every role.
#
# Reviewed by hand against hadolint's rules (no linter binary can be had here), 2026-11-23:
# DL3006/DL3007 base image tagged, not latest · DL3008 apt versions NOT pinned, on purpose (ignored below)
# · DL3009 apt lists removed · DL3014 -y · DL3015 --no-install-recommends · DL3016 npm ci from the lockfile
# · DL3020 COPY, not ADD · DL3025 JSON-form ENTRYPOINT/CMD · DL3027 apt-get, not apt · DL3045 WORKDIR before
# relative COPY · DL4006 no pipes in RUN, so no pipefail SHELL needed · DL3002 no USER root (the image
# stays root because the node and agent roles must be; the chart runs the controller as uid 1000, the
# base image's `node` user) · DL3059 one RUN per stage · SC2046/SC2086 nothing unquoted expands.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The `node` devDependency (a Node 24 binary for machines whose system Node is older) is not needed here.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:24-bookworm-slim
LABEL org.opencontainers.image.title="vbs-csi" \
      org.opencontainers.image.description="Virtual Block Store CSI driver: LVM thin volumes over LIO iSCSI" \
      org.opencontainers.image.licenses="Apache-2.0"
# Storage tools for the agent (lvm2; kmod for modprobe; util-linux's blkdiscard zeroes thick volumes) and the node plugin (open-iscsi's iscsiadm talks
# to the HOST's iscsid over its abstract socket; e2fsprogs/xfsprogs/util-linux for blkid, mkfs, mount).
# tini is PID 1 so SIGTERM reaches node (which drains calls for --shutdown-grace-seconds) and the
# zombies of exec'd tools are reaped. open-iscsi's postinst writes an initiator name: removed, so a node
# pod without the host's /etc/iscsi mounted fails instead of sharing a baked-in name.
# Versions follow bookworm's security updates rather than pins that break every point release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends lvm2 open-iscsi e2fsprogs xfsprogs util-linux kmod tini \
 && rm -f /etc/iscsi/initiatorname.iscsi \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY proto ./proto
COPY src ./src
# No HEALTHCHECK: Kubernetes ignores it; health is the CSI Probe, served on the socket and turned into
# HTTP /healthz by the livenessprobe sidecar (see charts/vbs-csi).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "src/main.ts"]
CMD ["--help"]
