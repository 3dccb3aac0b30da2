#!/usr/bin/env bash
# The profile behind benches/e2e/RESULTS.md ("Why the axum row costs more than uWSGI"):
# examples/axum.rs (its /bench route) behind the same nginx (uwsgi_pass) as run.sh,
# next to the plain tokio server (examples/bench_server.rs --current-thread) and a uWSGI
# reference; for each, the CPU time per request (user + system, from /proc) over ROUNDS
# runs of SECONDS, interleaved, then the system calls and context switches per request
# (perf tracepoints, one 3 s run each), then (PERF_RECORD=1) a `perf record -e cpu-clock
# -g` of each under load, its top functions and its breakdown by system call and by
# component (benches/e2e/perf_breakdown.py) written to OUT.
#
# usage: benches/e2e/profile-axum.sh [SECONDS]     (default 6)
# environment:
#   ROUNDS=3  BASE_PORT=28500  OUT=DIR (keep logs, perf data and reports; default: none)
#   PERF_RECORD=1   also record a profile of every variant (needs OUT)
#   PERF_CALLGRAPH=dwarf,16384   perf record's --call-graph: dwarf unwinds through libc
#                   and Rust code built without frame pointers, and shows inlined frames
#                   when the binary has debug info (CARGO_PROFILE_RELEASE_DEBUG=1); `fp`
#                   is lighter but needs RUSTFLAGS="-C force-frame-pointers=yes"
#   PERF_FREQ=4000  samples per second
#   EXTRA="NAME|PATH|COMMAND ..."   more variants, one a line: COMMAND is run with
#                   {ADDR} replaced by its 127.0.0.1:PORT and must answer GET PATH
#                   with "Hello, world!" (used for the experiments in RESULTS.md)
# Needs what run.sh installs (nginx, wrk, uwsgi-core), plus `perf` (Debian linux-perf)
# for the system-call counts and profiles, which are skipped without it. Run as root.
set -euo pipefail

DURATION=${1:-6}
ROUNDS=${ROUNDS:-3}
BASE_PORT=${BASE_PORT:-28500}
PERF_RECORD=${PERF_RECORD:-}
PERF_CALLGRAPH=${PERF_CALLGRAPH:-dwarf,16384}
PERF_FREQ=${PERF_FREQ:-4000}

die() { echo "profile-axum: $*" >&2; exit 1; }
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a positive integer"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[ -z "$PERF_RECORD" ] || [ -n "${OUT:-}" ] || die "PERF_RECORD needs OUT=DIR"
for tool in nginx wrk uwsgi ss; do command -v "$tool" >/dev/null || die "$tool missing: run benches/e2e/run.sh once (it installs it)"; done

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
timeout 1800 cargo build -q --release --features tokio,http --example bench_server >&2
timeout 1800 cargo build -q --release --example axum --all-features >&2
BIN=$CARGO_TARGET_DIR/release/examples

RESPONSE=$'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!'
# NAME|PATH|COMMAND ({ADDR}: where it listens). uwsgi-1 is the reference, measured
# after every other variant.
VARIANTS=(
    "axum|/bench|env TOKIO_WORKER_THREADS=1 RUST_LOG=info $BIN/axum {ADDR}"
    "tokio|/|$BIN/bench_server {ADDR} --current-thread"
)
while IFS= read -r line; do
    [ -n "$line" ] && VARIANTS+=("$line")
