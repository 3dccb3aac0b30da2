#!/usr/bin/env bash
# End-to-end load test (issue 7): one nginx on 127.0.0.1, wrk in front of it, and behind
# it, one after the other, backends that all answer the same 78 bytes
#   HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!
#   tokio   examples/bench_server.rs (this crate's codec) via uwsgi_pass: a task per
#           connection (FramedRead), the plain way to write a tokio server
#   tokio-tuned  the same server with --inline --defer-accept: TCP_DEFER_ACCEPT as uWSGI
#           sets it, and a request that is already whole when accepted is decoded with the
#           codec and answered right in the accept loop (no epoll registration, no task)
#   uwsgi   uWSGI 2.0, C internal routing (`send:` the raw bytes), via uwsgi_pass
#   hyper   examples/hyper_backend.rs (hyper 1.x) via proxy_pass, HTTP/1.1, upstream keepalive
#   hyper-close  the same hyper backend via proxy_pass WITHOUT upstream keepalive (a new
#           connection per request, as uwsgi_pass always does): a diagnostic row
#   axum    examples/axum.rs (an axum Router on uwsgi_wire::server::serve, its /bench
#           route) via uwsgi_pass; a current-thread runtime and TCP_DEFER_ACCEPT (one
#           thread whatever WORKERS says)
#   gunicorn  gunicorn 27 from PyPI (a venv the script makes), --protocol uwsgi, sync
#           workers, benches/e2e/gunicorn_app.py (a tiny WSGI app) via uwsgi_pass
#   wsgi    uwsgi-wire-wsgi (wsgi/, release build): --master, --processes WORKERS, the
#           same venv as --home, benches/e2e/gunicorn_app.py via uwsgi_pass
#   uwsgi-python  uWSGI 2.0 with its python3 plugin (`--plugin python3`), --master,
#           --processes WORKERS, the same venv as --home, the same app via uwsgi_pass
#   gateway the same uWSGI as the uwsgi row, but with `uwsgi-wire gateway` (the CLI,
#           release build, --workers WORKERS) in front instead of nginx: its
#           "front CPU" is the gateway's, to compare with nginx's in the uwsgi row
#   floor   the same, with examples/bench_front.rs in front (proxy mode, one thread
#           whatever WORKERS): the least a hyper/tokio front end does per request
#   static-1k, static-1m  no backend: nginx itself serves a 1 KiB or a 1 MiB file from
#           `location /static/ { alias DIR/; }` (the guide's static files; sendfile on and
#           tcp_nopush on, as Debian's nginx.conf)
#   gw-static-1k, gw-static-1m  the same files from `uwsgi-wire gateway --static
#           /static/=DIR/` (release build, --workers WORKERS); its own table
#           compares each with nginx's row of the same round
# See benches/e2e/README.md.
#
# usage: benches/e2e/run.sh [SECONDS]      (default 10 s per backend, after a warm-up)
# environment:
#   WARMUP=2        warm-up seconds per backend (not measured)
#   CONNS=32        wrk connections (one wrk thread): enough to saturate this path on 2
#                   cores (the rate is flat from 4 to 32), few enough to stay under the
#                   upstream keepalive pool; see README
#   ROUNDS=1        measure every backend ROUNDS times, interleaved (t,u,h,t,u,h,...)
#   BACKENDS="tokio tokio-tuned uwsgi hyper hyper-close axum gunicorn gateway"
#                   (wsgi and uwsgi-python are measured only when listed)
#   WORKERS=1       uWSGI processes = tokio and hyper runtime threads: 1 is a
#                   current-thread runtime (tokio-tuned: --shards N for N > 1)
#                   = gateway --workers = gunicorn sync workers
#                   = uwsgi-wire-wsgi and uWSGI python3 worker processes;
#                   see README
#   BASE_PORT=28180 nginx listens on BASE_PORT+0..9, backends on BASE_PORT+10..17
#                   (static files: nginx on BASE_PORT+20, the gateway on BASE_PORT+21)
#   GUNICORN_VENV   the venv gunicorn is installed in, also the --home of the wsgi and
#                   uwsgi-python rows (default:
#                   $CARGO_TARGET_DIR/e2e-gunicorn-<version>; made once, then reused)
#   OUT=DIR         keep the raw wrk outputs, captures, configs and logs in DIR
#   CARGO_TARGET_DIR  as usual (default: ./target)
set -euo pipefail

DURATION=${1:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-1}
BACKENDS=${BACKENDS:-tokio tokio-tuned uwsgi hyper hyper-close axum gunicorn gateway}
WORKERS=${WORKERS:-1}
BASE_PORT=${BASE_PORT:-28180}

die() { echo "e2e: $*" >&2; exit 1; }
say() { printf '==> %s\n' "$*" >&2; }

[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a positive integer, not '$DURATION'"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ $WORKERS =~ ^[1-9][0-9]*$ ]] || die "WORKERS must be a positive integer"
for b in $BACKENDS; do
    case $b in tokio | tokio-tuned | uwsgi | hyper | hyper-close | axum | gunicorn | gateway | floor | wsgi | uwsgi-python) ;;
    static-1k | static-1m | gw-static-1k | gw-static-1m) ;;
    *) die "unknown backend $b" ;;
    esac
done
wants() { [[ " $BACKENDS " == *" $1 "* ]]; }
# The rows that serve the Python app from a venv (gunicorn's, made by this script).
wants_venv() { wants gunicorn || wants wsgi || wants uwsgi-python; }
# A static-file row: served by nginx or the gateway itself, no backend behind.
is_static() { [[ $1 == *static-* ]]; }
wants_static() { wants static-1k || wants static-1m || wants gw-static-1k || wants gw-static-1m; }
# gunicorn from PyPI, pinned: the release this script was checked against (its
# `--protocol uwsgi`: gunicorn/config.py, class Protocol; `--no-control-socket`).
GUNICORN_VERSION=27.0.1

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

