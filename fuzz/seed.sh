#!/usr/bin/env bash
# Builds the fuzz seed corpora in fuzz/corpus/<target>/ (gitignored) from
#   - the real captures, tests/vectors/*.bin (whole files, and each one's block alone), and
#   - the hand-made vectors in tests/*.rs (byte-string literals and `[0x.., ..]` arrays:
#     the invalid vectors of tests/errors.rs, tests/adversarial.rs, the regressions of
#     tests/fuzz_regressions.rs, ...),
# so new captures and new test vectors become seeds with no change here. The
# `streaming` seeds wrap each stream in that target's fixed input prefix (limits, read
# sizes; see fuzz_targets/streaming.rs), several ways each; the `exchange` seeds wrap
# the requests for its server side and the replies (`*-reply*.bin`, `uwsgi-pong.bin`)
# for its client side, with the `Reply` each one answers (fuzz_targets/exchange.rs),
# whole, dripped, pipelined, cut, against small limits, and in sequences. Each seed is
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

# `exchange`'s `ReplySpec` kinds (kind % 5): Response, Response to a HEAD, Packet(m1),
# Raw(Exact(len)), Raw(ToEof).
RESPONSE, HEAD, PACKET, EXACT, TO_EOF = range(5)
# The largest seed: run.sh's -max_len, 70100 bytes; the stream after a 53-byte prefix
# (every limit left at its default) holds uwsgi-rpc-reply-big.bin (70027 bytes) whole.
EXCHANGE_LEN = 70100
EXCHANGE_MAX = EXCHANGE_LEN - 53

def exchange(stream, replies=None, pieces=(), cut=None, max_datasize=None,
             max_vars=None, max_head=None, max_body=None, chunk=None):
    """An `exchange` input: the fixed prefix of fuzz_targets/exchange.rs's `Input` (the
    six `Config` options, the cut, 8 read sizes and how many are used, 4 `ReplySpec`s
    of 6 bytes (kind, modifier1, a u32 length) and how many are used less one), then
    the `Server` tag (`00 00 00 80`: the third of four variants) or, with `replies`,
    the `Client` tag (`ff ff ff ff`), then the stream's bytes as they are."""
    def opt(v, size):
        return b"\x00" if v is None else b"\x01" + v.to_bytes(size, "little")
    out = opt(max_datasize, 2) + opt(max_vars, 2) + b"\x00" + opt(max_head, 2)
    out += opt(max_body, 4) + opt(chunk, 2)
    out += opt(cut, 4)
    padded = list(pieces) + [0] * (8 - len(pieces))
    out += b"".join(p.to_bytes(2, "little") for p in padded) + bytes([len(pieces)])
    specs = list(replies or [])[:4]
    specs += [(0, 0, 0)] * (4 - len(specs))
    out += b"".join(bytes([k, m]) + n.to_bytes(4, "little") for k, m, n in specs)
    out += bytes([max(len(replies or []), 1) - 1])
    out += b"\xff\xff\xff\xff" if replies else b"\x00\x00\x00\x80"
    return out + stream[:EXCHANGE_LEN - len(out)]

def reply_of(name, data):
    """The `Reply` a client expects for a reply capture, or None for a request."""
    if name.startswith("uwsgi-http-reply"):
        return (RESPONSE, 0, 0)
    if name == "uwsgi-pong.bin":
        return (PACKET, 100, 0)
    if name.startswith("uwsgi-signal-reply"):
        return (PACKET, 255, 0)
    if name == "uwsgi-rpc-reply-raw.bin":
        return (TO_EOF, 0, 0)
    if name.startswith("uwsgi-rpc-reply"):
        return (PACKET, 173, 0)
    if name == "uwsgi-echo-reply.bin":
        return (EXACT, 0, len(data))
    if name.startswith("uwsgi-cache-") and "-reply" in name:
        return (PACKET, 111, 0)
    return None

def head_len(data):
    """Where an HTTP reply's head ends (after its blank line), or None."""
    end = data.find(b"\r\n\r\n")
    return None if end < 0 else end + 4

