# syntax=docker/dockerfile:1
# vbs-csi image: one program, the role is the first argument (controller | node | agent | all-in-one).
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build stage for code;
# the first stage only installs production dependencies.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The `node` devDependency (a Node 24 binary for machines whose system Node is older) is not needed here.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:24-bookworm-slim
# Storage tools for the agent (lvm2) and node plugin (open-iscsi's iscsiadm talks to the host's
# iscsid over its abstract socket; e2fsprogs/xfsprogs/util-linux for blkid, mkfs, mount).
# tini is PID 1 so SIGTERM reaches node and zombies of exec'd tools are reaped.
RUN apt-get update \
 && apt-get install -y --no-install-recommends lvm2 open-iscsi e2fsprogs xfsprogs util-linux kmod tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY proto ./proto
COPY src ./src
ENTRYPOINT ["/usr/bin/tini", "--", "node", "src/main.ts"]
CMD ["--help"]
