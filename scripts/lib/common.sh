# Shared by ./scripts/test, ./scripts/up and ./scripts/bench: install what is missing, log steps.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_packages CMD:PACKAGE ... installs PACKAGE with apt when CMD is not found.
ensure_packages() {
  local missing=() pair cmd pkg
  for pair in "$@"; do
    cmd="${pair%%:*}" pkg="${pair#*:}"
    if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "$cmd" ]; then missing+=("$pkg"); fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The Debian packages behind the infrastructure: Postgres, NATS, ClickHouse, Prometheus.
ensure_infrastructure() {
  ensure_packages \
    /usr/lib/postgresql/15/bin/postgres:postgresql \
    nats-server:nats-server \
    clickhouse-server:clickhouse-server \
    prometheus:prometheus \
    promtool:prometheus \
    curl:curl \
    python3:python3
  # The packages start nothing without systemd, but stop any service a post-install script began
  # so the fixed ports stay free.
  as_root pkill -x prometheus-node-exporter 2>/dev/null || true
}

ensure_rust_tools() {
  command -v cargo >/dev/null || die "cargo is required (install Rust with rustup)"
  if ! cargo nextest --version >/dev/null 2>&1; then
    say "installing cargo-nextest"
    cargo install --locked cargo-nextest
  fi
}

# A virtualenv for the Python tools the checks use (check-jsonschema, schemathesis, chdb).
PY_VENV="${FECHATTER_PY_VENV:-$ROOT/target/py-tools}"
ensure_python_tools() {
  if [ ! -x "$PY_VENV/bin/python" ]; then
    python3 -m venv "$PY_VENV" 2>/dev/null || {
      ensure_packages "/usr/lib/python3/dist-packages/ensurepip:python3-venv"
      python3 -m venv "$PY_VENV"
    }
  fi
  local wanted=("$@") missing=() pkg
  for pkg in "${wanted[@]}"; do
    "$PY_VENV/bin/pip" show -q "${pkg%%=*}" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Python tools: ${missing[*]}"
    "$PY_VENV/bin/pip" install -q --disable-pip-version-check "${missing[@]}"
  fi
}

# Node.js and npm build the web client; Vite needs Node.js 20.19 or newer.
ensure_node() {
  ensure_packages node:nodejs npm:npm
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
    || die "Node.js $(node --version) is too old to build the web client (Vite needs 20.19 or newer)"
}

# Debian's chromium, which the browser tests drive through playwright-core.
ensure_browser() {
  ensure_packages /usr/bin/chromium:chromium
}

# Builds the web client into web/dist: `npm ci` when package-lock.json changed since the last
# install, then the type check and the Vite build. Everything it needs comes from the npm registry.
WEB_DIR="$ROOT/web"
build_web_client() {
  ensure_node
  if [ ! -f "$WEB_DIR/node_modules/.package-lock.json" ] \
    || [ "$WEB_DIR/package-lock.json" -nt "$WEB_DIR/node_modules/.package-lock.json" ]; then
    say "installing the web client's packages (npm ci)"
    (cd "$WEB_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  (cd "$WEB_DIR" && npm run --silent build >/dev/null) || die "the web client did not build (cd web && npm run build)"
}
