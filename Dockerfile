# syntax=docker/dockerfile:1
# One image for every project process (worker, preparation station, console, codec server, emulator): the TypeScript
# sources run with tsx, as in development. Pick the process with the command, e.g.
#   docker run azure-import-orchestrator                                   # worker (default)
#   docker run azure-import-orchestrator node --import tsx console/main.ts
ARG NODE_IMAGE=node:24.22.3-bookworm-slim
FROM ${NODE_IMAGE}

ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=1024 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    SECRET_STORE_DIR=/data/secrets
WORKDIR /app

# Dependencies first, so source edits do not reinstall them. tsx is a runtime dependency.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY --chown=node:node . .
# The multi-buffer MD5 kernel is compiled from source into node_modules/.cache (no binary is committed).
RUN node --import tsx activities/prepare/md5/build.ts \
 && node --import tsx bundling/build.ts \
 && mkdir -p /data/secrets /data/emulator /drives \
 && chown -R node:node /data /drives \
 && chmod 700 /data/secrets

USER node
# console 8080, codec server 8888, worker metrics 9464, emulator 10880/10843
EXPOSE 8080 8888 9464 10880 10843
CMD ["node", "--import", "tsx", "worker/main.ts"]
