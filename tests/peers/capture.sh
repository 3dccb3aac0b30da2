#!/usr/bin/env bash
# Capture real uwsgi packets from real peers into tests/vectors/*.bin.
#
# Peers (Debian 12 packages, must already be installed; this script installs
# nothing): nginx, apache2 (mod_proxy_uwsgi), lighttpd (mod_scgi with
# scgi.protocol = "uwsgi"), uwsgi-core (+ uwsgi-plugin-python3): the HTTP
# router, the ping/signal/RPC/cache clients, the subscription client and the uWSGI
# server itself (for the reply vectors).  curl drives the HTTP requests.
#
# Each peer runs from its own fresh `mktemp -d` folder on 127.0.0.1 with free
# high ports; tests/peers/dump_listener.py plays the uwsgi backend and writes
# the raw bytes it received.  Everything started here is stopped on exit.
#
# Usage: tests/peers/capture.sh            (run as root: nginx runs `user root`)
# Env:   OUT=dir      write the vectors somewhere else (default tests/vectors)
#        KEEP_TMP=1   keep the temp folders (configs, logs) for inspection
set -euo pipefail

START_TS=$(date +%s)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$ROOT/tests/vectors}
LISTENER=$HERE/dump_listener.py
SENDER=$HERE/send_packet.py
DESCRIBE=$HERE/describe.py
UA=uwsgi-wire-capture
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf '[capture] %s\n' "$*" >&2; }
die() { printf '[capture] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- prerequisites
need_prog() { # program debian-package
    command -v "$1" >/dev/null 2>&1 || die "missing program '$1' (Debian package: $2); install it first, this script installs nothing"
}
need_file() { # path debian-package
    [ -e "$1" ] || die "missing file '$1' (Debian package: $2); install it first, this script installs nothing"
}
need_prog python3 python3
need_prog curl curl
need_prog nginx nginx
need_prog apache2 apache2
need_prog lighttpd lighttpd
need_prog uwsgi uwsgi-core
need_prog dpkg-query dpkg
need_file /etc/nginx/uwsgi_params nginx-common
for m in mpm_event authz_core proxy proxy_uwsgi; do
    need_file "/usr/lib/apache2/modules/mod_$m.so" apache2-bin
done
for p in http ping signal rpc echo cache; do
    need_file "/usr/lib/uwsgi/plugins/${p}_plugin.so" uwsgi-core
done
need_file /usr/lib/uwsgi/plugins/python3_plugin.so uwsgi-plugin-python3
[ "$(id -u)" = 0 ] || die "run as root (nginx is configured with 'user root root;')"
[ -f "$LISTENER" ] && [ -f "$SENDER" ] || die "helpers missing next to $0"
mkdir -p "$OUT"

# ------------------------------------------------------------ process tracking
declare -A PEER_SIG=()   # pid -> signal that stops it cleanly
TMPDIRS=()
LPID=""                  # current listener

newdir() { # name -> sets NEWDIR to a fresh temp folder (no subshell: it is tracked)
    NEWDIR=$(mktemp -d "${TMPDIR:-/tmp}/uwsgi-wire-$1.XXXXXXXXXX")
    TMPDIRS+=("$NEWDIR")
}

alive() { kill -0 "$1" 2>/dev/null; }

stop_pid() { # pid signal
    local pid=$1 sig=$2 i
    if alive "$pid"; then
        kill "-$sig" "$pid" 2>/dev/null || true
        for i in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
        if alive "$pid"; then
            log "pid $pid ignored SIG$sig for 10s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
    unset "PEER_SIG[$pid]"
}

cleanup() {
    local rc=$? pid d
    set +e
    if [ -n "$LPID" ]; then stop_pid "$LPID" TERM; fi
    for pid in "${!PEER_SIG[@]}"; do stop_pid "$pid" "${PEER_SIG[$pid]}"; done
    if [ "$rc" != 0 ]; then
        log "FAILED (exit $rc); last lines of the peers' logs:"
        for d in "${TMPDIRS[@]}"; do
            for f in "$d"/*.log; do
                [ -f "$f" ] || continue
                printf -- '--- %s\n' "$f" >&2
                tail -n 15 "$f" >&2
            done
        done
    fi
    rm -f "$OUT/capture-findings.txt.tmp"
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        log "kept temp folders: ${TMPDIRS[*]}"
    else
        for d in "${TMPDIRS[@]}"; do rm -rf "$d"; done
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_peer() { # signal logfile cmd... ; sets PEER_PID
    local sig=$1 logf=$2
    shift 2
    "$@" >"$logf" 2>&1 &
    PEER_PID=$!
    PEER_SIG[$PEER_PID]=$sig
}

free_port() { # tcp|udp
    python3 - "$1" <<'EOF'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}

wait_tcp() { # port pid what
    local port=$1 pid=$2 what=$3 i
    for i in $(seq 1 100); do
        alive "$pid" || die "$what (pid $pid) died during startup"
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    die "$what did not listen on 127.0.0.1:$port within 10s"
}

wait_log() { # file regex pid what
    local i
    for i in $(seq 1 100); do
        grep -Eq "$2" "$1" 2>/dev/null && return 0
        alive "$3" || die "$4 (pid $3) died; see $1"
        sleep 0.1
    done
    die "$4: no '$2' in $1 within 10s"
}

# listen OUTFILE REPLY PORT [extra listener args]: start the dump listener
listen() {
    local out=$1 reply=$2 port=$3 ready i
    shift 3
    ready=$(mktemp -u "$SCRATCH/ready.XXXXXX")
    rm -f "$out" "$out.extra" "$out.partial"
    python3 "$LISTENER" --port "$port" --out "$out" --reply "$reply" --ready "$ready" \
        --timeout 30 "$@" 2>>"$SCRATCH/listener.log" &
    LPID=$!
    for i in $(seq 1 100); do
        [ -f "$ready" ] && return 0
        alive "$LPID" || die "listener for $out died; see $SCRATCH/listener.log"
        sleep 0.05
    done
    die "listener for $out not ready"
}

# finish OUTFILE: wait for the listener, check it captured a complete packet
finish() {
    local out=$1 rc=0
    wait "$LPID" || rc=$?
    LPID=""
    [ "$rc" = 0 ] || { tail -n 5 "$SCRATCH/listener.log" >&2; die "listener failed ($rc) for $out"; }
    [ -s "$out" ] || die "nothing captured in $out"
    if [ -e "$out.extra" ]; then
        die "peer sent bytes after the expected end of $out (kept in $out.extra)"
    fi
    log "captured $(basename "$out") ($(stat -c %s "$out") bytes)"
}

# finish_expect_nothing: the listener must NOT have received a full packet
finish_expect_nothing() {
    local rc=0
    wait "$LPID" || rc=$?
    LPID=""
    [ "$rc" != 0 ] || die "expected no packet, but the listener captured one"
}

# http METHOD-ARGS...: curl with the fixed user agent; prints "<code>" and
# stores the body in $SCRATCH/curl.body
http() {
    curl -sS --max-time 20 -A "$UA" -o "$SCRATCH/curl.body" -w '%{http_code}' "$@"
}

expect_ok() { # code what
    [ "$1" = 200 ] || die "$2: HTTP $1 (expected 200)"
    [ "$(cat "$SCRATCH/curl.body")" = ok ] || die "$2: body is not 'ok'"
}

hexof() { # file -> its bytes as hex
    python3 -c 'import sys; print(open(sys.argv[1], "rb").read().hex())' "$1"
}

datasize() { # file -> datasize from the header
    python3 -c 'import sys,struct; print(struct.unpack_from("<H", open(sys.argv[1],"rb").read(), 1)[0])' "$1"
}

# big_header_file N FILE: one "X-Big:" header line whose value has N bytes
big_header_file() {
    python3 - "$1" "$2" <<'EOF'
import sys
n = int(sys.argv[1])
pat = "abcdefghijklmnopqrstuvwxyz0123456789"
val = (pat * (n // len(pat) + 1))[:n]
open(sys.argv[2], "w").write("X-Big: " + val + "\n")
EOF
}

# rpc_hex MODIFIER2 ITEM...: hex of a modifier1 173 packet carrying an array
rpc_hex() {
    python3 - "$@" <<'EOF'
import struct, sys
items = [x.encode() for x in sys.argv[2:]]
block = b"".join(struct.pack("<H", len(i)) + i for i in items)
sys.stdout.write((bytes([173]) + struct.pack("<H", len(block)) + bytes([int(sys.argv[1])]) + block).hex())
EOF
}

FINDINGS=$OUT/capture-findings.txt
finding() { printf '%s\n' "$*" >>"$FINDINGS.tmp"; log "finding: $*"; }

newdir scratch; SCRATCH=$NEWDIR
: >"$FINDINGS.tmp"

# vars_hex MODIFIER1 MODIFIER2 KEY VALUE ...: hex of a packet carrying a vars block
vars_hex() {
    python3 - "$@" <<'EOF'
import struct, sys
kv = [x.encode() for x in sys.argv[3:]]
assert len(kv) % 2 == 0, "vars_hex: odd number of key/value arguments"
block = b"".join(struct.pack("<H", len(x)) + x for x in kv)
sys.stdout.write((bytes([int(sys.argv[1])]) + struct.pack("<H", len(block)) + bytes([int(sys.argv[2])]) + block).hex())
EOF
}

# http_get_hex PATH: a minimal modifier1 0 GET request for PATH (WSGI vars only)
http_get_hex() {
    vars_hex 0 0 REQUEST_METHOD GET REQUEST_URI "$1" PATH_INFO "$1" QUERY_STRING "" \
        SERVER_PROTOCOL HTTP/1.1 SERVER_NAME localhost SERVER_PORT 80 REMOTE_ADDR 127.0.0.1
}

# The value stored with uWSGI's own cache client (uwsgi-cache-set.bin) and read
# back from the real uWSGI cache (uwsgi-cache-get-reply.bin)
CACHE_KEY=uwsgi-wire-key
CACHE_VALUE='uwsgi-wire cache value: 0123456789abcdef'
CACHE_EXPIRES=300

# ---------------------------------------------------------------- versions
{
    echo "# versions (dpkg-query -W)"
    dpkg-query -W nginx nginx-common apache2 apache2-bin lighttpd uwsgi-core \
        uwsgi-plugin-python3 curl python3 2>/dev/null | sed 's/^/  /'
    echo "  python3 used to run the helpers: $(python3 --version 2>&1)"
} >>"$FINDINGS.tmp"

# body files used by the POST/chunked requests
printf 'chunk-one;chunk-two;chunk-three\n' >"$SCRATCH/chunked-body.txt"

# ======================================================================= nginx
capture_nginx() {
    local D P Q code i n base args=()
    newdir nginx; D=$NEWDIR
    P=$(free_port tcp)
    Q=$(free_port tcp)
    mkdir -p "$D/logs"
    cat >"$D/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
user root root;
pid $D/nginx.pid;
error_log $D/error.log info;
events { worker_connections 64; }
http {
    access_log $D/access.log;
    client_body_temp_path $D/client_body;
    proxy_temp_path $D/proxy;
    fastcgi_temp_path $D/fastcgi;
    uwsgi_temp_path $D/uwsgi;
    scgi_temp_path $D/scgi;
    # one header line of ~64 KiB must fit (nginx-large-header.bin)
    large_client_header_buffers 4 128k;
    server {
        listen 127.0.0.1:$P;
        server_name localhost;
        root /var/www/html;
        location / {
            include /etc/nginx/uwsgi_params;
            uwsgi_pass 127.0.0.1:$Q;
        }
        # nginx-modifiers.bin: request headers off so EMPTY_LAST really is
        # the last pair of the block
        location /modifiers {
            include /etc/nginx/uwsgi_params;
            uwsgi_modifier1 5;
            uwsgi_modifier2 9;
            uwsgi_param X_DUP a;
            uwsgi_param X_DUP b;
            uwsgi_param EMPTY_LAST "";
            uwsgi_pass_request_headers off;
            uwsgi_pass 127.0.0.1:$Q;
        }
        # nginx-modifiers-headers.bin: same, default uwsgi_pass_request_headers
        location /modifiers-headers {
            include /etc/nginx/uwsgi_params;
            uwsgi_modifier1 5;
            uwsgi_modifier2 9;
            uwsgi_param X_DUP a;
            uwsgi_param X_DUP b;
            uwsgi_param EMPTY_LAST "";
            uwsgi_pass 127.0.0.1:$Q;
        }
    }
}
EOF
    nginx -t -q -p "$D" -c "$D/nginx.conf" >"$D/nginx-t.log" 2>&1 || { cat "$D/nginx-t.log" >&2; die "nginx -t failed"; }
    start_peer QUIT "$D/nginx.log" env -i PATH="$CLEAN_PATH" nginx -p "$D" -c "$D/nginx.conf"
    local NPID=$PEER_PID
    wait_tcp "$P" "$NPID" nginx
    local URL=http://127.0.0.1:$P

    listen "$OUT/nginx-get.bin" http "$Q"
    code=$(http "$URL/path/x?a=1&b=2"); expect_ok "$code" nginx-get
    finish "$OUT/nginx-get.bin"

    listen "$OUT/nginx-post.bin" http "$Q"
    code=$(http -d 'hello=world' "$URL/post"); expect_ok "$code" nginx-post
    finish "$OUT/nginx-post.bin"

    # 16 default vars + 40 X-Custom-NN headers = 56 vars
    args=()
    for i in $(seq -w 1 40); do args+=(-H "X-Custom-$i: value-$i"); done
    listen "$OUT/nginx-56vars.bin" http "$Q"
    code=$(http "${args[@]}" "$URL/many"); expect_ok "$code" nginx-56vars
    finish "$OUT/nginx-56vars.bin"

    listen "$OUT/nginx-dup-headers.bin" http "$Q"
    code=$(http -H 'Cookie: a=1' -H 'X-Dup: one' -H 'Cookie: b=2' -H 'X-Dup: two' -H 'X_Under: kept' "$URL/dup")
    expect_ok "$code" nginx-dup-headers
    finish "$OUT/nginx-dup-headers.bin"

    listen "$OUT/nginx-modifiers.bin" http "$Q"
    code=$(http "$URL/modifiers"); expect_ok "$code" nginx-modifiers
    finish "$OUT/nginx-modifiers.bin"

    listen "$OUT/nginx-modifiers-headers.bin" http "$Q"
    code=$(http "$URL/modifiers-headers"); expect_ok "$code" nginx-modifiers-headers
    finish "$OUT/nginx-modifiers-headers.bin"

    listen "$OUT/nginx-chunked.bin" http "$Q"
    code=$(http -H 'Transfer-Encoding: chunked' -H 'Content-Type: text/plain' \
        --data-binary @"$SCRATCH/chunked-body.txt" "$URL/chunked")
    expect_ok "$code" nginx-chunked
    finish "$OUT/nginx-chunked.bin"

    # Largest block: probe with a 1-byte X-Big value, then grow it so that the
    # vars block is exactly 65535 bytes (REMOTE_PORT and SERVER_PORT always
    # have 5 digits here, so the probe's size carries over).
    big_header_file 1 "$SCRATCH/big.hdr"
    listen "$SCRATCH/nginx-probe.bin" http "$Q"
    code=$(http -H @"$SCRATCH/big.hdr" "$URL/large"); expect_ok "$code" nginx-probe
    finish "$SCRATCH/nginx-probe.bin"
    base=$(datasize "$SCRATCH/nginx-probe.bin")
    n=$((1 + 65535 - base))
    big_header_file "$n" "$SCRATCH/big.hdr"
    listen "$OUT/nginx-large-header.bin" http "$Q"
    code=$(http -H @"$SCRATCH/big.hdr" "$URL/large"); expect_ok "$code" nginx-large-header
    finish "$OUT/nginx-large-header.bin"
    [ "$(datasize "$OUT/nginx-large-header.bin")" = 65535 ] || die "nginx-large-header: datasize is not 65535"
    finding "nginx: X-Big value of $n bytes -> vars block of exactly 65535 bytes, sent normally (HTTP $code)"
    # one more byte: nginx must refuse before connecting to the backend
    big_header_file $((n + 1)) "$SCRATCH/big.hdr"
    : >"$SCRATCH/listener.log"
    listen "$SCRATCH/nginx-too-big.bin" http "$Q" --timeout 3
    code=$(http -H @"$SCRATCH/big.hdr" "$URL/large")
    finish_expect_nothing
    sleep 0.2
    finding "nginx: X-Big value of $((n + 1)) bytes (block 65536) -> HTTP $code, backend connection: $(grep -q 'no connection' "$SCRATCH/listener.log" && echo none || echo opened-then-closed), error_log: $(grep -o '\[[a-z]*\] .*uwsgi request is too big: [0-9]*' "$D/error.log" | sed 's/\] [0-9#]*: \*[0-9]* /] /' | tail -n 1)"
    [ "$code" = 500 ] || die "nginx too-big: expected HTTP 500, got $code"

    stop_pid "$NPID" QUIT
}

# ===================================================================== apache2
capture_apache() {
    local D P Q code n base
    newdir apache; D=$NEWDIR
    P=$(free_port tcp)
    Q=$(free_port tcp)
    cat >"$D/httpd.conf" <<EOF
ServerRoot "$D"
ServerName localhost
Listen 127.0.0.1:$P
PidFile "$D/apache2.pid"
DefaultRuntimeDir "$D"
ErrorLog "$D/error.log"
LogLevel info
User www-data
Group www-data
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_uwsgi_module /usr/lib/apache2/modules/mod_proxy_uwsgi.so
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
MinSpareThreads 1
MaxSpareThreads 8
# only needed for the 64 KiB header probe
LimitRequestFieldSize 131072
DocumentRoot "/var/www/html"
ProxyPass "/" "uwsgi://127.0.0.1:$Q/"
EOF
    env -i PATH="$CLEAN_PATH" apache2 -t -f "$D/httpd.conf" >"$D/apache-t.log" 2>&1 || { cat "$D/apache-t.log" >&2; die "apache2 -t failed"; }
    # env -i: Apache exports its own PATH as a var; keep it fixed
    start_peer TERM "$D/apache.log" env -i PATH="$CLEAN_PATH" LANG=C apache2 -f "$D/httpd.conf" -DFOREGROUND
    local APID=$PEER_PID
    wait_tcp "$P" "$APID" apache2
    local URL=http://127.0.0.1:$P

    listen "$OUT/apache-get.bin" http "$Q"
    code=$(http "$URL/path/x?a=1&b=2"); expect_ok "$code" apache-get
    finish "$OUT/apache-get.bin"

    listen "$OUT/apache-post.bin" http "$Q"
    code=$(http -d 'hello=world' "$URL/post"); expect_ok "$code" apache-post
    finish "$OUT/apache-post.bin"

    listen "$OUT/apache-dup-headers.bin" http "$Q"
    code=$(http -H 'Cookie: a=1' -H 'X-Dup: one' -H 'Cookie: b=2' -H 'X-Dup: two' -H 'X_Under: kept' "$URL/dup")
    expect_ok "$code" apache-dup-headers
    finish "$OUT/apache-dup-headers.bin"

    # mod_proxy_uwsgi refuses chunked request bodies (no vector, a finding)
    : >"$SCRATCH/listener.log"
    listen "$SCRATCH/apache-chunked.bin" http "$Q" --timeout 3
    code=$(http -H 'Transfer-Encoding: chunked' -H 'Content-Type: text/plain' \
        --data-binary @"$SCRATCH/chunked-body.txt" "$URL/chunked")
    finish_expect_nothing
    finding "apache: POST with Transfer-Encoding: chunked -> HTTP $code, backend connection: $(grep -q 'no connection' "$SCRATCH/listener.log" && echo none || echo opened), error_log: $(grep -o 'AH[0-9]*: .*chunk.*' "$D/error.log" | sed 's/127.0.0.1:[0-9]*/127.0.0.1:PORT/' | tail -n 1)"

    big_header_file 1 "$SCRATCH/big.hdr"
    listen "$SCRATCH/apache-probe.bin" http "$Q"
    code=$(http -H @"$SCRATCH/big.hdr" "$URL/large"); expect_ok "$code" apache-probe
    finish "$SCRATCH/apache-probe.bin"
    base=$(datasize "$SCRATCH/apache-probe.bin")
    n=$((1 + 65535 - base))
    big_header_file "$n" "$SCRATCH/big.hdr"
    listen "$SCRATCH/apache-65535.bin" http "$Q"
    code=$(http -H @"$SCRATCH/big.hdr" "$URL/large"); expect_ok "$code" apache-65535
    finish "$SCRATCH/apache-65535.bin"
    [ "$(datasize "$SCRATCH/apache-65535.bin")" = 65535 ] || die "apache: datasize is not 65535"
    finding "apache: block of exactly 65535 bytes is sent normally (HTTP $code)"
    big_header_file $((n + 1)) "$SCRATCH/big.hdr"
    : >"$SCRATCH/listener.log"
    listen "$SCRATCH/apache-too-big.bin" http "$Q" --timeout 3
    code=$(http -H @"$SCRATCH/big.hdr" "$URL/large")
    finish_expect_nothing
    sleep 0.2
    finding "apache: block of 65536 bytes -> HTTP $code, backend connection: $(grep -q 'no connection' "$SCRATCH/listener.log" && echo none || echo opened-then-closed-with-nothing-sent), error_log: $(grep -o 'AH10259: .*' "$D/error.log" | sed 's/127.0.0.1:[0-9]*/127.0.0.1:PORT/' | tail -n 1)"

    stop_pid "$APID" TERM
}

# ==================================================================== lighttpd
capture_lighttpd() {
    local D P Q code n base
    newdir lighttpd; D=$NEWDIR
    P=$(free_port tcp)
    Q=$(free_port tcp)
    cat >"$D/lighttpd.conf" <<EOF
server.modules = ( "mod_scgi" )
server.bind = "127.0.0.1"
server.port = $P
server.document-root = "/var/www/html"
server.errorlog = "$D/error.log"
server.pid-file = "$D/lighttpd.pid"
server.upload-dirs = ( "$D" )
# only needed for the 64 KiB header probe
server.max-request-field-size = 262144
scgi.protocol = "uwsgi"
scgi.server = ( "/" => (( "host" => "127.0.0.1", "port" => $Q, "check-local" => "disable" )) )
EOF
    lighttpd -tt -f "$D/lighttpd.conf" >"$D/lighttpd-t.log" 2>&1 || { cat "$D/lighttpd-t.log" >&2; die "lighttpd -tt failed"; }
    start_peer TERM "$D/lighttpd.log" env -i PATH="$CLEAN_PATH" lighttpd -D -f "$D/lighttpd.conf"
    local LTPID=$PEER_PID
    wait_tcp "$P" "$LTPID" lighttpd
    local URL=http://127.0.0.1:$P

    listen "$OUT/lighttpd-get.bin" http "$Q"
    code=$(http "$URL/path/x?a=1&b=2"); expect_ok "$code" lighttpd-get
    finish "$OUT/lighttpd-get.bin"

    listen "$OUT/lighttpd-post.bin" http "$Q"
    code=$(http -d 'hello=world' "$URL/post"); expect_ok "$code" lighttpd-post
    finish "$OUT/lighttpd-post.bin"

    listen "$OUT/lighttpd-dup-headers.bin" http "$Q"
    code=$(http -H 'Cookie: a=1' -H 'X-Dup: one' -H 'Cookie: b=2' -H 'X-Dup: two' -H 'X_Under: kept' "$URL/dup")
    expect_ok "$code" lighttpd-dup-headers
    finish "$OUT/lighttpd-dup-headers.bin"

    listen "$OUT/lighttpd-chunked.bin" http "$Q"
    code=$(http -H 'Transfer-Encoding: chunked' -H 'Content-Type: text/plain' \
        --data-binary @"$SCRATCH/chunked-body.txt" "$URL/chunked")
    expect_ok "$code" lighttpd-chunked
    finish "$OUT/lighttpd-chunked.bin"

    big_header_file 1 "$SCRATCH/big.hdr"
    listen "$SCRATCH/lighttpd-probe.bin" http "$Q"
    code=$(http -H @"$SCRATCH/big.hdr" "$URL/large"); expect_ok "$code" lighttpd-probe
    finish "$SCRATCH/lighttpd-probe.bin"
    base=$(datasize "$SCRATCH/lighttpd-probe.bin")
    n=$((1 + 65535 - base))
    big_header_file "$n" "$SCRATCH/big.hdr"
    listen "$SCRATCH/lighttpd-65535.bin" http "$Q"
    code=$(http -H @"$SCRATCH/big.hdr" "$URL/large"); expect_ok "$code" lighttpd-65535
    finish "$SCRATCH/lighttpd-65535.bin"
    [ "$(datasize "$SCRATCH/lighttpd-65535.bin")" = 65535 ] || die "lighttpd: datasize is not 65535"
    finding "lighttpd: block of exactly 65535 bytes is sent normally (HTTP $code)"
    big_header_file $((n + 1)) "$SCRATCH/big.hdr"
    : >"$SCRATCH/listener.log"
    listen "$SCRATCH/lighttpd-too-big.bin" http "$Q" --timeout 3
    code=$(http -H @"$SCRATCH/big.hdr" "$URL/large")
    finish_expect_nothing
    finding "lighttpd: block of 65536 bytes -> HTTP $code, backend connection: $(grep -q 'no connection' "$SCRATCH/listener.log" && echo none || echo opened-then-closed-with-nothing-sent), error_log lines: $(grep -vc 'server started' "$D/error.log" || true)"

    stop_pid "$LTPID" TERM
}

# =========================================================== uWSGI HTTP router
capture_router() {
    local D P Q code
    newdir uwsgi-router; D=$NEWDIR
    P=$(free_port tcp)
    Q=$(free_port tcp)
    start_peer INT "$D/router.log" bash -c 'cd "$1" && shift && exec "$@"' _ "$D" \
        uwsgi --plugins http --master --http "127.0.0.1:$P" --http-to "127.0.0.1:$Q"
    local RPID=$PEER_PID
    wait_tcp "$P" "$RPID" "uwsgi http router"
    local URL=http://127.0.0.1:$P

    listen "$OUT/uwsgi-router-get.bin" http "$Q"
    code=$(http "$URL/path/x?a=1&b=2"); expect_ok "$code" uwsgi-router-get
    finish "$OUT/uwsgi-router-get.bin"

    listen "$OUT/uwsgi-router-post.bin" http "$Q"
    code=$(http -d 'hello=world' "$URL/post"); expect_ok "$code" uwsgi-router-post
    finish "$OUT/uwsgi-router-post.bin"

    listen "$OUT/uwsgi-router-dup-headers.bin" http "$Q"
    code=$(http -H 'Cookie: a=1' -H 'X-Dup: one' -H 'Cookie: b=2' -H 'X-Dup: two' -H 'X_Under: kept' "$URL/dup")
    expect_ok "$code" uwsgi-router-dup-headers
    finish "$OUT/uwsgi-router-dup-headers.bin"

    # chunked request body: the router forwards HTTP_TRANSFER_ENCODING and no
    # CONTENT_LENGTH; by default it forwards no body at all (watch 1s for one)
    listen "$OUT/uwsgi-router-chunked.bin" http "$Q" --drain 1
    code=$(http -H 'Transfer-Encoding: chunked' -H 'Content-Type: text/plain' \
        --data-binary @"$SCRATCH/chunked-body.txt" "$URL/chunked")
    expect_ok "$code" uwsgi-router-chunked
    finish "$OUT/uwsgi-router-chunked.bin"
    stop_pid "$RPID" INT

    # same with --http-chunked-input: the raw chunked stream (chunk-size lines
    # and all) follows the vars; --keep-extra keeps it in the capture
    P=$(free_port tcp)
    start_peer INT "$D/router-chunked.log" bash -c 'cd "$1" && shift && exec "$@"' _ "$D" \
        uwsgi --plugins http --master --http "127.0.0.1:$P" --http-to "127.0.0.1:$Q" --http-chunked-input
    RPID=$PEER_PID
    wait_tcp "$P" "$RPID" "uwsgi http router (--http-chunked-input)"
    URL=http://127.0.0.1:$P
    listen "$OUT/uwsgi-router-chunked-input.bin" http "$Q" --drain 1 --keep-extra
    code=$(http -H 'Transfer-Encoding: chunked' -H 'Content-Type: text/plain' \
        --data-binary @"$SCRATCH/chunked-body.txt" "$URL/chunked")
    expect_ok "$code" uwsgi-router-chunked-input
    finish "$OUT/uwsgi-router-chunked-input.bin"
    stop_pid "$RPID" INT
}

# ======================================================= uWSGI as a client
capture_uwsgi_clients() {
    local D Q U out
    newdir uwsgi-client; D=$NEWDIR
    Q=$(free_port tcp)

    # ping: uwsgi --ping waits for a pong
    listen "$OUT/uwsgi-ping.bin" pong "$Q"
    (cd "$D" && timeout 20 uwsgi --plugin ping --ping "127.0.0.1:$Q") >"$D/ping.log" 2>&1 \
        || { cat "$D/ping.log" >&2; die "uwsgi --ping failed"; }
    finish "$OUT/uwsgi-ping.bin"

    listen "$OUT/uwsgi-signal.bin" ok "$Q"
    (cd "$D" && timeout 20 uwsgi --plugin signal --signal "127.0.0.1:$Q,17") >"$D/signal.log" 2>&1 \
        || { cat "$D/signal.log" >&2; die "uwsgi --signal failed"; }
    grep -q 'signal 17 delivered' "$D/signal.log" || die "uwsgi --signal did not report delivery"
    finish "$OUT/uwsgi-signal.bin"

    # RPC from Python inside uWSGI.  uwsgi.rpc(node, name, *args) needs bytes
    # under Python 3 (str arguments raise ValueError before any connection).
    cat >"$D/rpc_call.py" <<EOF
import uwsgi
try:
    uwsgi.rpc('127.0.0.1:$Q', 'hello', 'a', '', 'b')
    print('RPC-STR: accepted')
except Exception as e:
    print('RPC-STR: %s: %s' % (type(e).__name__, e))
r = uwsgi.rpc(b'127.0.0.1:$Q', b'hello', b'a', b'', b'b')
print('RPC-RESULT: %r' % (r,))
EOF
    listen "$OUT/uwsgi-rpc-call.bin" rpc "$Q"
    (cd "$D" && timeout 20 uwsgi --plugins python3,rpc --pyrun rpc_call.py) >"$D/rpc.log" 2>&1 \
        || { cat "$D/rpc.log" >&2; die "uwsgi --pyrun rpc_call.py failed"; }
    finish "$OUT/uwsgi-rpc-call.bin"
    grep -q "RPC-RESULT: b'hello'" "$D/rpc.log" || { cat "$D/rpc.log" >&2; die "uwsgi.rpc did not return b'hello'"; }
    finding "uwsgi.rpc with str arguments (python3): $(grep -o 'RPC-STR: .*' "$D/rpc.log")"
    finding "uwsgi.rpc with bytes arguments got the listener's reply ad 05 00 00 'hello' as: $(grep -o 'RPC-RESULT: .*' "$D/rpc.log")"

    # magic cache set to a remote cache ('NAME@HOST:PORT') from Python inside
    # uWSGI.  The value follows the vars block, counted by the `size` var, not
    # by datasize; the listener reads it (--body-var size) and answers
    # {status: ok} (6f 0c 00 11 ...), which makes cache_set return True.
    cat >"$D/cache_set.py" <<EOF
import uwsgi
r = uwsgi.cache_set('$CACHE_KEY', b'$CACHE_VALUE', $CACHE_EXPIRES, 'default@127.0.0.1:$Q')
print('CACHE-SET-RESULT: %r' % (r,))
EOF
    listen "$OUT/uwsgi-cache-set.bin" cache-ok "$Q" --body-var size
    (cd "$D" && timeout 20 uwsgi --plugins python3 --pyrun cache_set.py) >"$D/cache-set.log" 2>&1 \
        || { cat "$D/cache-set.log" >&2; die "uwsgi --pyrun cache_set.py failed"; }
    finish "$OUT/uwsgi-cache-set.bin"
    grep -q "CACHE-SET-RESULT: True" "$D/cache-set.log" || { cat "$D/cache-set.log" >&2; die "uwsgi.cache_set did not return True"; }
    python3 - "$OUT/uwsgi-cache-set.bin" "$CACHE_VALUE" <<'EOF' || die "uwsgi-cache-set.bin: the value is not the last bytes"
import sys
assert open(sys.argv[1], "rb").read().endswith(sys.argv[2].encode())
EOF
    finding "uwsgi.cache_set(key, value, $CACHE_EXPIRES, 'default@127.0.0.1:Q') (python3, remote cache) got the listener's reply 6f 0c 00 11 {status: ok} as: $(grep -o 'CACHE-SET-RESULT: .*' "$D/cache-set.log" | sed 's/^CACHE-SET-RESULT: //')"

    # subscriptions: UDP; the first datagram is sent at startup, the
    # unsubscribe one on graceful shutdown (SIGINT)
    U=$(free_port udp)
    rm -f "$SCRATCH"/sub-*.bin
    local ready
    ready=$(mktemp -u "$SCRATCH/ready.XXXXXX")
    python3 "$LISTENER" --udp --port "$U" --out-prefix "$SCRATCH/sub" --count 2 \
        --ready "$ready" --timeout 30 2>>"$SCRATCH/listener.log" &
    LPID=$!
    local i
    for i in $(seq 1 100); do [ -f "$ready" ] && break; sleep 0.05; done
    [ -f "$ready" ] || die "udp listener not ready"
    start_peer INT "$D/subscribe.log" bash -c 'cd "$1" && shift && exec "$@"' _ "$D" \
        uwsgi --master --socket "127.0.0.1:$Q" --subscribe-to "127.0.0.1:$U:example.com"
    local SPID=$PEER_PID
    for i in $(seq 1 200); do [ -f "$SCRATCH/sub-1.bin" ] && break; alive "$SPID" || die "subscriber died"; sleep 0.05; done
    [ -f "$SCRATCH/sub-1.bin" ] || die "no subscription datagram within 10s"
    stop_pid "$SPID" INT
    wait "$LPID" || die "udp listener failed (no unsubscribe datagram?)"
    LPID=""
    python3 - "$SCRATCH/sub-1.bin" "$SCRATCH/sub-2.bin" <<'EOF' || die "unexpected subscription datagrams"
import sys
a, b = (open(p, "rb").read() for p in sys.argv[1:3])
assert a[0] == 224 and a[3] == 0, "first datagram is not a subscribe (m1 224, m2 0)"
assert b[0] == 224 and b[3] != 0, "second datagram is not an unsubscribe (m1 224, m2 != 0)"
EOF
    cp "$SCRATCH/sub-1.bin" "$OUT/uwsgi-subscribe.bin"
    cp "$SCRATCH/sub-2.bin" "$OUT/uwsgi-unsubscribe.bin"
    log "captured uwsgi-subscribe.bin and uwsgi-unsubscribe.bin"
}

# ============================================== replies from a uWSGI server
capture_uwsgi_replies() {
    local D Q code
    newdir uwsgi-server; D=$NEWDIR
    Q=$(free_port tcp)
    cat >"$D/app.py" <<'EOF'
import uwsgi

def hello(arg=b''):
    return b'HI:' + arg

def big():
    return b'B' * 70000

def join(*args):
    return b'|'.join(args) + b'#%d' % len(args)

def on_signal(num):
    print("uwsgi-wire app: got uwsgi signal %d" % num, flush=True)

uwsgi.register_rpc('hello', hello)
uwsgi.register_rpc('big', big)
uwsgi.register_rpc('join', join)
uwsgi.register_signal(17, 'worker', on_signal)

# 1 MiB: the 63-byte line [A-Za-z0-9]{62}\n repeated, cut at 1048576 bytes
LINE = b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\n'
MIB = (LINE * (1048576 // len(LINE) + 1))[:1048576]

def application(environ, start_response):
    path = environ.get('PATH_INFO', '')
    if path == '/content-length':
        body = b'hello world\n'
    elif path == '/1mib':
        body = MIB
    else:
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'ok']
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
EOF
    start_peer INT "$D/server.log" bash -c 'cd "$1" && shift && exec "$@"' _ "$D" \
        uwsgi --plugins python3,ping,rpc,signal,echo,cache --socket "127.0.0.1:$Q" \
        --wsgi-file app.py --master --processes 1 \
        --cache2 name=default,items=100,blocksize=4096
    local SPID=$PEER_PID
    wait_log "$D/server.log" 'spawned uWSGI worker 1' "$SPID" "uwsgi server"
    local A=127.0.0.1:$Q
    send() { python3 "$SENDER" "$A" "$1" "$2" --timeout 5 2>>"$SCRATCH/sender.log" || die "send_packet failed for $2"; log "captured $(basename "$2") ($(stat -c %s "$2") bytes)"; }

    send 64000000 "$OUT/uwsgi-pong.bin"
    send 6e000011 "$OUT/uwsgi-signal-reply.bin"
    wait_log "$D/server.log" 'got uwsgi signal 17' "$SPID" "uwsgi server (signal 17 handler)"
    send 6e000012 "$OUT/uwsgi-signal-reply-unregistered.bin"
    sleep 0.3
    finding "uwsgi server, signal 18 (no handler registered): reply $(hexof "$OUT/uwsgi-signal-reply-unregistered.bin"), server log: $(grep -o 'error managing signal 18.*' "$D/server.log" | head -n 1)"
    # RPC: array [hello, x]; modifier2 0 = uwsgi-framed reply, 1 = raw reply
    send ad0a0000050068656c6c6f010078 "$OUT/uwsgi-rpc-reply.bin"
    send ad0a0001050068656c6c6f010078 "$OUT/uwsgi-rpc-reply-raw.bin"
    # RPC result over 65535 bytes: array [big] -> 70000 bytes
    send ad0500000300626967 "$OUT/uwsgi-rpc-reply-big.bin"
    # empty array items: [join, a, "", b] (the uwsgi.rpc client itself sends
    # empty items, see uwsgi-rpc-call.bin); then an empty LAST item, and an
    # unknown function name
    send "$(rpc_hex 0 join a '' b)" "$OUT/uwsgi-rpc-reply-empty-middle.bin"
    send "$(rpc_hex 0 join a b '')" "$SCRATCH/rpc-empty-last.reply"
    send "$(rpc_hex 0 nosuch a)" "$SCRATCH/rpc-unknown.reply"
    sleep 0.3
    finding "uwsgi server, RPC [join, a, \"\", b] -> reply $(hexof "$OUT/uwsgi-rpc-reply-empty-middle.bin") (the function got $(tail -c 1 "$OUT/uwsgi-rpc-reply-empty-middle.bin") args: empty items are skipped)"
    finding "uwsgi server, RPC [join, a, b, \"\"] (empty last item) -> reply of $(stat -c %s "$SCRATCH/rpc-empty-last.reply") bytes, server log: $(grep -o 'invalid uwsgi array.*' "$D/server.log" | head -n 1)"
    finding "uwsgi server, RPC [nosuch, a] (unknown function) -> reply of $(stat -c %s "$SCRATCH/rpc-unknown.reply") bytes"
    # echo: modifier1 101 with a 12-byte payload
    send "650c0000$(python3 -c 'print(b"echo-payload".hex())')" "$OUT/uwsgi-echo-reply.bin"
    # an HTTP-style request (the captured nginx GET replayed) -> raw HTTP reply
    send "@$OUT/nginx-get.bin" "$OUT/uwsgi-http-reply.bin"
    # unknown modifier1 (250): expect no reply at all
    send fa000000 "$SCRATCH/unknown-m1.reply"
    sleep 0.3
    finding "uwsgi server, unknown modifier1 250 (fa 00 00 00): reply of $(stat -c %s "$SCRATCH/unknown-m1.reply") bytes, server log: $(grep -o 'unknown modifier1.*\|.*250.*' "$D/server.log" | head -n 1 | sed 's/^.* - //')"

    # HTTP replies with Content-Length from the app's two extra routes
    send "$(http_get_hex /content-length)" "$OUT/uwsgi-http-reply-content-length.bin"
    send "$(http_get_hex /1mib)" "$OUT/uwsgi-http-reply-1mib.bin"
    python3 - "$OUT/uwsgi-http-reply-content-length.bin" "$OUT/uwsgi-http-reply-1mib.bin" <<'EOF' || die "unexpected HTTP replies"
import sys
a, b = (open(p, "rb").read() for p in sys.argv[1:3])
assert a.endswith(b"\r\nContent-Length: 12\r\n\r\nhello world\n"), a
line = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\n"
mib = (line * (1048576 // len(line) + 1))[:1048576]
assert b.endswith(b"\r\nContent-Length: 1048576\r\n\r\n" + mib), (len(b), b[:80])
EOF

    # cache: replay the set request uWSGI's own client sent (uwsgi-cache-set.bin,
    # expires 300, cache=default), then a magic get for the key with the
    # client's var order (cmd, key, cache)
    send "@$OUT/uwsgi-cache-set.bin" "$OUT/uwsgi-cache-set-reply.bin"
    local t0 t1
    t0=$(date +%s)
    send "$(vars_hex 111 17 cmd get key "$CACHE_KEY" cache default)" "$OUT/uwsgi-cache-get-reply.bin"
    t1=$(date +%s)
    python3 - "$DESCRIBE" "$OUT/uwsgi-cache-set-reply.bin" "$OUT/uwsgi-cache-get-reply.bin" "$CACHE_VALUE" \
        $((t0 - 5 + CACHE_EXPIRES)) $((t1 + CACHE_EXPIRES)) <<'EOF' || die "unexpected cache replies"
import os, struct, sys
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from describe import parse_pairs
s, g = (open(p, "rb").read() for p in sys.argv[2:4])
value, lo, hi = sys.argv[4].encode(), int(sys.argv[5]), int(sys.argv[6])
assert s == bytes([111, 12, 0, 17]) + b"\x06\x00status\x02\x00ok", s.hex()
assert g[0] == 111 and g[3] == 17, g[:4].hex()
ds = struct.unpack_from("<H", g, 1)[0]
d = dict(parse_pairs(g[4:4 + ds]))
assert d[b"status"] == b"ok" and int(d[b"size"]) == len(value), d
assert lo <= int(d[b"expires"]) <= hi, (d, lo, hi)
assert g[4 + ds:] == value, g[4 + ds:]
EOF
    # a key stored without expires (a magic set built here), then a miss
    send "$(vars_hex 111 17 cmd set key uwsgi-wire-noexp size 5)$(python3 -c 'print(b"12345".hex())')" "$SCRATCH/cache-set-noexp.reply"
    send "$(vars_hex 111 17 cmd get key uwsgi-wire-noexp)" "$SCRATCH/cache-get-noexp.reply"
    send "$(vars_hex 111 17 cmd get key uwsgi-wire-missing)" "$SCRATCH/cache-miss.reply"
    sleep 0.3
    finding "uwsgi server, magic cache get of a key stored with expires 0 -> reply $(hexof "$SCRATCH/cache-get-noexp.reply") (no expires var; the set reply was $(hexof "$SCRATCH/cache-set-noexp.reply"))"
    finding "uwsgi server, magic cache get of a missing key -> reply of $(stat -c %s "$SCRATCH/cache-miss.reply") bytes, server log lines naming the key: $(grep -c 'uwsgi-wire-missing' "$D/server.log" || true)"

    stop_pid "$SPID" INT
}

# ------------------------------------------------------------------- run all
capture_nginx
capture_apache
capture_lighttpd
capture_router
capture_uwsgi_clients
capture_uwsgi_replies

mv "$FINDINGS.tmp" "$FINDINGS"

log "all captures done in $(( $(date +%s) - START_TS ))s"
python3 "$DESCRIBE" "$OUT"/*.bin >&2