done <<<"${EXTRA:-}"
VARIANTS+=("uwsgi-1|/|uwsgi")
n=${#VARIANTS[@]}

TMP=$(mktemp -d /tmp/uwsgi-wire-profile.XXXXXX)
PIDS=()
WATCHDOG=""
cleanup() {
    local status=$?
    set +e
    trap - EXIT INT TERM
    [ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [ -n "${OUT:-}" ]; then
        mkdir -p "$OUT" && cp -r "$TMP"/. "$OUT"/ && rm -rf "$OUT"/{cb,px,fc,uw,sc}
        echo "profile-axum: outputs kept in $OUT" >&2
    fi
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# The whole run is bounded: measurement, perf stat, perf record.
BUDGET=$((120 + (ROUNDS * 2 * n) * (DURATION + 15) + n * 40))
(
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$BUDGET" &
    sleeper=$!
    wait "$sleeper" && echo "profile-axum: over the time budget of ${BUDGET}s, stopping" >&2 && kill -TERM $$
) &
WATCHDOG=$!

for i in $(seq 0 $((n - 1))); do
    for p in $((BASE_PORT + i)) $((BASE_PORT + 100 + i)); do
        [ -z "$(ss -Hltn "sport = :$p")" ] || die "port $p is in use (set BASE_PORT)"
    done
done
listening() { [ -n "$(ss -Hltn "sport = :$1")" ]; }
wait_port() { for _ in $(seq 100); do listening "$1" && return 0; sleep 0.1; done; die "nothing on port $1 (logs: $TMP)"; }

# Backends on BASE_PORT+100+i, nginx on BASE_PORT+i.
servers=""
BPIDS=()
for i in $(seq 0 $((n - 1))); do
    IFS='|' read -r name _ cmd <<<"${VARIANTS[$i]}"
    addr=127.0.0.1:$((BASE_PORT + 100 + i))
    if [ "$cmd" = uwsgi ]; then
        uwsgi --socket "$addr" --master --processes 1 --disable-logging --die-on-term --listen 128 \
            --route-run "send:$RESPONSE" --route-run "break:" >"$TMP/$name.log" 2>&1 &
    else
        # shellcheck disable=SC2086 # the variant's command line
        ${cmd//\{ADDR\}/$addr} >"$TMP/$name.log" 2>&1 &
    fi
    PIDS+=($!) BPIDS+=($!)
    servers+="server { listen 127.0.0.1:$((BASE_PORT + i)); location / { include /etc/nginx/uwsgi_params; uwsgi_pass $addr; } }"$'\n'
done
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root root;"
cat >"$TMP/nginx.conf" <<EOF
$user_line
worker_processes 1; daemon off; pid $TMP/nginx.pid; error_log $TMP/error.log warn;
events { worker_connections 4096; }
http {
    access_log off; keepalive_requests 10000000;
    client_body_temp_path $TMP/cb; proxy_temp_path $TMP/px; fastcgi_temp_path $TMP/fc;
    uwsgi_temp_path $TMP/uw; scgi_temp_path $TMP/sc;
$servers
}
EOF
nginx -c "$TMP/nginx.conf" -p "$TMP/" >"$TMP/nginx.log" 2>&1 &
PIDS+=($!)
for i in $(seq 0 $((n - 1))); do wait_port $((BASE_PORT + 100 + i)); wait_port $((BASE_PORT + i)); done
url() { echo "http://127.0.0.1:$((BASE_PORT + $1))$(cut -d'|' -f2 <<<"${VARIANTS[$1]}")"; }
for i in $(seq 0 $((n - 1))); do
    body=$(curl -sS --max-time 5 "$(url "$i")") || die "${VARIANTS[$i]%%|*}: curl failed"
    [ "$body" = "Hello, world!" ] || die "${VARIANTS[$i]%%|*}: answered '$body'"
done

ticks() { # user and system clock ticks of a process and its children (threads included)
    local u=0 s=0 p a b
    for p in $1 $(ps -o pid= --ppid "$1"); do
        read -r a b < <(awk '{ print $14, $15 }' "/proc/$p/stat")
        u=$((u + a)) s=$((s + b))
    done
    echo "$u $s"
}
HZ=$(getconf CLK_TCK)
measure() { # INDEX
    local u0 s0 u1 s1 out req pid=${BPIDS[$1]} name=${VARIANTS[$1]%%|*}
    timeout 30 wrk -t1 -c32 -d2s "$(url "$1")" >/dev/null
    read -r u0 s0 < <(ticks "$pid")
    out=$(timeout $((DURATION + 30)) wrk -t1 -c32 -d"${DURATION}s" "$(url "$1")")
    read -r u1 s1 < <(ticks "$pid")
    req=$(awk '/ requests in / { print $1 }' <<<"$out")
    grep -q 'Non-2xx\|Socket errors' <<<"$out" && die "$name: failed requests: $out"
    awk -v n="$name" -v r="$req" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$HZ" \
        -v rps="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
        'BEGIN { printf "%s\t%s\t%.1f\t%.1f\t%s\n", n, rps, u * 1e6 / hz / r, s * 1e6 / hz / r, load }' | tee -a "$TMP/cpu.tsv"
}
echo -e "variant\trequests/s\tuser us/req\tsys us/req\tload"
for _ in $(seq "$ROUNDS"); do
    for i in $(seq 0 $((n - 2))); do
        measure "$i"
        measure $((n - 1))
    done
done
echo
echo "median CPU per request over $ROUNDS rounds of ${DURATION}s (uwsgi-1: over all its runs); median ratio to the uWSGI run right after"
awk -F'\t' '
    function med(l,    a, k, i, j, t) { k = split(l, a, " "); for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }; return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
    !($1 in seen) { seen[$1] = 1; order[++m] = $1 }
    { u[$1] = u[$1] " " $3; s[$1] = s[$1] " " $4; t[$1] = t[$1] " " ($3 + $4); rps[$1] = rps[$1] " " $2 }
    $1 == "uwsgi-1" && prev != "" { cr[prev] = cr[prev] " " (pt / ($3 + $4)); rr[prev] = rr[prev] " " (pr / $2) }
    { prev = $1 == "uwsgi-1" ? "" : $1; pt = $3 + $4; pr = $2 }
    END { for (i = 1; i <= m; i++) { v = order[i]
        printf "%-28s %6.1f us (user %5.1f + sys %5.1f)  %8.0f req/s", v, med(t[v]), med(u[v]), med(s[v]), med(rps[v])
        if (v in cr) printf "  CPU/uWSGI %.2fx  rps/uWSGI %.2fx", med(cr[v]), med(rr[v])
        printf "\n" } }' "$TMP/cpu.tsv"

if ! command -v perf >/dev/null || ! perf stat -e context-switches true >/dev/null 2>&1; then
    echo "perf not available: no system-call counts, no profile" >&2
    exit 0
fi
echo
echo "system calls and context switches per request (perf stat, one 3 s run each; every thread of the process)"
events=context-switches,cpu-migrations
for sc in accept4 epoll_ctl epoll_wait recvfrom read sendto write writev close ioctl futex setsockopt; do
    events+=",syscalls:sys_enter_$sc"
done
for i in $(seq 0 $((n - 1))); do
    pids=$(echo "${BPIDS[$i]}" $(ps -o pid= --ppid "${BPIDS[$i]}") | tr ' ' ',')
    timeout 30 perf stat -x, -e "$events" -p "$pids" -o "$TMP/perf-stat-$i.txt" -- sleep 3.4 &
    perf_pid=$!
    sleep 0.2
    req=$(timeout 30 wrk -t1 -c32 -d3s "$(url "$i")" | awk '/ requests in / { print $1 }')
    wait "$perf_pid" || true
    printf '%-28s' "${VARIANTS[$i]%%|*}"
    awk -F, -v r="$req" '/^[0-9]/ { e = $3; sub("syscalls:sys_enter_", "", e); if ($1 > 0) printf " %s %.2f", e, $1 / r }' "$TMP/perf-stat-$i.txt"
    echo
done

[ -n "$PERF_RECORD" ] || exit 0
echo
echo "profiles (perf record -e cpu-clock -F $PERF_FREQ --call-graph $PERF_CALLGRAPH, 3 s under wrk -c32): $OUT/perf-NAME.{data,txt}"
for i in $(seq 0 $((n - 1))); do
    name=${VARIANTS[$i]%%|*}
    pids=$(echo "${BPIDS[$i]}" $(ps -o pid= --ppid "${BPIDS[$i]}") | tr " " ",")
    timeout 60 perf record -q -e cpu-clock -F "$PERF_FREQ" --call-graph "$PERF_CALLGRAPH" -p "$pids" -o "$TMP/perf-$name.data" -- sleep 3.4 2>/dev/null &
    perf_pid=$!
    sleep 0.2
    req=$(timeout 30 wrk -t1 -c32 -d3s "$(url "$i")" | awk '/ requests in / { print $1 }')
    wait "$perf_pid" || true
    echo "$req requests" >"$TMP/perf-$name.txt"
    perf report -i "$TMP/perf-$name.data" --no-children --stdio --sort sym -g none --percent-limit 0.5 \
        2>/dev/null >>"$TMP/perf-$name.txt" || true
    echo "$name: $req requests recorded; top functions (self):"
    grep -E '^ +[0-9]' "$TMP/perf-$name.txt" | head -12
    if command -v python3 >/dev/null; then
        # Kernel time by system call, user time by component (benches/e2e/perf_breakdown.py).
        perf script -i "$TMP/perf-$name.data" -F comm,ip,sym 2>/dev/null |
            python3 "$ROOT/benches/e2e/perf_breakdown.py" "$req" "$PERF_FREQ" >"$TMP/breakdown-$name.txt" || true
        cat "$TMP/breakdown-$name.txt"
    fi
done