# ---------------------------------------------------------------------------------------
# Everything started below is recorded here and stopped by the EXIT trap, whatever happens.
TMP=$(mktemp -d /tmp/uwsgi-wire-e2e.XXXXXX)
PIDS=()
WATCHDOG=""
CHILD=""
cleanup() {
    local status=$?
    set +e # stop everything, whatever fails on the way
    trap - EXIT INT TERM
    [ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null
    [ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null && wait "$CHILD" 2>/dev/null
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        # Up to 5 s each for a clean exit, then SIGKILL.
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "${OUT:-}" ]; then
        mkdir -p "$OUT" && cp -r "$TMP"/. "$OUT"/ && rm -rf "$OUT"/{client_body,proxy,fastcgi,uwsgi,scgi}_temp
        echo "e2e: raw outputs kept in $OUT" >&2
    fi
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'echo "e2e: interrupted" >&2; exit 130' INT TERM
# Runs a command in the background and waits for it, so that a signal to this script is
# handled at once (bash runs traps only between foreground commands) and the trap can
# stop the command.
run() {
    "$@" &
    CHILD=$!
    local status=0
    wait "$CHILD" || status=$?
    CHILD=""
    return "$status"
}

# ---------------------------------------------------------------------------------------
say "tools"
missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v uwsgi >/dev/null || missing+=(uwsgi-core)
command -v curl >/dev/null || missing+=(curl)
command -v ss >/dev/null || missing+=(iproute2)
if wants_venv; then
    # The venv is made with Debian's python3 (its venv module needs python3-venv).
    [ -x /usr/bin/python3 ] || missing+=(python3)
    if wants uwsgi-python; then
        [ -e /usr/lib/uwsgi/plugins/python3_plugin.so ] || missing+=(uwsgi-plugin-python3)
    fi
    { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null; } || missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing ${missing[*]}; install them (apt-get install -y ${missing[*]}) or run as root"
    say "apt-get install -y ${missing[*]}"
    # nginx's postinst starts the service on port 80; without an init system that fails
    # the install. A policy-rc.d that exits 101 makes invoke-rc.d skip it (as .ci/run).
    added_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
        added_policy=1
    fi
    installed=""
    timeout 900 apt-get update -q >&2 &&
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q "${missing[@]}" >&2 &&
        installed=1
    [ -n "$added_policy" ] && rm -f /usr/sbin/policy-rc.d
    [ -n "$installed" ] || die "apt-get install ${missing[*]} failed"
fi
[ -r /etc/nginx/uwsgi_params ] || die "/etc/nginx/uwsgi_params missing (Debian package nginx-common)"

say "build (release): examples bench_server, hyper_backend"
run timeout 1800 cargo build -q --release --features tokio,http \
    --example bench_server --example hyper_backend >&2 ||
    die "cargo build failed or took over 30 min"
if wants axum; then
    say "build (release): example axum (--all-features)"
    run timeout 1800 cargo build -q --release --example axum --all-features >&2 ||
        die "cargo build --example axum failed or took over 30 min"
fi
if wants gateway || wants gw-static-1k || wants gw-static-1m; then
    say "build (release): the CLI (uwsgi-wire gateway)"
    run timeout 1800 cargo build -q --release -p uwsgi-wire-cli >&2 ||
        die "cargo build -p uwsgi-wire-cli failed or took over 30 min"
fi
if wants floor; then
    say "build (release): example bench_front (--features client)"
    run timeout 1800 cargo build -q --release --example bench_front --features client >&2 ||
        die "cargo build --example bench_front failed or took over 30 min"
fi
if wants wsgi; then
    # The interpreter embedded is Debian's (the venv's): PYO3_PYTHON, unless set.
    say "build (release): uwsgi-wire-wsgi (PYO3_PYTHON=${PYO3_PYTHON:-/usr/bin/python3})"
    run env PYO3_PYTHON="${PYO3_PYTHON:-/usr/bin/python3}" timeout 1800 \
        cargo build -q --release -p uwsgi-wire-wsgi >&2 ||
        die "cargo build -p uwsgi-wire-wsgi failed or took over 30 min"
fi
BIN=$CARGO_TARGET_DIR/release/examples

GUNICORN_VENV=${GUNICORN_VENV:-$CARGO_TARGET_DIR/e2e-gunicorn-$GUNICORN_VERSION}
if wants_venv; then
    if [ "$("$GUNICORN_VENV/bin/gunicorn" --version 2>/dev/null)" != "gunicorn (version $GUNICORN_VERSION)" ]; then
        say "gunicorn $GUNICORN_VERSION from PyPI into the venv $GUNICORN_VENV"
        rm -rf "$GUNICORN_VENV"
        run timeout 300 /usr/bin/python3 -m venv "$GUNICORN_VENV" >&2 || die "python3 -m venv $GUNICORN_VENV failed"
        run timeout 600 "$GUNICORN_VENV/bin/pip" install -q --disable-pip-version-check \
            "gunicorn==$GUNICORN_VERSION" >&2 || die "pip install gunicorn==$GUNICORN_VERSION failed"
    fi
    [ "$("$GUNICORN_VENV/bin/gunicorn" --version)" = "gunicorn (version $GUNICORN_VERSION)" ] ||
        die "$GUNICORN_VENV/bin/gunicorn is not gunicorn $GUNICORN_VERSION"
fi

# The measurement phase is bounded as a whole: a watchdog ends the script (and the trap
# stops everything) if it overruns.
n_backends=$(wc -w <<<"$BACKENDS")
BUDGET=$((120 + ROUNDS * n_backends * (DURATION + WARMUP + 20)))
(
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$BUDGET" &
    sleeper=$!
    wait "$sleeper" && echo "e2e: over the time budget of ${BUDGET}s, stopping" >&2 && kill -TERM $$
) &
WATCHDOG=$!

# ---------------------------------------------------------------------------------------
P_NGX_TOKIO=$((BASE_PORT + 0)) P_NGX_UWSGI=$((BASE_PORT + 1))
P_NGX_HYPER=$((BASE_PORT + 2)) P_NGX_HYPER_CLOSE=$((BASE_PORT + 3)) P_NGX_TUNED=$((BASE_PORT + 4))
P_TOKIO=$((BASE_PORT + 10)) P_UWSGI=$((BASE_PORT + 11)) P_HYPER=$((BASE_PORT + 12))
P_TUNED=$((BASE_PORT + 13))
P_NGX_AXUM=$((BASE_PORT + 5)) P_NGX_GUNICORN=$((BASE_PORT + 6))
P_AXUM=$((BASE_PORT + 14)) P_GUNICORN=$((BASE_PORT + 15))
P_GATEWAY=$((BASE_PORT + 7)) P_FLOOR=$((BASE_PORT + 18))
P_NGX_WSGI=$((BASE_PORT + 8)) P_NGX_UWSGI_PY=$((BASE_PORT + 9))
P_WSGI=$((BASE_PORT + 16)) P_UWSGI_PY=$((BASE_PORT + 17))
NGX_PORTS="$P_NGX_TOKIO $P_NGX_UWSGI $P_NGX_HYPER $P_NGX_HYPER_CLOSE $P_NGX_TUNED $P_NGX_AXUM $P_NGX_GUNICORN $P_NGX_WSGI $P_NGX_UWSGI_PY"
for p in $NGX_PORTS $P_TOKIO $P_UWSGI $P_HYPER $P_TUNED $P_AXUM $P_GUNICORN $P_GATEWAY $P_FLOOR $P_WSGI $P_UWSGI_PY; do
    [ -z "$(ss -Hltn "sport = :$p")" ] || die "port $p is in use (set BASE_PORT)"
done
# The static-file rows: nginx's alias and the gateway's --static, the same two files.
P_NGX_STATIC=$((BASE_PORT + 20)) P_GW_STATIC=$((BASE_PORT + 21))
if wants_static; then
    for p in $P_NGX_STATIC $P_GW_STATIC; do
        [ -z "$(ss -Hltn "sport = :$p")" ] || die "port $p is in use (set BASE_PORT)"
    done
    NGX_PORTS+=" $P_NGX_STATIC"
fi

listening() { [ -n "$(ss -Hltn "sport = :$1")" ]; }
wait_port() { # PORT NAME PID
    for _ in $(seq 100); do
        listening "$1" && return 0
        kill -0 "$3" 2>/dev/null || die "$2 exited at start (log: $TMP/$2.log): $(tail -5 "$TMP/$2.log")"
        sleep 0.1
    done
    die "$2 not listening on $1 after 10 s"
}
start() { # NAME CMD... (output to $TMP/NAME.log; pid in PID_NAME)
    local name=$1
    shift
    "$@" >"$TMP/$name.log" 2>&1 &
    PIDS+=($!)
    LAST_PID=$!
    printf -v "PID_${name//-/_}" '%s' "$!"
}
# CPU time (user + system, in clock ticks) of a process and its children (uWSGI's and
# nginx's workers; threads are counted in their process); 0 for no process (the static
# rows' backend).
cpu_ticks() {
    [ -n "$1" ] || { echo 0; return; }
    local total=0 p
    for p in $1 $(ps -o pid= --ppid "$1"); do
        total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)

# The fixed response, as one argument for uWSGI's `send` action (raw bytes, no
# ${...} translation; written with one write(2)). `break:` then ends the request.
RESPONSE=$'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!'

if [ "$WORKERS" = 1 ]; then
    RUNTIME=(--current-thread) TUNED=(--current-thread)
else
    # One listener per shard (SO_REUSEPORT), each in its own current-thread runtime: the
    # inline accept loop is one task, which a multi-thread runtime cannot spread.
    RUNTIME=(--threads "$WORKERS") TUNED=(--shards "$WORKERS")
fi
say "backends: $WORKERS uWSGI process(es) / tokio and hyper runtime thread(s)"
start tokio "$BIN/bench_server" "127.0.0.1:$P_TOKIO" "${RUNTIME[@]}"
wait_port "$P_TOKIO" tokio "$LAST_PID"
start tokio-tuned "$BIN/bench_server" "127.0.0.1:$P_TUNED" "${TUNED[@]}" --inline --defer-accept
wait_port "$P_TUNED" tokio-tuned "$LAST_PID"
# --die-on-term: SIGTERM stops uWSGI (by default it reloads). --disable-logging: no
# request log line (nginx's access_log is off too). No language plugin is loaded: the
# routing runs in the core before any plugin would. --listen 128: tokio's backlog.
# uWSGI sets TCP_DEFER_ACCEPT on its socket by default (--no-defer-accept to undo).
start uwsgi uwsgi --socket "127.0.0.1:$P_UWSGI" --master --processes "$WORKERS" \
    --disable-logging --die-on-term --listen 128 \
    --route-run "send:$RESPONSE" --route-run "break:"
wait_port "$P_UWSGI" uwsgi "$LAST_PID"
start hyper "$BIN/hyper_backend" "127.0.0.1:$P_HYPER" "${RUNTIME[@]}"
wait_port "$P_HYPER" hyper "$LAST_PID"
if wants axum; then
    # One thread: the example runs serve on a current-thread runtime. RUST_LOG: the
    # example's default, pinned.
    [ "$WORKERS" = 1 ] || say "axum: one thread (a current-thread runtime), not WORKERS=$WORKERS"
    start axum env RUST_LOG=info "$BIN/axum" "127.0.0.1:$P_AXUM"
    wait_port "$P_AXUM" axum "$LAST_PID"
fi
if wants gunicorn; then
    # One arbiter and WORKERS sync workers (one request at a time each, a connection per
    # request). No access log (the default), no control socket (it would go to
    # ~/.gunicorn), no .pyc written into benches/e2e; --graceful-timeout 3 so SIGTERM
    # ends it within the trap's 5 s. --backlog 128: uWSGI's and tokio's.
    start gunicorn env PYTHONDONTWRITEBYTECODE=1 "$GUNICORN_VENV/bin/gunicorn" \
        --protocol uwsgi --bind "127.0.0.1:$P_GUNICORN" --workers "$WORKERS" --worker-class sync \
        --backlog 128 --no-control-socket --graceful-timeout 3 --worker-tmp-dir "$TMP" \
        --chdir "$ROOT/benches/e2e" gunicorn_app:application
    wait_port "$P_GUNICORN" gunicorn "$LAST_PID"
fi
# The two uwsgi WSGI hosts, started alike: a master and WORKERS worker processes of one
# thread each, the venv as --home, the app imported from benches/e2e, SIGTERM ends them.
# uWSGI: no request log line (this host writes none), --listen 128 as above.
if wants wsgi; then
    start wsgi env PYTHONDONTWRITEBYTECODE=1 RUST_LOG=warn "$CARGO_TARGET_DIR/release/uwsgi-wire-wsgi" \
        --socket "127.0.0.1:$P_WSGI" --master --processes "$WORKERS" --home "$GUNICORN_VENV" \
        --chdir "$ROOT/benches/e2e" --module gunicorn_app:application
    wait_port "$P_WSGI" wsgi "$LAST_PID"
fi
if wants uwsgi-python; then
    start uwsgi-python env PYTHONDONTWRITEBYTECODE=1 uwsgi --plugin python3 \
        --socket "127.0.0.1:$P_UWSGI_PY" --master --processes "$WORKERS" --home "$GUNICORN_VENV" \
        --disable-logging --die-on-term --listen 128 \
        --chdir "$ROOT/benches/e2e" --module gunicorn_app:application
    wait_port "$P_UWSGI_PY" uwsgi-python "$LAST_PID"
fi

# ---------------------------------------------------------------------------------------
# The static files (a text of repeated lines, text/plain for both by its extension) and
# nginx's server for them: the guide's `location /static/ { alias ...; }`.
static_server=""
if wants_static; then
    mkdir -p "$TMP/static"
    for size in 1024:1k 1048576:1m; do
        awk -v n="${size%:*}" 'BEGIN {
            line = "uwsgi-wire e2e static file, one line of 64 bytes repeated.......\n"
            for (s = ""; length(s) < n; ) s = s line
            printf "%s", substr(s, 1, n) }' >"$TMP/static/file-${size#*:}.txt"
    done
    static_server="server { listen 127.0.0.1:$P_NGX_STATIC; sendfile on; tcp_nopush on; location /static/ { alias $TMP/static/; } }"
fi
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root root;"
# Idle upstream connections nginx may keep: above wrk's connection count, or proxying
# would reconnect for the requests beyond it.
KEEPALIVE=$((CONNS * 2 > 64 ? CONNS * 2 : 64))
cat >"$TMP/nginx.conf" <<EOF
# Generated by benches/e2e/run.sh
$user_line
worker_processes $WORKERS;
daemon off;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    # wrk's connections stay open for the whole run (nginx's default closes every 1000).
    keepalive_requests 10000000;
    client_body_temp_path $TMP/client_body_temp;
    proxy_temp_path $TMP/proxy_temp;
    fastcgi_temp_path $TMP/fastcgi_temp;
    uwsgi_temp_path $TMP/uwsgi_temp;
    scgi_temp_path $TMP/scgi_temp;
$static_server

    # 'keepalive' is accepted here but has no effect: nginx's uwsgi module never marks
    # an upstream connection reusable (u->keepalive is never set), so every request
    # opens and closes a connection. Kept to show it was tried; see README.md.
    upstream tokio_backend { server 127.0.0.1:$P_TOKIO; keepalive $KEEPALIVE; }
    upstream tuned_backend { server 127.0.0.1:$P_TUNED; keepalive $KEEPALIVE; }
    upstream uwsgi_backend { server 127.0.0.1:$P_UWSGI; keepalive $KEEPALIVE; }
    # More idle connections kept than wrk has connections: proxying never reconnects.
    upstream hyper_backend {
        server 127.0.0.1:$P_HYPER;
        keepalive $KEEPALIVE;
        keepalive_requests 10000000;
    }
    upstream hyper_close_backend { server 127.0.0.1:$P_HYPER; }
    upstream axum_backend { server 127.0.0.1:$P_AXUM; keepalive $KEEPALIVE; }
    upstream gunicorn_backend { server 127.0.0.1:$P_GUNICORN; keepalive $KEEPALIVE; }
    upstream wsgi_backend { server 127.0.0.1:$P_WSGI; keepalive $KEEPALIVE; }
    upstream uwsgi_py_backend { server 127.0.0.1:$P_UWSGI_PY; keepalive $KEEPALIVE; }

    server {
        listen 127.0.0.1:$P_NGX_TOKIO;
        location / { include /etc/nginx/uwsgi_params; uwsgi_pass tokio_backend; }
    }
    server {
        listen 127.0.0.1:$P_NGX_TUNED;
        location / { include /etc/nginx/uwsgi_params; uwsgi_pass tuned_backend; }
    }
    server {
        listen 127.0.0.1:$P_NGX_UWSGI;
        location / { include /etc/nginx/uwsgi_params; uwsgi_pass uwsgi_backend; }
    }
    server {
        listen 127.0.0.1:$P_NGX_HYPER;
        location / {
            proxy_pass http://hyper_backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    server {
        listen 127.0.0.1:$P_NGX_HYPER_CLOSE;
        location / { proxy_pass http://hyper_close_backend; }
    }
    server {
        listen 127.0.0.1:$P_NGX_AXUM;
        location / { include /etc/nginx/uwsgi_params; uwsgi_pass axum_backend; }
    }
    server {
        listen 127.0.0.1:$P_NGX_GUNICORN;
        location / { include /etc/nginx/uwsgi_params; uwsgi_pass gunicorn_backend; }
    }
    server {
        listen 127.0.0.1:$P_NGX_WSGI;
        location / { include /etc/nginx/uwsgi_params; uwsgi_pass wsgi_backend; }
    }
    server {
        listen 127.0.0.1:$P_NGX_UWSGI_PY;
        location / { include /etc/nginx/uwsgi_params; uwsgi_pass uwsgi_py_backend; }
    }
}
EOF
say "nginx $(nginx -v 2>&1 | sed 's/.*\///'), 1 worker"
nginx -t -q -c "$TMP/nginx.conf" -p "$TMP/" 2>"$TMP/nginx-t.log" || die "nginx -t: $(cat "$TMP/nginx-t.log")"
start nginx nginx -c "$TMP/nginx.conf" -p "$TMP/"
for p in $NGX_PORTS; do wait_port "$p" nginx "$LAST_PID"; done
if wants gateway; then
    # In front of the same uWSGI, with as many worker threads as the backends have
    # workers; RUST_LOG: its default, pinned.
    start gateway env RUST_LOG=warn "$CARGO_TARGET_DIR/release/uwsgi-wire" gateway \
        "127.0.0.1:$P_GATEWAY" "127.0.0.1:$P_UWSGI" --workers "$WORKERS"
    wait_port "$P_GATEWAY" gateway "$LAST_PID"
fi
if wants floor; then
    # The floor of a hyper/tokio front end (examples/bench_front.rs), one thread.
    start floor "$BIN/bench_front" "127.0.0.1:$P_FLOOR" proxy "127.0.0.1:$P_UWSGI"
    wait_port "$P_FLOOR" floor "$LAST_PID"
fi
if wants gw-static-1k || wants gw-static-1m; then
    start gateway-static env RUST_LOG=warn "$CARGO_TARGET_DIR/release/uwsgi-wire" gateway \
        "127.0.0.1:$P_GW_STATIC" --static "/static/=$TMP/static/" --workers "$WORKERS"
    wait_port "$P_GW_STATIC" gateway-static "$LAST_PID"
fi

ngx_port() {
    case $1 in
    tokio) echo "$P_NGX_TOKIO" ;; tokio-tuned) echo "$P_NGX_TUNED" ;; uwsgi) echo "$P_NGX_UWSGI" ;;
    hyper) echo "$P_NGX_HYPER" ;; hyper-close) echo "$P_NGX_HYPER_CLOSE" ;;
    axum) echo "$P_NGX_AXUM" ;; gunicorn) echo "$P_NGX_GUNICORN" ;; gateway) echo "$P_GATEWAY" ;;
    floor) echo "$P_FLOOR" ;; wsgi) echo "$P_NGX_WSGI" ;; uwsgi-python) echo "$P_NGX_UWSGI_PY" ;;
    static-1k | static-1m) echo "$P_NGX_STATIC" ;; gw-static-1k | gw-static-1m) echo "$P_GW_STATIC" ;;
    esac
}
# The front end's pid: the gateway for its row, nginx for every other.
front_pid() {
    case $1 in gateway) echo "$PID_gateway" ;; floor) echo "$PID_floor" ;; gw-static-*) echo "$PID_gateway_static" ;; *) echo "$PID_nginx" ;; esac
}
# The path requested: axum answers the 78 bytes from its /bench route (through its
# Router); every other backend answers them for any path.
url_path() {
    case $1 in axum) echo /bench ;; *static-1k) echo /static/file-1k.txt ;; *static-1m) echo /static/file-1m.txt ;; *) echo / ;; esac
}
backend_port() {
    case $1 in
    tokio) echo "$P_TOKIO" ;; tokio-tuned) echo "$P_TUNED" ;; uwsgi | gateway | floor) echo "$P_UWSGI" ;;
    axum) echo "$P_AXUM" ;; gunicorn) echo "$P_GUNICORN" ;;
    wsgi) echo "$P_WSGI" ;; uwsgi-python) echo "$P_UWSGI_PY" ;;
    *) echo "$P_HYPER" ;;
    esac
}
backend_pid() {
    case $1 in
    tokio) echo "$PID_tokio" ;; tokio-tuned) echo "$PID_tokio_tuned" ;; uwsgi | gateway | floor) echo "$PID_uwsgi" ;;
    axum) echo "$PID_axum" ;; gunicorn) echo "$PID_gunicorn" ;;
    wsgi) echo "$PID_wsgi" ;; uwsgi-python) echo "$PID_uwsgi_python" ;; *static-*) echo "" ;;
    *) echo "$PID_hyper" ;;
    esac
}
# Every socket of a connection to backend port $1, open or in TIME-WAIT on either side
# (whichever end closed first holds the TIME-WAIT), as "COOKIE CLIENT_PORT": the kernel's
# socket cookie tells a new connection from an old one on a reused port.
upstream_sockets() {
    ss -Htane state all "( sport = :$1 or dport = :$1 )" | awk -v p="$1" '
        $1 != "LISTEN" {
            n = split($4, l, ":"); m = split($5, r, ":"); sk = ""
            for (i = 6; i <= NF; i++) if ($i ~ /^sk:/) sk = $i
            print sk, (l[n] == p ? r[m] : l[n])
        }' | sort -u
}

