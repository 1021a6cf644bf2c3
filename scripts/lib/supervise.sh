# The native runner's supervisor (used by ./scripts/up): components are registered with `component`,
# started, watched, restarted with backoff when they exit, and controlled from another terminal through
# small files in the control directory $RUN:
#   NAME.want     up | down: what the operator wants (`./scripts/up stop NAME` writes down)
#   NAME.restart  present: restart NAME once (`./scripts/up restart NAME`)
#   NAME.state    written by the supervisor: STATE PID SINCE RESTARTS (STATE: starting, ready, waiting
#                 (to be restarted after an exit), stopped; SINCE: epoch seconds of the last start)
#   components    the registered names, in start order
#   up.lock       held (flock) by the running supervisor; free means no runner is running
# Files rather than a FIFO: a command from another terminal never blocks on a runner that is gone, and
# `status` can be read while the supervisor is busy.
# shellcheck shell=bash

# Needs RUN (the control directory) and LOGS (where NAME.log goes) before use.
COMPONENTS=()
declare -A KIND=() PORTS=() PID=() STARTED_MS=() RESTARTS=() DELAY=() NEXT_START_MS=() READY=()

# A component that exits after running this long was healthy: its next restart waits only a second.
STABLE_MS=30000
MAX_DELAY=30

# component NAME KIND PORT...: registers NAME. KIND `infra` is started in registration order, each
# one ready before the next starts; KIND `service` is started after all the infrastructure, all at
# once. The block registering NAME defines:
#   NAME_run          runs the process in the foreground (with exec); its output goes to logs/NAME.log
#   NAME_ready        succeeds once the process serves (polled; keep it quick)
#   NAME_prepare      optional: run by the supervisor before every start (configs, directories)
#   NAME_after_ready  optional: run each time NAME becomes ready (idempotent set-up, e.g. a database)
#   NAME_STOP_SIGNAL  optional variable: the signal for a clean, quick stop (default TERM)
component() {
  local name="$1" kind="$2"
  shift 2
  COMPONENTS+=("$name")
  KIND[$name]=$kind
  PORTS[$name]="$*"
  RESTARTS[$name]=0
  DELAY[$name]=1
  NEXT_START_MS[$name]=0
  READY[$name]=0
}

defined() { [ "$(type -t "$1")" = function ]; }

