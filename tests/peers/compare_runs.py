#!/usr/bin/env python3
"""Compare two capture runs var by var (reproducibility check).

Usage: compare_runs.py OLD_DIR NEW_DIR
For each file: "identical", or the vars whose values differ (for vars-carrying
.bin files), or a warning when sizes, headers, keys or bodies differ.
Typical use:
    cp -r tests/vectors /tmp/run1 && tests/peers/capture.sh
    tests/peers/compare_runs.py /tmp/run1 tests/vectors
"""
import os
import struct
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from describe import parse_pairs  # noqa: E402


def main():
    a, b = sys.argv[1:3]
    for name in sorted(set(os.listdir(a)) | set(os.listdir(b))):
        pa, pb = os.path.join(a, name), os.path.join(b, name)
        if not (os.path.isfile(pa) and os.path.isfile(pb)):
            print("%-40s only in one run" % name)
            continue
        x, y = open(pa, "rb").read(), open(pb, "rb").read()
        if x == y:
            print("%-40s identical (%d bytes)" % (name, len(x)))
            continue
        if not name.endswith(".bin") or len(x) < 4 or len(y) < 4:
            print("%-40s DIFFERS" % name)
            continue
        note = ""
        if len(x) != len(y) or x[:4] != y[:4]:
            note = " [size/header differ: %d %s -> %d %s]" % (len(x), x[:4].hex(), len(y), y[:4].hex())
        sx, sy = struct.unpack_from("<H", x, 1)[0], struct.unpack_from("<H", y, 1)[0]
        px, py = parse_pairs(x[4:4 + sx]), parse_pairs(y[4:4 + sy])
        if px is None or py is None or [k for k, _ in px] != [k for k, _ in py]:
            print("%-40s DIFFERENT STRUCTURE%s" % (name, note))
            continue
        diffs = ["%s: %s -> %s" % (k.decode("latin-1"), v.decode("latin-1")[:40], w.decode("latin-1")[:40])
                 for (k, v), (_, w) in zip(px, py) if v != w]
        body = "" if x[4 + sx:] == y[4 + sy:] else " BODY DIFFERS"
        print("%-40s same keys; differing values: %s%s%s" % (name, "; ".join(diffs), body, note))


if __name__ == "__main__":
    main()
