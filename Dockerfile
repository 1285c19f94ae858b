# hostns-operator container image. Two stages: compile TypeScript with the dev dependencies, then
# run the compiled JavaScript with production dependencies only.
#
# Base: the official Node image, Node 24 LTS (package.json "engines"), pinned to the exact version
# the test suite runs on (the `node` devDependency), Debian 13 "trixie" slim variant. Chosen over
# distroless because the official image is tagged by Node version (distroless nodejs images can be
# pinned only by digest) and ships npm for the build stage; over alpine because musl is a second
# libc the tests never exercise. Pin a digest as well (node:24.21.0-trixie-slim@sha256:...) in
# your registry mirror if you need byte-for-byte reproducible builds.
ARG NODE_IMAGE=node:24.21.0-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency's install script downloads a second Node binary we
# do not need (the image has Node). tsc is then called directly, not through `npm run build`,
# because npm scripts put node_modules/.bin first on PATH, where that package's unset-up `node`
# shim would be.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only (no TypeScript, no vitest); no dependency has an install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The image's `node` user (uid/gid 1000), by number so that runAsNonRoot can verify it. The
# operator writes nothing to disk: it runs with a read-only root filesystem.
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["node", "dist/main.js"]
