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
USER node
# The replica by default; the coordinator runs dist/apps/coordinator/src/main.js.
CMD ["node", "--enable-source-maps", "dist/apps/replica/src/main.js"]