def seed_exchange(name, data, many=True):
    reply = reply_of(name, data)
    if len(data) > EXCHANGE_MAX:
        data = data[:EXCHANGE_MAX]  # the 1 MiB reply: cut in its body
    replies = [reply] if reply else None
    seed("exchange", exchange(data, replies))
    seed("exchange", exchange(data, replies, pieces=[1]))
    if not many:
        return
    seed("exchange", exchange(data, replies, pieces=[3, 1, 0, 7, 64, 0, 2, 4096]))
    seed("exchange", exchange(data, replies, cut=len(data) // 2, pieces=[2, 11]))
    seed("exchange", exchange(data, replies, max_body=1, pieces=[5, 0]))
    seed("exchange", exchange(data, replies, max_datasize=8, max_vars=2, pieces=[100]))
    if len(data) * 2 <= EXCHANGE_MAX:  # pipelined: the stream twice, two replies
        twice = replies * 2 if replies else None
        seed("exchange", exchange(data * 2, twice, pieces=[5, 0], chunk=16))
    if reply is None:
        seed("exchange", exchange(data, max_datasize=4096, pieces=[100, 0, 1]))
        return
    if reply[0] == RESPONSE:
        end = head_len(data)
        seed("exchange", exchange(data, [(HEAD, 0, 0)]))  # the body is then unexpected
        if end:
            seed("exchange", exchange(data[:end], [(HEAD, 0, 0)], pieces=[7]))
            seed("exchange", exchange(data, replies, max_head=end - 1, pieces=[9]))
            seed("exchange", exchange(data, replies, max_head=end, chunk=1))
    # The same bytes where another reply was due.
    seed("exchange", exchange(data, [(PACKET, 255, 0)]))
    seed("exchange", exchange(data, [(TO_EOF, 0, 0)], max_body=len(data) // 2))

replies_seen = {}

for path in sorted(glob.glob(os.path.join(root, "tests", "vectors", "*.bin"))):
    data = open(path, "rb").read()
    name = os.path.basename(path)
    seed_exchange(name, data)
    if reply_of(name, data):
        replies_seen[name] = data
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
            # Hand-made vectors: response heads (tests/response_head.rs, ...) for the
            # client side, packets for the server side and as a reply of their kind.
            if data.startswith(b"HTTP/") or b"\n" in data[:64]:
                seed("exchange", exchange(data, [(RESPONSE, 0, 0)]))
                seed("exchange", exchange(data, [(RESPONSE, 0, 0)], pieces=[1]))
            else:
                seed_exchange("", data, many=False)
                if header_len(data):
                    seed("exchange", exchange(data, [(PACKET, data[0], 0)]))
        if header_len(data) == len(data):
            seed("differential", data[4:])

# Sequences of uWSGI's replies on one stream, each with its `Reply`, as a client that
# pipelines its requests reads them (a reply to the end of the stream last).
SEQUENCES = [
    ["uwsgi-pong.bin", "uwsgi-cache-get-reply.bin", "uwsgi-http-reply-content-length.bin",
     "uwsgi-rpc-reply-raw.bin"],
    ["uwsgi-echo-reply.bin", "uwsgi-signal-reply.bin", "uwsgi-rpc-reply.bin",
     "uwsgi-http-reply.bin"],
    ["uwsgi-cache-set-reply.bin", "uwsgi-rpc-reply-empty-middle.bin",
     "uwsgi-rpc-reply-big.bin"],
]
for names in SEQUENCES:
    if all(n in replies_seen for n in names):
        stream = b"".join(replies_seen[n] for n in names)[:EXCHANGE_MAX]
        replies = [reply_of(n, replies_seen[n]) for n in names]
        seed("exchange", exchange(stream, replies))
        seed("exchange", exchange(stream, replies, pieces=[1]))
        seed("exchange", exchange(stream, replies, pieces=[13, 0, 2], chunk=7))
        seed("exchange", exchange(stream, replies, cut=len(stream) - 3, max_body=30))

# Valid replies made by the target itself (its `Stream::Replies`, the second of four
# variants: tag `00 00 00 40`), so the checks of what it generates start from every
# edge status, each way of delimiting a body, and a few sequences. arbitrary 1.x:
# an enum tag is a u32 picking variant `(tag * count) >> 32`, a Vec is a `01` byte
# before each element and a `00` after the last, and a slice's length is read from
# the end of the input: the zero bytes there make every slice empty.
def tag(index, count):
    return (0 if index == 0 else (index << 32) // count + 1).to_bytes(4, "little")

def http(status, length, cgi=0, lf=0, head=0, body=5):
    # status (even: the target's table of edge codes), reason, cgi, lf, head_request,
    # `Length` (Announced { leading_zeros, decoy }, Chunked { with_length }, None), no
    # headers, the body.
    out = tag(0, 6) + status.to_bytes(2, "little") + bytes([cgi, lf, head])
    out += tag(length[0], 3) + bytes(length[1:]) + b"\x00"
    return out + body.to_bytes(4, "little")

def generated(elements, pieces=()):
    stream = b"".join(b"\x01" + e for e in elements) + b"\x00" + b"\x00" * 64
    head = exchange(b"", pieces=pieces)[:-4]
    return head + b"\x00\x00\x00\x40" + stream

LENGTHS = [(0, 0, 0), (0, 1, 1), (1, 0), (1, 1), (2,)]
for index in range(16):
    for n, length in enumerate(LENGTHS):
        seed("exchange", generated([http(2 * index, length, cgi=n % 2, lf=index % 2)]))
cache = tag(1, 6) + (1795392550).to_bytes(4, "little") + (40).to_bytes(4, "little")
rpc_large = tag(2, 6) + (70000).to_bytes(4, "little")
pong = tag(3, 6) + b"\x00\x01"
echo = tag(4, 6)
to_eof = tag(5, 6)
seed("exchange", generated([pong, cache, http(8, LENGTHS[0]), to_eof]))
seed("exchange", generated([http(8, LENGTHS[1], head=1), echo, rpc_large, http(9, LENGTHS[3])],
                           pieces=[1]))
seed("exchange", generated([cache, http(22, LENGTHS[4], cgi=1)], pieces=[3, 0, 17]))

# `axum_router` (uwsgi_wire::arbitrary::Fuzzer): a flags byte (bit 0: raw bytes, bit 1:
# the close after them, bits 2-5: the pipe's buffer), then the bytes. Every request
# capture, raw, and nginx-style requests for each route of examples/support/axum_app.rs
# (`/slow` and `/events` without an `ms`: asked to wait over 60 s, they are answers nginx
# gives up on, found as hangs by design; fuzz/README.md).
def nginx_request(method, uri, body=b""):
    path, _, query = uri.partition(b"?")
    pairs = [(b"QUERY_STRING", query), (b"REQUEST_METHOD", method),
             (b"CONTENT_TYPE", b"text/plain" if body else b""),
             (b"CONTENT_LENGTH", str(len(body)).encode() if body else b""),
             (b"REQUEST_URI", uri), (b"PATH_INFO", path),
             (b"SERVER_PROTOCOL", b"HTTP/1.1"), (b"REQUEST_SCHEME", b"http"),
             (b"REMOTE_ADDR", b"127.0.0.1"), (b"REMOTE_PORT", b"40000"),
             (b"SERVER_PORT", b"80"), (b"SERVER_NAME", b"localhost"),
             (b"HTTP_HOST", b"localhost")]
    block = b"".join(len(k).to_bytes(2, "little") + k + len(v).to_bytes(2, "little") + v
                     for k, v in pairs)
    return b"\x00" + len(block).to_bytes(2, "little") + b"\x00" + block + body

for path in sorted(glob.glob(os.path.join(root, "tests", "vectors", "*.bin"))):
    name, data = os.path.basename(path), open(path, "rb").read()[:70000]
    if reply_of(name, data) is None:
        seed("axum_router", b"\x01" + data)
        seed("axum_router", b"\x03" + data)
for method, uri, body in [
        (b"GET", b"/bench", b""), (b"HEAD", b"/bench", b""),
        (b"POST", b"/echo?a=1", b"hello=world"), (b"PUT", b"/echo", b"x" * 20000),
        (b"GET", b"/big/100", b""), (b"GET", b"/big/70000", b""),
        (b"HEAD", b"/big/10", b""), (b"GET", b"/slow", b""),
        (b"GET", b"/events?n=2", b""), (b"GET", b"/nothing", b"")]:
    wire = nginx_request(method, uri, body)
    seed("axum_router", b"\x01" + wire)
    seed("axum_router", b"\x05" + wire + wire)  # pipelined, a 128-byte pipe
    seed("axum_router", b"\x03" + wire[:len(wire) - 3])  # cut short, then the close

for target in ("parse_packet", "differential", "vars_roundtrip", "array_roundtrip",
               "streaming", "typed_messages", "exchange", "axum_router"):
    d = os.path.join(fuzz, "corpus", target)
    os.makedirs(d, exist_ok=True)
    print(f"seed: {target}: {len(os.listdir(d))} files in corpus/{target}")
PY