# ---------------------------------------------------------------------------------------
say "what each backend answers (curl -i through nginx, or the gateway; Date differs per request)"
for b in $BACKENDS; do
    port=$(ngx_port "$b")
    url="http://127.0.0.1:$port$(url_path "$b")"
    if is_static "$b"; then
        # The file, byte for byte, and the head beside it.
        curl -sS -D "$TMP/curl-$b.head" -o "$TMP/curl-$b.body" --max-time 5 "$url" || die "curl to $b failed"
        head -1 "$TMP/curl-$b.head" | grep -q '^HTTP/1.1 200 OK' || die "$b: not a 200: $(head -1 "$TMP/curl-$b.head")"
        cmp -s "$TMP/curl-$b.body" "$TMP/static/file-${b##*static-}.txt" || die "$b: not the file's bytes"
        printf -- '--- %s (:%s%s, %s bytes, the file)\n' "$b" "$port" "$(url_path "$b")" "$(wc -c <"$TMP/curl-$b.body")" >&2
        sed 's/\r$/\\r/' "$TMP/curl-$b.head" >&2
        continue
    fi
    curl -sS -i --max-time 5 "$url" >"$TMP/curl-$b.txt" || die "curl through nginx to $b failed"
    head -1 "$TMP/curl-$b.txt" | grep -q '^HTTP/1.1 200 OK' || die "$b: not a 200: $(head -1 "$TMP/curl-$b.txt")"
    [ "$(tail -c 13 "$TMP/curl-$b.txt")" = "Hello, world!" ] || die "$b: body is not 'Hello, world!'"
    printf -- '--- %s (nginx :%s%s)\n' "$b" "$port" "$(url_path "$b")" >&2
    sed 's/\r$/\\r/' "$TMP/curl-$b.txt" >&2
    printf '\n' >&2
    # Does nginx reuse upstream connections? 20 requests, then count the backend's sockets.
    bport=$(backend_port "$b")
    upstream_sockets "$bport" >"$TMP/sockets-before"
    for _ in $(seq 20); do curl -s -o /dev/null --max-time 5 "$url"; done
    upstream_sockets "$bport" >"$TMP/sockets-after"
    # New sockets, counted once per client port (an open connection has two sockets).
    new_conns=$(comm -13 "$TMP/sockets-before" "$TMP/sockets-after" | awk '{ print $2 }' | sort -u | wc -l)
    echo "$b: 20 requests through nginx opened $new_conns new upstream connection(s)" | tee -a "$TMP/reuse.txt" >&2
