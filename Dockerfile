# The image of the replica and the coordinator (one image, two entry points; see
# docker-compose.yml). Build stage: compile TypeScript and the native SQLite binding;
# runtime stage: production dependencies and dist/ only.
FROM node:20-slim AS build
WORKDIR /app
# better-sqlite3 falls back to compiling from source when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
# Sources (.dockerignore keeps out node_modules, dist, data and the rest).
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# A replica keeps its SQLite files in /data (DATA_DIR); mount one volume per replica there.
# A new named volume takes this directory's owner, so the node user can write to it.
RUN mkdir -p /data && chown node:node /data
# `crdtctl` on PATH (docker-compose exec coordinator crdtctl shell); the shim finds dist/
# through its real path.
RUN ln -s /app/bin/crdtctl.js /usr/local/bin/crdtctl
USER node
# The replica by default; the coordinator runs dist/apps/coordinator/src/main.js. Both serve
# /health/live, /health/ready and /metrics on HTTP_PORT when it is set; the compose file's
# healthcheck is `node dist/scripts/healthcheck.js` (no curl in this image).
CMD ["node", "--enable-source-maps", "dist/apps/replica/src/main.js"]
