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

# The Debian packages behind the infrastructure: Postgres, NATS, ClickHouse, Prometheus, Alertmanager
# and Postgres's exporter (Debian packages no NATS exporter).
ensure_infrastructure() {
  ensure_packages \
    /usr/lib/postgresql/15/bin/postgres:postgresql \
    nats-server:nats-server \
    clickhouse-server:clickhouse-server \
    prometheus:prometheus \
    promtool:prometheus \
    prometheus-alertmanager:prometheus-alertmanager \
    amtool:prometheus-alertmanager \
    prometheus-postgres-exporter:prometheus-postgres-exporter \
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
