#!/usr/bin/env python3
"""Raw uwsgi capture listener used by capture.sh.

TCP mode: listen on HOST:PORT, accept ONE connection, read the 4-byte uwsgi
header, then `datasize` bytes, then (only if the block parses as a vars
dictionary containing CONTENT_LENGTH) exactly CONTENT_LENGTH body bytes.
With --body-var NAME the body length is taken from the first decimal var
NAME instead (e.g. `size` for a uWSGI magic cache `set`, whose value follows the
block uncounted by datasize).
Everything received is written verbatim to --out.  Then a reply chosen with
--reply is sent and the connection is closed.

UDP mode: bind HOST:PORT, write each datagram verbatim to
<--out-prefix>-<N>.bin (N = 1, 2, ...) until --count datagrams arrived.

Once the socket is bound, the actual port is written to --ready (so PORT may
be 0).  On timeout the script exits with status 2.  Nothing here interprets
the packet beyond what is needed to know where it ends.
"""
import argparse
import select
import socket
import struct
import sys
import time

REPLIES = {
    # plain HTTP answer for proxied requests
    "http": b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    # modifier1 100, datasize 0, modifier2 1: pong
    "pong": bytes([0x64, 0x00, 0x00, 0x01]),
    # modifier1 255, datasize 0, modifier2 1: generic "ok" (signal queued)
    "ok": bytes([0xFF, 0x00, 0x00, 0x01]),
    # modifier1 173, datasize 5, modifier2 0, then the 5 result bytes
    "rpc": bytes([0xAD, 0x05, 0x00, 0x00]) + b"hello",
    # modifier1 111, datasize 12, modifier2 17, vars {status: ok}: what a
    # uWSGI cache server answers to a magic cache set/update/del/exists
    "cache-ok": bytes([0x6F, 0x0C, 0x00, 0x11]) + b"\x06\x00status\x02\x00ok",
    "none": b"",
}


def log(msg):
    sys.stderr.write("dump_listener: %s\n" % msg)
    sys.stderr.flush()


def recv_exact(conn, n, deadline):
    buf = bytearray()
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timeout with %d of %d bytes" % (len(buf), n))
        conn.settimeout(left)
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError("EOF after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def parse_vars(block):
    """Minimal vars parser: list of (key, value) or None if it does not parse."""
    out = []
    i = 0
    n = len(block)
    while i < n:
        if i + 2 > n:
            return None
        (kl,) = struct.unpack_from("<H", block, i)
        i += 2
        if i + kl + 2 > n:
            return None
        k = block[i:i + kl]
        i += kl
        (vl,) = struct.unpack_from("<H", block, i)
        i += 2
        if i + vl > n:
            return None
        out.append((k, block[i:i + vl]))
        i += vl
    return out


def body_length(block, var=b"CONTENT_LENGTH"):
    """Value of the first var `var` with a decimal value, else 0."""
    pairs = parse_vars(block)
    if not pairs:
        return 0
    for k, v in pairs:
        if k == var and v.strip().isdigit():
            return int(v)
    return 0


def tcp(args):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.host, args.port))
    srv.listen(8)
    write_ready(args.ready, srv.getsockname()[1])
    deadline = time.monotonic() + args.timeout
    srv.settimeout(args.timeout)
    try:
        conn, peer = srv.accept()
    except socket.timeout:
        log("no connection within %ss" % args.timeout)
        return 2
    got = bytearray()
    try:
        head = recv_exact(conn, 4, deadline)
        got += head
        m1, size, m2 = head[0], struct.unpack_from("<H", head, 1)[0], head[3]
        block = recv_exact(conn, size, deadline)
        got += block
        blen = body_length(block, args.body_var.encode())
        if blen:
            got += recv_exact(conn, blen, deadline)
        # Anything the peer sends beyond the expected end (it should not).
        extra = bytearray()
        end = time.monotonic() + args.drain
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([conn], [], [], left)
            if not r:
                break
            chunk = conn.recv(65536)
            if not chunk:
                break
            extra += chunk
        if extra and args.keep_extra:
            log("%d bytes after the expected end kept in the capture (--keep-extra)" % len(extra))
            got += extra
            extra = bytearray()
        with open(args.out, "wb") as f:
            f.write(got)
        if extra:
            with open(args.out + ".extra", "wb") as f:
                f.write(extra)
            log("WARNING: %d unexpected extra bytes after the packet (saved to %s.extra)"
                % (len(extra), args.out))
        log("tcp from %s:%d m1=%d datasize=%d m2=%d body=%d total=%d -> %s"
            % (peer[0], peer[1], m1, size, m2, blen, len(got), args.out))
        conn.settimeout(5)
        if REPLIES[args.reply]:
            conn.sendall(REPLIES[args.reply])
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        # give the peer a moment to read the reply before the socket dies
        conn.settimeout(2)
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass
    except (TimeoutError, EOFError, socket.timeout) as e:
        log("incomplete packet: %s (%d bytes so far: %s)" % (e, len(got), bytes(got[:64]).hex()))
        with open(args.out + ".partial", "wb") as f:
            f.write(got)
        return 2
    finally:
        conn.close()
        srv.close()
    return 0


def udp(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args.host, args.port))
    write_ready(args.ready, s.getsockname()[1])
    deadline = time.monotonic() + args.timeout
    n = 0
    while n < args.count:
        left = deadline - time.monotonic()
        if left <= 0:
            log("timeout after %d of %d datagrams" % (n, args.count))
            return 2
        s.settimeout(left)
        try:
            data, peer = s.recvfrom(65536)
        except socket.timeout:
            continue
        n += 1
        name = "%s-%d.bin" % (args.out_prefix, n)
        with open(name, "wb") as f:
            f.write(data)
        m2 = data[3] if len(data) >= 4 else -1
        log("udp datagram %d from %s:%d, %d bytes, m1=%d m2=%d -> %s"
            % (n, peer[0], peer[1], len(data), data[0] if data else -1, m2, name))
    return 0


def write_ready(path, port):
    if path:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        import os
        os.rename(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--udp", action="store_true", help="UDP datagram mode")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--out", help="TCP: file for the captured bytes")
    p.add_argument("--out-prefix", help="UDP: prefix of the datagram files")
    p.add_argument("--count", type=int, default=1, help="UDP: datagrams to capture")
    p.add_argument("--reply", choices=sorted(REPLIES), default="http")
    p.add_argument("--ready", help="write the bound port here once listening")
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--drain", type=float, default=0.2,
                   help="TCP: seconds to watch for unexpected extra bytes")
    p.add_argument("--body-var", default="CONTENT_LENGTH",
                   help="TCP: var whose decimal value is the number of body bytes "
                        "after the block (default CONTENT_LENGTH)")
    p.add_argument("--keep-extra", action="store_true",
                   help="TCP: append bytes that arrive during the drain to the capture "
                        "(for peers that send a body not counted by CONTENT_LENGTH)")
    args = p.parse_args()
    if args.udp:
        if not args.out_prefix:
            p.error("--udp needs --out-prefix")
        return udp(args)
    if not args.out:
        p.error("TCP mode needs --out")
    return tcp(args)


if __name__ == "__main__":
    sys.exit(main())
