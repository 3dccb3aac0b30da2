#!/usr/bin/env bash
# Builds the fuzz seed corpora in fuzz/corpus/<target>/ (gitignored) from
#   - the real captures, tests/vectors/*.bin (whole files, and each one's block alone), and
#   - the hand-made vectors in tests/*.rs (byte-string literals and `[0x.., ..]` arrays:
#     the invalid vectors of tests/errors.rs, tests/adversarial.rs, the regressions of
#     tests/fuzz_regressions.rs, ...),
# so new captures and new test vectors become seeds with no change here. The
# `streaming` seeds wrap each stream in that target's fixed input prefix (limits, read
# sizes; see fuzz_targets/streaming.rs), several ways each. Each seed is
# named by its SHA-1, as libFuzzer names what it finds, so running this again adds
# nothing twice and keeps what the fuzzer found. Needs python3 (Debian's, as the peers).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec python3 - "$here" <<'PY'
import glob, hashlib, os, re, sys

fuzz = sys.argv[1]
root = os.path.dirname(fuzz)

def write(target, data):
    d = os.path.join(fuzz, "corpus", target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)

ESC = {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\", "0": b"\0", "'": b"'", '"': b'"'}

def rust_bytes(body):
    """Decodes the inside of a Rust b"..." literal."""
    out, i = bytearray(), 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        n = body[i + 1]
        if n == "x":
            out.append(int(body[i + 2:i + 4], 16))
            i += 4
        elif n == "\n":  # line continuation: skip the newline and leading whitespace
            i += 2
            while i < len(body) and body[i] in " \t\n":
                i += 1
        else:
            out += ESC[n]
            i += 2
    return bytes(out)

LITERAL = re.compile(r'(?<![A-Za-z0-9_])b"((?:[^"\\]|\\.|\\\n)*)"', re.S)
ARRAY = re.compile(r"\[((?:\s*0x[0-9a-fA-F]{1,2}\s*,)+\s*0x[0-9a-fA-F]{1,2}\s*,?\s*)\]")

def header_len(data):
    """The framed length (4 + datasize) when data starts with a whole packet, else None."""
    if len(data) < 4:
        return None
    end = 4 + int.from_bytes(data[1:3], "little")
    return end if end <= len(data) else None

ARRAY_M1 = {173}
VARS_M1 = {0, 5, 6, 7, 8, 9, 14, 15, 17, 30, 111, 224}
counts = {}

def streaming(stream, copies=0, cut=None, pieces=(), chunk=None, max_datasize=None):
    """A `streaming` input: the fixed prefix of fuzz_targets/streaming.rs's `Input`
    (arbitrary 1.x: an Option is a bool byte then the value, integers little endian),
    then the `Raw` tag (a u32 in the upper half picks the second variant), then the
    stream's bytes as they are."""
    def opt16(v):
        return b"\x00" if v is None else b"\x01" + v.to_bytes(2, "little")
    out = opt16(max_datasize) + b"\x00\x00" + opt16(chunk) + b"\x00"  # vars, items, body
    out += bytes([copies])
    out += b"\x00" if cut is None else b"\x01" + cut.to_bytes(4, "little")
    padded = list(pieces) + [0] * (8 - len(pieces))
    out += b"".join(p.to_bytes(2, "little") for p in padded) + bytes([len(pieces)])
    return out + b"\xff\xff\xff\xff" + stream

def seed_streaming(data, many=True):
    seed("streaming", streaming(data))                      # all at once
    seed("streaming", streaming(data, pieces=[1]))          # a 1-byte drip
    if many:
        seed("streaming", streaming(data, copies=1, pieces=[3, 1, 0, 7, 64, 0, 2, 4096]))
        seed("streaming", streaming(data, copies=2, pieces=[5, 0], chunk=16))
        seed("streaming", streaming(data, cut=len(data) // 2, pieces=[2, 11]))
        seed("streaming", streaming(data, max_datasize=4096, pieces=[100, 0, 1]))

def seed(target, data, small=False):
    if small and len(data) > 4096:
        return
    write(target, data)
    counts[target] = counts.get(target, 0) + 1

for path in sorted(glob.glob(os.path.join(root, "tests", "vectors", "*.bin"))):
    data = open(path, "rb").read()
    seed("parse_packet", data)
    seed("typed_messages", data)
    seed_streaming(data)
    end = header_len(data)
    if end is None:
        continue
    seed("parse_packet", data[:end])  # the packet without its body
    seed("typed_messages", data[:end])
    block = data[4:end]
    if data[0] in VARS_M1 or data[0] in ARRAY_M1:
        seed("differential", block)
        seed("vars_roundtrip", block, small=True)
        seed("array_roundtrip", block, small=True)

for path in sorted(glob.glob(os.path.join(root, "tests", "*.rs"))):
    text = open(path, encoding="utf-8").read()
    found = [rust_bytes(m.group(1)) for m in LITERAL.finditer(text)]
    found += [bytes(int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]{1,2})", m.group(1)))
              for m in ARRAY.finditer(text)]
    for data in found:
        if len(data) < 2:
            continue
        seed("parse_packet", data)
        seed("differential", data)
        seed("typed_messages", data)
        if len(data) <= 4096:
            seed_streaming(data, many=False)
        if header_len(data) == len(data):
            seed("differential", data[4:])

for target in ("parse_packet", "differential", "vars_roundtrip", "array_roundtrip",
               "streaming", "typed_messages"):
    d = os.path.join(fuzz, "corpus", target)
    os.makedirs(d, exist_ok=True)
    print(f"seed: {target}: {len(os.listdir(d))} files in corpus/{target}")
PY
