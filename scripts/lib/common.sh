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
  # Without recommended extras (installing prometheus would pull in and start
  # prometheus-node-exporter), and with no daemon started by a package's post-install script.
  without_service_starts as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# without_service_starts CMD...: runs CMD (a package installation) while maintainer scripts may not
# start services. postgresql, clickhouse-server, nats-server and prometheus start their daemon from
# their post-install script (through invoke-rc.d or deb-systemd-invoke) on the very ports the runner
# and the tests use; both helpers ask /usr/sbin/policy-rc.d first, and its exit status 101 means
# "action forbidden" (Debian's documented switch, see /usr/share/doc/init-system-helpers/README.policy-rc.d.gz).
# An existing policy (container images ship one that answers 101) is left as it is. Nothing is ever
# stopped or killed by name: a port still taken is reported by the runner with the process holding it.
without_service_starts() {
  local policy=/usr/sbin/policy-rc.d status=0
  if [ -e "$policy" ]; then "$@"; return; fi
  as_root sh -c "printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy"
  "$@" || status=$?
  as_root rm -f "$policy"
  return "$status"
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
}

# The services' allocator (tikv-jemalloc-sys) is built from C with configure and make.
ensure_c_toolchain() {
  ensure_packages cc:gcc make:make
}

ensure_rust_tools() {
  command -v cargo >/dev/null || die "cargo is required (install Rust with rustup)"
  ensure_c_toolchain
  if ! cargo nextest --version >/dev/null 2>&1; then
    say "installing cargo-nextest"
    cargo install --locked cargo-nextest
  fi
}

# warn_if_disk_low GIB: a cold build of every test binary fills about 5 GiB of target/ (more with
# incremental caches); a full disk shows up only as a compiler's I/O error deep in the build log.
warn_if_disk_low() {
  local need_kib=$(($1 * 1024 * 1024)) free_kib
  mkdir -p "$ROOT/target"
  free_kib=$(df -Pk "$ROOT/target" | awk 'NR == 2 { print $4 }')
  if [ "${free_kib:-0}" -lt "$need_kib" ]; then
    say "warning: only $((free_kib / 1024)) MiB free for target/; a cold build needs about $1 GiB"
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

# cargo_build ARGS...: `cargo build ARGS` showing cargo's own progress bar (units built of the
# total) instead of one line per crate; warnings, errors and the summary pass through. On a terminal
# the bar updates in place; otherwise (a log, a test) it is printed every 30 s.
cargo_build() {
  ensure_c_toolchain
  local width=100 color=never
  if [ -t 2 ]; then
    width=$(tput cols 2>/dev/null || echo 100)
    color=always
  fi
  # Cargo draws its bar only on a terminal unless told otherwise, and ends each frame with \r.
  CARGO_TERM_PROGRESS_WHEN=always CARGO_TERM_PROGRESS_WIDTH="$width" CARGO_TERM_COLOR="$color" \
    cargo build "$@" 2>&1 | stdbuf -oL tr '\r' '\n' | build_progress "$color" "$width"
}

build_progress() { # build_progress always|never WIDTH: reads cargo's output, one frame or line per line
  local tty="$1" width="$2" line text last=-30 started=$SECONDS
  while IFS= read -r line; do
    text="${line#"${line%%[![:space:]]*}"}"
    case "$text" in
      "Building ["*)
        text="${text#Building }"
        if [ "$tty" = always ]; then
          printf '\r\033[K    %s' "${text:0:$((width - 5))}" >&2
        elif [ $((SECONDS - last)) -ge 30 ]; then
          last=$SECONDS
          printf '    %s (%d s)\n' "${text%%:*}" $((SECONDS - started)) >&2
        fi
        ;;
      "Compiling "* | "Checking "* | "Fresh "* | "Downloaded "* | "Downloading "* | "Locking "*) ;;
      *)
        [ "$tty" = always ] && printf '\r\033[K' >&2
        printf '%s\n' "$line" >&2
        ;;
    esac
  done
  [ "$tty" = always ] && printf '\r\033[K' >&2
  return 0
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
