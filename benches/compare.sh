#!/usr/bin/env bash
# Every micro-benchmark case of benches/parse.rs, codec.rs and head.rs, in instructions
# per call, for a base revision and for the working tree, side by side: callgrind counts
# instructions, which are the same from run to run whatever else the machine does, so a
# change of API can be held to "no slower" row by row on a shared, noisy machine.
#
# Usage: benches/compare.sh [BASE_REV] [CALLS]   (default: HEAD, 2000 calls per case)
# Prints one markdown table: bench, input, case, base, now, now/base. A case only one
# side has is shown with "-" on the other. Needs valgrind (Debian's package).
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-HEAD}
calls=${2:-2000}
now=$PWD
work=$(mktemp -d)
git worktree add -q --detach "$work/base" "$base"
trap 'git worktree remove --force "$work/base"; rm -rf "$work"' EXIT

# The bench binaries of a tree: "name path" lines.
binaries() {
    (cd "$1" && CARGO_TARGET_DIR="$2" cargo bench --quiet --all-features --no-run \
        --message-format=json 2>/dev/null) |
        python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["kind"] == ["bench"] and m.get("executable"):
        print(m["target"]["name"], m["executable"])'
}

# Instructions per call of every case function one run collects: "case ir" lines.
count() { # bench binary env_prefix input toggle
    local out="$work/cg.$RANDOM"
    env "${3}_BENCH_CALLGRIND=$calls" "${3}_BENCH_INPUT=$4" valgrind --tool=callgrind \
        --callgrind-out-file="$out" --toggle-collect="$5" "$2" >/dev/null 2>&1
    callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null |
        python3 -c '
import re, sys
calls = int(sys.argv[1])
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \([^)]*\)\s+\S*:(\S+::case\S*?)(?: \[.*\])?$", line) or \
        re.match(r"\s*([\d,]+)\s+\S*:(\S+::case\S*?)(?: \[.*\])?$", line)
    if m:
        print(m.group(2), int(m.group(1).replace(",", "")) / calls)' "$calls"
}

declare -A bin_base bin_now
while read -r name path; do bin_base[$name]=$path; done < <(binaries "$work/base" "$now/target/compare-base")
while read -r name path; do bin_now[$name]=$path; done < <(binaries "$now" "$now/target/compare-now")

echo "| bench | input | case | base (instr/call) | now | now/base |"
echo "|---|---|---|---|---|---|"
run() { # bench prefix toggle inputs...
    local bench=$1 prefix=$2 toggle=$3
    shift 3
    for input in "$@"; do
        python3 - "$bench" "$input" <(count "$bench" "${bin_base[$bench]}" "$prefix" "$input" "$toggle") \
            <(count "$bench" "${bin_now[$bench]}" "$prefix" "$input" "$toggle") <<'PY'
import sys
bench, input_, base_file, now_file = sys.argv[1:]
def load(path):
    return {case.rsplit("::", 1)[-1]: ir for case, ir in (l.split() for l in open(path) if l.strip())}
base, now = load(base_file), load(now_file)
for case in sorted(set(base) | set(now)):
    b, n = base.get(case), now.get(case)
    ratio = f"{float(n) / float(b):.3f}" if b and n else "-"
    fmt = lambda v: f"{float(v):.0f}" if v else "-"
    print(f"| {bench} | {input_} | {case} | {fmt(b)} | {fmt(n)} | {ratio} |")
PY
    done
}
run parse PARSE 'parse::case::*' get16 vars56 large64k
run codec CODEC 'codec::case_*' get16 vars56
run head HEAD 'head::case_*' reply-cl reply
