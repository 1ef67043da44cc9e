# portolan's image: the agent (`portolan serve`) and the one-shot commands (`docker run … portolan ps`).
# Build: docker build -t portolan .   (another Node 20 base: --build-arg BASE_IMAGE=…)
# Run: see README, "As a container" — host pid and network namespaces, the Docker socket read-only, and only the
# capabilities portolan needs (SYS_ADMIN, SYS_PTRACE, DAC_READ_SEARCH), never --privileged.
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Dependencies first (their layer stays cached while only sources change). Install scripts run for the three
# native modules only: better-sqlite3 (a prebuilt binary, else node-gyp), netlink and koffi (prebuilt in the
# packages), and esbuild (vite's compiler); not the package's own `prepare`, which needs the sources.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 netlink koffi esbuild
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && chmod 0755 dist/cli/main.js

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="portolan" \
      org.opencontainers.image.description="See who talks to whom on Docker hosts: every container's sockets, read from the kernel." \
      org.opencontainers.image.licenses="MIT"
ENV NODE_ENV=production \
    PORTOLAN_DATA=/var/lib/portolan
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY LICENSE README.md ./
# History (SQLite) is the only thing written: on a volume, so the root filesystem can be read-only.
VOLUME ["/var/lib/portolan"]
EXPOSE 9057
# Liveness of the agent itself (/healthz: the collection loop runs), on the address it listens on.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/dist/cli/healthcheck.js"]
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["serve"]
