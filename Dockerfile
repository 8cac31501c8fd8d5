# One image for every service of the platform; the command picks the service:
#   docker run … topup-platform node services/orders/dist/src/server.js
# (docker-compose.yml sets it per service). Default: the gateway.
#
# build:   npm ci (every workspace, dev dependencies included), npm run build
#          (Tailwind CSS of analytics + tsc -b), then npm ci --omit=dev.
# runtime: node:20-slim + tini; production dependencies, each workspace's
#          package.json and dist/, analytics' public/ (with its built CSS);
#          runs as the unprivileged `node` user.

# ---------------------------------------------------------------------------
FROM node:20-slim AS build
WORKDIR /app

# The manifests first, so that the dependency layer is rebuilt only when they
# change. A new workspace needs its package.json listed here.
COPY package.json package-lock.json ./
COPY libs/contracts/package.json libs/contracts/
COPY libs/messaging/package.json libs/messaging/
COPY libs/service-kit/package.json libs/service-kit/
COPY libs/service/package.json libs/service/
COPY services/auth/package.json services/auth/
COPY services/orders/package.json services/orders/
COPY services/payments/package.json services/payments/
COPY services/analytics/package.json services/analytics/
COPY services/gateway/package.json services/gateway/
COPY sandboxes/publisher/package.json sandboxes/publisher/
RUN npm ci --no-audit --no-fund

COPY . .
RUN npm run build

# Production dependencies only (the dist folders stay), then everything the
# runtime needs gathered in /out: symbolic links of the workspaces included.
RUN npm ci --omit=dev --no-audit --no-fund \
 && mkdir -p /out \
 && cp -a package.json package-lock.json node_modules /out/ \
 && for dir in libs/* services/* sandboxes/*; do \
      mkdir -p "/out/$dir" \
      && cp -a "$dir/package.json" "$dir/dist" "/out/$dir/" \
      && if [ -d "$dir/node_modules" ]; then cp -a "$dir/node_modules" "/out/$dir/"; fi; \
    done \
 && cp -a services/analytics/public /out/services/analytics/ \
 && test -f /out/services/analytics/public/build/dashboard.css

# ---------------------------------------------------------------------------
FROM node:20-slim AS runtime

# tini as PID 1: forwards SIGTERM/SIGINT to the service (which then drains and
# exits 0) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    HOST=0.0.0.0
WORKDIR /app
# owned by root, read-only for the service: nothing is written to disk
COPY --from=build /out/ /app/

USER node
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "services/gateway/dist/src/server.js"]