# NOW_MS: the wall clock in milliseconds, without a subshell (the loop runs several times a second).
tick_clock() { NOW_MS=$((${EPOCHREALTIME//[!0-9]/} / 1000)); }

# human MS: "0.8 s", "42 s", "11m 3s".
human() {
  local ms=$1
  if [ "$ms" -lt 10000 ]; then printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100))
  elif [ "$ms" -lt 90000 ]; then printf '%d s' $((ms / 1000))
  else printf '%dm %ds' $((ms / 60000)) $((ms % 60000 / 1000))
  fi
}

# note MESSAGE: a supervisor event, on the terminal and in logs/up.log.
note() {
  say "$(date +%T) $*"
  printf '%s %s\n' "$(date -u +%FT%TZ)" "$*" >>"$LOGS/up.log"
}

write_state() { # write_state NAME STATE
  local name="$1" tmp="$RUN/$1.state.tmp"
  printf '%s %s %s %s\n' "$2" "${PID[$name]:--}" "$((STARTED_MS[$name] / 1000))" "${RESTARTS[$name]}" >"$tmp"
  mv -f "$tmp" "$RUN/$name.state"
}

wanted() { # wanted NAME: prints up or down (up when the file is missing or unreadable)
  local want=up
  [ -r "$RUN/$1.want" ] && read -r want <"$RUN/$1.want"
  printf '%s' "$want"
}

describe_exit() { # describe_exit STATUS
  if [ "$1" -gt 128 ]; then printf 'killed by SIG%s' "$(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128)))"
  else printf 'exit status %s' "$1"
  fi
}

spawn() { # spawn NAME: starts the process in the background; fd 9 (the runner's lock) is not inherited
  local name="$1"
  if defined "${name}_prepare"; then "${name}_prepare"; fi
  printf -- '--- %s: starting %s\n' "$(date -u +%FT%TZ)" "$name" >>"$LOGS/$name.log"
  "${name}_run" </dev/null >>"$LOGS/$name.log" 2>&1 9>&- &
  PID[$name]=$!
  tick_clock
  STARTED_MS[$name]=$NOW_MS
  READY[$name]=0
  write_state "$name" starting
}

# halt NAME: the stop signal, up to 10 s to exit, then SIGKILL; reaps the process.
halt() {
  local name="$1" pid="${PID[$1]:-}" signal_var="${1}_STOP_SIGNAL"
  [ -n "$pid" ] || return 0
  kill -"${!signal_var:-TERM}" "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  PID[$name]=''
  READY[$name]=0
}

# supervise NAME: one look at NAME: reap and schedule a restart if it exited, act on the operator's
# requests, start it when it is due, notice when it becomes ready.
supervise() {
  local name="$1" pid="${PID[$1]:-}" want status
  want=$(wanted "$name")
  tick_clock
  if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
    status=0
    wait "$pid" 2>/dev/null || status=$?
    PID[$name]=''
    READY[$name]=0
    local ran=$((NOW_MS - STARTED_MS[$name]))
    [ "$ran" -lt "$STABLE_MS" ] || DELAY[$name]=1
    NEXT_START_MS[$name]=$((NOW_MS + DELAY[$name] * 1000))
    note "$name exited ($(describe_exit "$status")) after $(human "$ran"); restarting in ${DELAY[$name]} s (log: $LOGS/$name.log)"
    DELAY[$name]=$((DELAY[$name] * 2 > MAX_DELAY ? MAX_DELAY : DELAY[$name] * 2))
    RESTARTS[$name]=$((RESTARTS[$name] + 1))
    write_state "$name" waiting
    pid=''
  fi
  if [ -e "$RUN/$name.restart" ]; then
    rm -f "$RUN/$name.restart"
    if [ "$want" = up ]; then
      [ -z "$pid" ] || halt "$name"
      note "$name: restarting on request"
      pid=''
      NEXT_START_MS[$name]=0
      DELAY[$name]=1
    fi
  fi
  if [ "$want" = down ]; then
    if [ -n "$pid" ] || [ "$(state_of "$name")" != stopped ]; then
      halt "$name"
      note "$name stopped on request; it stays stopped until: ./scripts/up start $name"
      write_state "$name" stopped
    fi
    return 0
  fi
  if [ -z "$pid" ]; then
    [ "$NOW_MS" -ge "${NEXT_START_MS[$name]}" ] || return 0
    local again=''
    [ "$(state_of "$name")" = '' ] || again=1
    spawn "$name"
    [ -z "$again" ] || note "$name started (pid ${PID[$name]})"
    return 0
  fi
  if [ "${READY[$name]}" = 0 ] && "${name}_ready" >/dev/null 2>&1; then
    READY[$name]=1
    tick_clock
    if defined "${name}_after_ready"; then "${name}_after_ready"; fi
    write_state "$name" ready
    note "$name ready in $(human $((NOW_MS - STARTED_MS[$name]))) (pid ${PID[$name]})"
  fi
}

state_of() { # state_of NAME: the recorded state, empty before the first start
  local state=''
  [ -r "$RUN/$1.state" ] && read -r state _ <"$RUN/$1.state"
  printf '%s' "$state"
}

supervise_all() {
  local name
  for name in "${COMPONENTS[@]}"; do
    [ -e "$RUN/$name.want" ] && supervise "$name"
  done
  return 0
}

# bring_up NAME... SECONDS: marks the components wanted and supervises until all are ready; a
# component not ready in time stops the runner with the tail of its log.
bring_up() {
  local seconds="${*: -1}" names=("${@:1:$#-1}") name pending deadline=$((SECONDS + ${*: -1}))
  for name in "${names[@]}"; do echo up >"$RUN/$name.want"; done
  while :; do
    supervise_all
    pending=''
    for name in "${names[@]}"; do [ "${READY[$name]}" = 1 ] || pending+=" $name"; done
    [ -n "$pending" ] || return 0
    if [ $SECONDS -ge $deadline ]; then
      for name in $pending; do tail -n 20 "$LOGS/$name.log" >&2 || true; done
      die "not ready within ${seconds}s:$pending (logs: $LOGS/)"
    fi
    sleep 0.2
  done
}

# stop_all: every component, services first (reverse start order).
stop_all() {
  local i name
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    name="${COMPONENTS[$i]}"
    halt "$name"
    rm -f "$RUN/$name.state" "$RUN/$name.want" "$RUN/$name.restart"
  done
}

# --- the commands for a second terminal: ./scripts/up status | stop | start | restart NAME ----------

runner_running() { ! flock -n "$RUN/up.lock" true 2>/dev/null; }

control() {
  local command="$1" name="${2:-}"
  [ -e "$RUN/up.lock" ] && runner_running || die "no runner is running on $STATE (start one: ./scripts/up)"
  if [ "$command" = status ]; then control_status; return; fi
  [ -n "$name" ] || die "usage: ./scripts/up $command NAME (one of: $(tr '\n' ' ' <"$RUN/components"))"
  grep -qx "$name" "$RUN/components" || die "unknown NAME '$name'; one of: $(tr '\n' ' ' <"$RUN/components")"
  local before
  read -r _ before _ 2>/dev/null <"$RUN/$name.state" || before=-
  case "$command" in
    stop)
      echo down >"$RUN/$name.want"
      await_state "$name" 30 stopped && echo "$name stopped (it stays stopped until: ./scripts/up start $name)"
      ;;
    start)
      echo up >"$RUN/$name.want"
      await_state "$name" 180 ready && echo "$name ready"
      ;;
    restart)
      echo up >"$RUN/$name.want"
      touch "$RUN/$name.restart"
      await_state "$name" 180 ready "$before" && echo "$name restarted and ready"
      ;;
  esac
}

# await_state NAME SECONDS STATE [OLD_PID]: waits until NAME.state says STATE (with a pid other than
# OLD_PID, for a restart).
await_state() {
  local name="$1" deadline=$((SECONDS + $2)) want="$3" old="${4:-}" state pid
  while :; do
    state=-
    pid=-
    read -r state pid _ 2>/dev/null <"$RUN/$name.state" || true
    if [ "$state" = "$want" ] && { [ -z "$old" ] || [ "$pid" != "$old" ]; }; then return 0; fi
    runner_running || die "the runner stopped"
    [ $SECONDS -lt $deadline ] || die "$name is not $want after $2 s (state: $state; log: $LOGS/$name.log)"
    sleep 0.2
  done
}

control_status() {
  local name state pid since restarts now
  now=$(date +%s)
  printf '%-18s %-9s %-8s %-9s %-9s %s\n' NAME STATE PID UP RESTARTS LOG
  while read -r name; do
    state=- pid=- since=0 restarts=0
    read -r state pid since restarts 2>/dev/null <"$RUN/$name.state" || true
    local up=-
    case "$state" in starting | ready) up=$(human $(((now - since) * 1000))) ;; esac
    printf '%-18s %-9s %-8s %-9s %-9s %s\n' "$name" "$state" "$pid" "$up" "$restarts" "$LOGS/$name.log"
  done <"$RUN/components"
}
