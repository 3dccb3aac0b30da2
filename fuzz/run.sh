#!/usr/bin/env bash
# Runs every cargo-fuzz target (or the ones named) for SECONDS each, JOBS at once
# (default: one per core), and fails if any of them finds a crash (a panic, a failed assertion, a timeout, an
# out-of-memory). Seeds the corpora first (fuzz/seed.sh). Prints each target's final
# executions per second, libFuzzer's `cov:` (edges covered) and `ft:` (features), and the
# corpus size. Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
#
#   fuzz/run.sh              # 60 s per target
#   fuzz/run.sh 600          # a longer local run
#   fuzz/run.sh 300 differential parse_packet
#
# A crash leaves its input in fuzz/artifacts/TARGET/ and the full log in
# fuzz/artifacts/TARGET/run.log; reproduce with `cargo +nightly fuzz run TARGET FILE`
# and turn it into a named test in tests/fuzz_regressions.rs.
set -euo pipefail
cd "$(dirname "$0")"

secs="${1:-60}"
[ "$#" -gt 0 ] && shift
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

./seed.sh
cargo +nightly fuzz build

# One target: its run, then its summary line in artifacts/TARGET/summary and, on a
# crash, the word CRASH in artifacts/TARGET/status.
fuzz_one() {
    local target=$1
    mkdir -p "artifacts/$target" "corpus/$target"
    local log="artifacts/$target/run.log"
    rm -f "artifacts/$target/status" "artifacts/$target/summary"
    local extra=()
    case "$target" in
        # Targets that read raw bytes (streaming: after a 28-byte prefix): room for the
        # largest packet (65539 bytes) and a bit more.
        parse_packet | differential | streaming | typed_messages | exchange) extra=(-max_len=70100) ;;
        # Generator input: room for a 16 KiB body, 24 headers and a large RPC result.
        arbitrary_requests) extra=(-max_len=200000) ;;
        # A flags byte, then raw bytes (the largest packet and a body) or a generated
        # request (a 16 KiB body and its headers).
        axum_router) extra=(-max_len=70100) ;;
    esac
    printf '==> fuzz %s for %ss\n' "$target" "$secs"
    local status=ok
    if ! cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$secs" -dict=uwsgi.dict -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "${extra[@]}" >"$log" 2>&1; then
        status=CRASH
        echo CRASH >"artifacts/$target/status"
        tail -n 60 "$log"
    fi
    local last runs rate files
    last="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
    field() { sed -nE "s/.* $1: ([^ ]+).*/\\1/p" <<<"$last"; }
    runs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)"
    rate="$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)"
    files="$(find "corpus/$target" -type f | wc -l)"
    printf '%-16s %-5s %5ss  runs %-9s exec/s %-6s cov %-5s ft %-6s corpus %s files (%s)\n' \
        "$target" "$status" "$secs" "${runs:-?}" "${rate:-$(field exec/s)}" "$(field cov)" \
        "$(field ft)" "$files" "$(field corp)" >"artifacts/$target/summary"
}

# JOBS targets at once (default: one per core), each for the whole SECONDS: the same
# fuzzing per target as one after the other, in less wall time.
jobs_max="${JOBS:-$(nproc)}"
for target in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done
    fuzz_one "$target" &
done
wait

failed=()
summary=()
for target in "${targets[@]}"; do
    [ -s "artifacts/$target/status" ] && failed+=("$target")
    summary+=("$(cat "artifacts/$target/summary" 2>/dev/null || echo "$target: no summary")")
done

printf '\n==> fuzz summary\n'
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: CRASH in ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz: all targets ran clean"
