#!/usr/bin/env python3
"""Print what each captured .bin holds: header fields, block kind, vars/items, body.

Usage: describe.py [-v] FILE...   (-v also prints every key/value)
Read-only helper for writing tests/vectors/README.md; it does not change files.
"""
import struct
import sys


def parse_pairs(block):
    out, i, n = [], 0, len(block)
    while i < n:
        if i + 2 > n:
            return None
        (kl,) = struct.unpack_from("<H", block, i); i += 2
        if i + kl + 2 > n:
            return None
        k = block[i:i + kl]; i += kl
        (vl,) = struct.unpack_from("<H", block, i); i += 2
        if i + vl > n:
            return None
        out.append((k, block[i:i + vl])); i += vl
    return out


def parse_array(block):
    out, i, n = [], 0, len(block)
    while i < n:
        if i + 2 > n:
            return None
        (l,) = struct.unpack_from("<H", block, i); i += 2
        if i + l > n:
            return None
        out.append(block[i:i + l]); i += l
    return out


def short(b, n=60):
    s = repr(b)[2:-1]
    return s if len(s) <= n else s[:n] + "...(%d bytes)" % len(b)


def describe(path, verbose):
    data = open(path, "rb").read()
    print("== %s: %d bytes" % (path, len(data)))
    if len(data) < 4:
        print("   shorter than a header: %s" % data.hex())
        return
    m1, size, m2 = data[0], struct.unpack_from("<H", data, 1)[0], data[3]
    print("   header %s: modifier1=%d datasize=%d modifier2=%d" % (data[:4].hex(" "), m1, size, m2))
    block, rest = data[4:4 + size], data[4 + size:]
    if len(block) < size:
        print("   NOT a complete uwsgi packet (block would need %d bytes, %d present):"
              " raw bytes %s" % (size, len(block), short(data, 80)))
        return
    if m1 == 173 and m2 != 5:
        items = parse_array(block)
        if items is not None and size:
            print("   array of %d items: %s" % (len(items), [short(x) for x in items]))
        elif size:
            print("   block (raw): %s" % short(block))
    elif size:
        pairs = parse_pairs(block)
        if pairs is None:
            items = parse_array(block)
            print("   block is not a vars dict; as array: %s" % (
                [short(x) for x in items] if items is not None else short(block)))
        else:
            keys = [k.decode("latin-1") for k, _ in pairs]
            print("   %d vars; keys in order: %s" % (len(pairs), " ".join(keys)))
            dups = sorted({k for k in keys if keys.count(k) > 1})
            if dups:
                print("   duplicate keys: %s" % dups)
            empty = [k.decode("latin-1") for k, v in pairs if v == b""]
            if empty:
                print("   empty values: %s%s" % (empty, " (last pair is empty)" if pairs[-1][1] == b"" else ""))
            if verbose:
                for k, v in pairs:
                    print("     %s = %s" % (short(k), short(v)))
    if rest:
        print("   %d bytes after the block: %s" % (len(rest), short(rest)))


def main():
    args = sys.argv[1:]
    verbose = False
    if args and args[0] == "-v":
        verbose, args = True, args[1:]
    for p in args:
        describe(p, verbose)


if __name__ == "__main__":
    main()