done
if command -v python3 >/dev/null; then
    say "the raw bytes each backend writes (straight to the backend, no nginx)"
    # NAME PORT PATH for each backend reached with uwsgi, "hyper" for the HTTP one.
    targets=(tokio "$P_TOKIO" / tokio-tuned "$P_TUNED" / uwsgi "$P_UWSGI" / hyper "$P_HYPER" /)
    wants axum && targets+=(axum "$P_AXUM" /bench)
    wants gunicorn && targets+=(gunicorn "$P_GUNICORN" /)
    wants wsgi && targets+=(wsgi "$P_WSGI" /)
    wants uwsgi-python && targets+=(uwsgi-python "$P_UWSGI_PY" /)
    python3 - "${targets[@]}" >"$TMP/raw-bytes.txt" <<'PY'
import socket, struct, sys
def uwsgi_get(path):
    # What nginx's uwsgi_params send for `GET PATH`, in the same order.
    pairs = [("QUERY_STRING", ""), ("REQUEST_METHOD", "GET"), ("CONTENT_TYPE", ""),
             ("CONTENT_LENGTH", ""), ("REQUEST_URI", path), ("PATH_INFO", path),
             ("DOCUMENT_ROOT", "/etc/nginx/html"), ("SERVER_PROTOCOL", "HTTP/1.1"),
             ("REQUEST_SCHEME", "http"), ("REMOTE_ADDR", "127.0.0.1"),
             ("REMOTE_PORT", "40000"), ("SERVER_PORT", "80"), ("SERVER_NAME", ""),
             ("HTTP_HOST", "127.0.0.1")]
    block = b"".join(struct.pack("<H", len(k)) + k.encode() + struct.pack("<H", len(v)) + v.encode()
                     for k, v in pairs)
    return struct.pack("<BHB", 0, len(block), 0) + block
