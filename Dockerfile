# syntax=docker/dockerfile:1
#
# One image holding the four Fechatter services, the web client fechatter_server serves, the
# `fechatter_secrets` key generator and the `dead_letters` command (see docs/runbook.md);
# docker-compose.yml picks the binary with `command`.
#
#   docker build -t fechatter:local .
#   docker run --rm -v $PWD/secrets:/var/lib/fechatter/secrets fechatter:local fechatter_secrets /var/lib/fechatter/secrets
#
# cargo-chef compiles the dependencies in their own layer, keyed only by the manifests and Cargo.lock,
# so editing the services' code rebuilds just the workspace crates.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm
ARG NODE_VERSION=20

# The web client: type-checked and built by Vite into static files fechatter_server serves.
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
ENV CARGO_TERM_COLOR=never
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json \
      -p fechatter_server -p notify_server -p bot_server -p analytics_server
COPY . .
RUN cargo build --release --locked \
      --bin fechatter_server --bin notify_server --bin bot_server --bin analytics_server \
      --bin fechatter_secrets --bin dead_letters

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# curl serves the container health checks (`curl -f http://localhost:PORT/ready`).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 fechatter \
    && useradd --system --uid 10001 --gid fechatter --no-create-home --shell /usr/sbin/nologin fechatter \
    && install -d -o fechatter -g fechatter /var/lib/fechatter/files \
    && install -d -m 700 -o fechatter -g fechatter /var/lib/fechatter/secrets \
         /var/lib/fechatter/secrets/all /var/lib/fechatter/secrets/fechatter \
         /var/lib/fechatter/secrets/notify /var/lib/fechatter/secrets/bot \
         /var/lib/fechatter/secrets/analytics
COPY --from=builder \
     /app/target/release/fechatter_server \
     /app/target/release/notify_server \
     /app/target/release/bot_server \
     /app/target/release/analytics_server \
     /app/target/release/fechatter_secrets \
     /app/target/release/dead_letters \
     /usr/local/bin/
COPY --from=web /web/dist /usr/share/fechatter/web
# Read by fechatter_server only: it serves the client beside the API on its port.
ENV FECHATTER_WEB_DIR=/usr/share/fechatter/web
USER fechatter:fechatter
# Writable by the service user; a named volume mounted on .../files starts with this ownership.
WORKDIR /var/lib/fechatter
# 6688 fechatter API, 6689 notify SSE, 6686 bot health, 7777 analytics API; 9090-9092, 7778 metrics.
EXPOSE 6688 6689 6686 7777 9090 9091 9092 7778
CMD ["fechatter_server"]
