#!/usr/bin/env bash
# The profile behind benches/e2e/README.md ("Why the plain tokio server is slower than
# uWSGI"): examples/bench_server.rs in several configurations, each behind the same
# nginx (uwsgi_pass) as run.sh, alternating with a uWSGI reference; for each, the CPU
# time per request (user + system, from /proc) over ROUNDS runs of SECONDS, then the
# system calls and context switches per request (perf tracepoints, one 3 s run each).
#
# usage: benches/e2e/variants.sh [SECONDS]   (default 6; ROUNDS=3; BASE_PORT=28400)
# Needs what run.sh installs (nginx, wrk, uwsgi-core), plus `perf` (Debian linux-perf)
# for the system-call counts, which are skipped without it. Run it as root (perf).
set -euo pipefail

DURATION=${1:-6}
ROUNDS=${ROUNDS:-3}
BASE_PORT=${BASE_PORT:-28400}
VARIANTS=(
    "plain|--current-thread"
    "nodelay|--current-thread --nodelay"
    "vars-only|--current-thread --vars-only"
    "defer|--current-thread --defer-accept"
    "inline|--current-thread --inline"
    "inline+defer|--current-thread --inline --defer-accept"
    "inline+defer+vars-only|--current-thread --inline --defer-accept --vars-only"
    "multi-thread-2|--threads 2"
    "multi-thread-2+defer|--threads 2 --defer-accept"
    "shards-2+inline+defer|--shards 2 --inline --defer-accept"
)

die() { echo "variants: $*" >&2; exit 1; }
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a positive integer"
for tool in nginx wrk uwsgi ss; do command -v "$tool" >/dev/null || die "$tool missing: run benches/e2e/run.sh once (it installs it)"; done

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
timeout 1800 cargo build -q --release --features tokio,http --example bench_server >&2
BIN=$CARGO_TARGET_DIR/release/examples

TMP=$(mktemp -d /tmp/uwsgi-wire-variants.XXXXXX)
PIDS=()
cleanup() {
    local status=$?
    set +e
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

n=${#VARIANTS[@]}
for i in $(seq 0 "$n"); do
    for p in $((BASE_PORT + i)) $((BASE_PORT + 100 + i)); do
        [ -z "$(ss -Hltn "sport = :$p")" ] || die "port $p is in use (set BASE_PORT)"
    done
done
listening() { [ -n "$(ss -Hltn "sport = :$1")" ]; }
wait_port() { for _ in $(seq 100); do listening "$1" && return 0; sleep 0.1; done; die "nothing on port $1"; }

# Backends on BASE_PORT+100+i, nginx on BASE_PORT+i; uWSGI is the last one (i = n).
servers=""
BPIDS=()
for i in $(seq 0 $((n - 1))); do
    # shellcheck disable=SC2086 # the variant's options
    "$BIN/bench_server" "127.0.0.1:$((BASE_PORT + 100 + i))" ${VARIANTS[$i]#*|} >"$TMP/b$i.log" 2>&1 &
    PIDS+=($!) BPIDS+=($!)
    servers+="server { listen 127.0.0.1:$((BASE_PORT + i)); location / { include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:$((BASE_PORT + 100 + i)); } }"$'\n'
done
RESPONSE=$'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!'
uwsgi --socket "127.0.0.1:$((BASE_PORT + 100 + n))" --master --processes 1 --disable-logging \
    --die-on-term --listen 128 --route-run "send:$RESPONSE" --route-run "break:" >"$TMP/uwsgi.log" 2>&1 &
PIDS+=($!) BPIDS+=($!)
servers+="server { listen 127.0.0.1:$((BASE_PORT + n)); location / { include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:$((BASE_PORT + 100 + n)); } }"
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
for i in $(seq 0 "$n"); do wait_port $((BASE_PORT + 100 + i)); wait_port $((BASE_PORT + i)); done

ticks() { # user and system clock ticks of a process and its children
    local u=0 s=0 p a b
    for p in $1 $(ps -o pid= --ppid "$1"); do
        read -r a b < <(awk '{ print $14, $15 }' "/proc/$p/stat")
        u=$((u + a)) s=$((s + b))
    done
    echo "$u $s"
}
HZ=$(getconf CLK_TCK)
measure() { # NAME INDEX
    local u0 s0 u1 s1 out req port=$((BASE_PORT + $2)) pid=${BPIDS[$2]}
    read -r u0 s0 < <(ticks "$pid")
    out=$(timeout $((DURATION + 30)) wrk -t1 -c32 -d"${DURATION}s" "http://127.0.0.1:$port/")
    read -r u1 s1 < <(ticks "$pid")
    req=$(awk '/ requests in / { print $1 }' <<<"$out")
    grep -q 'Non-2xx' <<<"$out" && die "$1: failed requests: $out"
    awk -v n="$1" -v r="$req" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$HZ" \
        -v rps="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
        'BEGIN { printf "%s\t%s\t%.1f\t%.1f\t%s\n", n, rps, u * 1e6 / hz / r, s * 1e6 / hz / r, load }' | tee -a "$TMP/cpu.tsv"
}
echo -e "variant\trequests/s\tuser us/req\tsys us/req\tload"
for _ in $(seq "$ROUNDS"); do
    for i in $(seq 0 $((n - 1))); do
        measure "${VARIANTS[$i]%%|*}" "$i"
        [ $(((i + 1) % 3)) = 0 ] && measure uwsgi-1 "$n"
    done
    measure uwsgi-1 "$n"
done
echo
echo "median CPU per request over $ROUNDS rounds of ${DURATION}s (uwsgi-1: over all its runs)"
awk -F'\t' '
    function med(l,    a, k, i, j, t) { k = split(l, a, " "); for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }; return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
    !($1 in seen) { seen[$1] = 1; order[++m] = $1 }
    { u[$1] = u[$1] " " $3; s[$1] = s[$1] " " $4; t[$1] = t[$1] " " ($3 + $4) }
    END { for (i = 1; i <= m; i++) { v = order[i]; printf "%-24s %5.1f us (user %4.1f + sys %4.1f)\n", v, med(t[v]), med(u[v]), med(s[v]) } }' "$TMP/cpu.tsv"

if command -v perf >/dev/null && perf stat -e context-switches true >/dev/null 2>&1; then
    echo
    echo "system calls and context switches per request (perf stat, one 3 s run each)"
    events=context-switches
    for sc in accept4 epoll_ctl epoll_wait recvfrom read sendto write close ioctl futex; do
        events+=",syscalls:sys_enter_$sc"
    done
    for i in $(seq 0 "$n"); do
        name=uwsgi-1
        [ "$i" -lt "$n" ] && name=${VARIANTS[$i]%%|*}
        pids=$(echo "${BPIDS[$i]}" $(ps -o pid= --ppid "${BPIDS[$i]}") | tr ' ' ',')
        timeout 30 perf stat -x, -e "$events" -p "$pids" -o "$TMP/perf.txt" -- sleep 3.4 &
        perf_pid=$!
        sleep 0.2
        req=$(timeout 30 wrk -t1 -c32 -d3s "http://127.0.0.1:$((BASE_PORT + i))/" | awk '/ requests in / { print $1 }')
        wait "$perf_pid" || true
        printf '%-24s' "$name"
        awk -F, -v r="$req" '/^[0-9]/ { e = $3; sub("syscalls:sys_enter_", "", e); if ($1 > 0) printf " %s %.2f", e, $1 / r }' "$TMP/perf.txt"
        echo
    done
else
    echo "perf not available: no system-call counts" >&2
fi