def fetch(port, request):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(request)
    out = b""
    while not (b"\r\n\r\n" in out and len(out.split(b"\r\n\r\n", 1)[1]) >= 13):
        data = s.recv(65536)
        if not data:
            break
        out += data
    s.close()
    return out
args = sys.argv[1:]
for name, port, path in zip(args[0::3], args[1::3], args[2::3]):
    if name == "hyper":
        req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    else:
        req = uwsgi_get(path)
    data = fetch(int(port), req)
    print(f"{name:11} {len(data)} bytes {data!r}")
PY
    cat "$TMP/raw-bytes.txt" >&2
fi

# ---------------------------------------------------------------------------------------
to_ms() { # a wrk duration (850.00us, 1.23ms, 1.02s, 1.50m) in milliseconds
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
        else printf "nan" }'
}

# The row the uWSGI ratios are over: uWSGI's C routing, or without it the python3 plugin
# (the reference of the wsgi row).
if wants uwsgi; then REF=uwsgi; else REF=uwsgi-python; fi
RESULTS=$TMP/results.tsv
: >"$RESULTS"
say "load: wrk -t1 -c$CONNS -d${DURATION}s --latency, after ${WARMUP}s of warm-up each; $ROUNDS round(s)"
for round in $(seq "$ROUNDS"); do
    for b in $BACKENDS; do
        url="http://127.0.0.1:$(ngx_port "$b")$(url_path "$b")"
        run timeout $((WARMUP + 20)) wrk -t1 -c"$CONNS" -d"${WARMUP}s" "$url" >/dev/null ||
            die "wrk warm-up against $b failed"
        load=$(cut -d' ' -f1 /proc/loadavg)
        log=$TMP/wrk-$b-$round.txt
        bpid=$(backend_pid "$b")
        fpid=$(front_pid "$b")
        b0=$(cpu_ticks "$bpid") n0=$(cpu_ticks "$fpid")
        run timeout $((DURATION + 30)) wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$url" >"$log" ||
            die "wrk against $b failed: $(cat "$log")"
        b1=$(cpu_ticks "$bpid") n1=$(cpu_ticks "$fpid")
        rps=$(awk '/^Requests\/sec:/ { print $2 }' "$log")
        p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$log")")
        p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$log")")
        non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$log")
        sockerr=$(awk '/Socket errors:/ { for (i = 3; i <= NF; i++) n += $i; print n }' "$log")
        errors=$((${non2xx:-0} + ${sockerr:-0}))
        [ -n "$rps" ] || die "no Requests/sec in the wrk output for $b: $(cat "$log")"
        requests=$(awk '/ requests in / { print $1 }' "$log")
        # CPU microseconds per request, of the backend and of nginx, over the measured run.
        bcpu=$(awk -v t=$((b1 - b0)) -v hz="$CLK_TCK" -v n="$requests" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
        ncpu=$(awk -v t=$((n1 - n0)) -v hz="$CLK_TCK" -v n="$requests" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$b" "$rps" "$p99" "$p50" "$errors" "$load" "$bcpu" "$ncpu" >>"$RESULTS"
        printf '    round %s %-12s %10s req/s  p50 %7s ms  p99 %7s ms  CPU/req backend %5s us front %5s us  errors %s  (load before: %s)\n' \
            "$round" "$b" "$rps" "$p50" "$p99" "$bcpu" "$ncpu" "$errors" "$load" >&2
    done
done

# ---------------------------------------------------------------------------------------
# The table: per backend, the median over the rounds of requests/s and p99, and of the
# ratios to uWSGI and to hyper measured in the same round.
echo
echo "e2e: $(nproc) CPUs, $(uname -r), nginx $(nginx -v 2>&1 | sed 's/.*\///') ($WORKERS worker(s)), uWSGI $(uwsgi --version), $WORKERS uWSGI process(es) / tokio and hyper runtime thread(s)"
extra=""
wants axum && extra+="axum $(awk '/^name = "axum"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock) on tokio $(awk '/^name = "tokio"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock) (current-thread runtime); "
{ wants gw-static-1k || wants gw-static-1m; } && ! wants gateway && extra+="uwsgi-wire gateway --static (--workers $WORKERS); "
wants gateway && extra+="uwsgi-wire gateway (hyper $(awk '/^name = "hyper"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock), --workers $WORKERS); "
wants wsgi && extra+="uwsgi-wire-wsgi ($WORKERS worker process(es), 1 thread each); "
wants uwsgi-python && extra+="uWSGI python3 plugin ($WORKERS worker process(es)); "
wants gunicorn && extra+="gunicorn $GUNICORN_VERSION ($("$GUNICORN_VENV/bin/python" --version), $WORKERS sync worker(s)); "
[ -n "$extra" ] && echo "${extra%; }"
echo "wrk -t1 -c$CONNS -d${DURATION}s --latency, warm-up ${WARMUP}s, $ROUNDS round(s); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
awk -F'\t' -v order="$BACKENDS" -v ref="$REF" '
    function median(list,    n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { rps[$1, $2] = $3; p99[$1, $2] = $4; err[$2] += $6; bcpu[$1, $2] = $8; ncpu[$1, $2] = $9; rounds[$1] = 1 }
    END {
        nb = split(order, names, " ")
        label["tokio"] = "tokio (uwsgi-wire), uwsgi_pass"
        label["tokio-tuned"] = "tokio tuned, uwsgi_pass"
        label["uwsgi"] = "uWSGI (C routing), uwsgi_pass"
        label["hyper"] = "hyper, proxy_pass keepalive"
        label["hyper-close"] = "hyper, proxy_pass no keepalive"
        label["axum"] = "axum (uwsgi-wire server), uwsgi_pass"
        label["gunicorn"] = "gunicorn 27 (sync), uwsgi_pass"
        label["gateway"] = "uWSGI behind uwsgi-wire gateway"
        label["floor"] = "uWSGI behind bench_front (floor)"
        label["wsgi"] = "uwsgi-wire-wsgi (Python), uwsgi_pass"
        label["uwsgi-python"] = "uWSGI python3 plugin, uwsgi_pass"
        printf "| %-36s | %10s | %8s | %9s | %9s | %9s | %9s | %11s | %9s | %11s | %11s | %6s |\n", "backend", "requests/s", "p99 ms", "rps/uWSGI", "rps/hyper", "p99/uWSGI", "p99/hyper", "backend CPU", "CPU/uWSGI", "front CPU", "front/nginx", "errors"
        printf "|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", "--------------------------------------", "-----------:", "---------:", "----------:", "----------:", "----------:", "----------:", "------------:", "----------:", "------------:", "------------:", "-------:"
        for (i = 1; i <= nb; i++) {
            b = names[i]; lr = lp = ru = rh = pu = ph = lb = ln = cu = fu = ""
        if (b ~ /static-/) continue # their own table, below
            for (r in rounds) {
                lr = lr " " rps[r, b]; lp = lp " " p99[r, b]; lb = lb " " bcpu[r, b]; ln = ln " " ncpu[r, b]
                if ((r, ref) in rps) {
                    ru = ru " " rps[r, b] / rps[r, ref]; pu = pu " " p99[r, b] / p99[r, ref]
                    if (bcpu[r, ref] > 0) cu = cu " " bcpu[r, b] / bcpu[r, ref]
                    if (ncpu[r, ref] > 0) fu = fu " " ncpu[r, b] / ncpu[r, ref]
                }
                if ((r, "hyper") in rps) { rh = rh " " rps[r, b] / rps[r, "hyper"]; ph = ph " " p99[r, b] / p99[r, "hyper"] }
            }
            printf "| %-36s | %10.0f | %8.2f | %9s | %9s | %9s | %9s | %8.1f us | %9s | %8.1f us | %11s | %6d |\n", label[b], median(lr), median(lp),
                ru == "" ? "-" : sprintf("%.2fx", median(ru)), rh == "" ? "-" : sprintf("%.2fx", median(rh)),
                pu == "" ? "-" : sprintf("%.2fx", median(pu)), ph == "" ? "-" : sprintf("%.2fx", median(ph)),
                median(lb), cu == "" ? "-" : sprintf("%.2fx", median(cu)), median(ln),
                fu == "" ? "-" : sprintf("%.2fx", median(fu)), err[b]
        }
    }' "$RESULTS"
if wants_static; then
    # Static files: the gateway's row against nginx's for the same file, same round.
    echo
    awk -F'\t' -v order="$BACKENDS" '
        function median(list,    n, a, i, j, t) {
            n = split(list, a, " ")
            for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        { rps[$1, $2] = $3; p99[$1, $2] = $4; err[$2] += $6; ncpu[$1, $2] = $9; rounds[$1] = 1 }
        END {
            nb = split(order, names, " ")
            label["static-1k"] = "1 KiB file, nginx alias"; label["static-1m"] = "1 MiB file, nginx alias"
            label["gw-static-1k"] = "1 KiB file, gateway --static"; label["gw-static-1m"] = "1 MiB file, gateway --static"
            printf "| %-30s | %10s | %8s | %9s | %11s | %11s | %6s |\n", "static file", "requests/s", "p99 ms", "rps/nginx", "front CPU", "CPU/nginx", "errors"
            printf "|%s|%s|%s|%s|%s|%s|%s|\n", "--------------------------------", "-----------:", "---------:", "----------:", "------------:", "------------:", "-------:"
            for (i = 1; i <= nb; i++) {
                b = names[i]
                if (b !~ /static-/) continue
                ref = b; sub(/^gw-/, "", ref)
                lr = lp = ln = rr = rc = ""
                for (r in rounds) {
                    lr = lr " " rps[r, b]; lp = lp " " p99[r, b]; ln = ln " " ncpu[r, b]
                    if (b != ref && (r, ref) in rps) {
                        rr = rr " " rps[r, b] / rps[r, ref]
                        if (ncpu[r, ref] > 0) rc = rc " " ncpu[r, b] / ncpu[r, ref]
                    }
                }
                printf "| %-30s | %10.0f | %8.2f | %9s | %8.1f us | %11s | %6d |\n", label[b], median(lr), median(lp),
                    rr == "" ? "-" : sprintf("%.2fx", median(rr)), median(ln), rc == "" ? "-" : sprintf("%.2fx", median(rc)), err[b]
            }
        }' "$RESULTS"
    echo "rps/nginx, CPU/nginx: the gateway's over nginx's for the same file in the same round; front CPU: the server's user + system CPU per request (nginx master + worker, or the gateway)."
fi
echo
[ "$REF" = uwsgi ] || echo "uWSGI in the ratios: the uwsgi-python row (uWSGI's python3 plugin serving the same app)."
echo "rps/X: requests/s over X's in the same round (above 1 is faster); p99/X: p99 over X's (below 1 is better)."
echo "CPU: user + system CPU time per request of the backend's processes and of the front end (nginx master + worker; the gateway for its row) during the measured run; CPU/uWSGI: the backend's over uWSGI's, same round; front/nginx: the front end's over nginx's in the uwsgi row, same round (below 1 is cheaper)."
[ "$ROUNDS" -gt 1 ] && echo "Each figure is the median over the $ROUNDS rounds (ratios: median of the per-round ratios)."
awk -F'\t' '{ e += $6 } END { exit e > 0 }' "$RESULTS" || echo "WARNING: some requests failed (errors column): those figures are not valid." >&2
exit 0
