#!/usr/bin/env python3
"""Send raw bytes (given in hex) to a TCP uwsgi server and save the raw reply.

Usage: send_packet.py HOST:PORT HEX OUT [--timeout S]
       send_packet.py HOST:PORT @FILE OUT [--timeout S]   (send FILE's bytes)
Reads until the server closes the connection (or the timeout passes, which is
reported on stderr but is not an error: whatever arrived is saved).
"""
import argparse
import socket
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("addr")
    p.add_argument("hex")
    p.add_argument("out")
    p.add_argument("--timeout", type=float, default=10.0)
    a = p.parse_args()
    host, port = a.addr.rsplit(":", 1)
    if a.hex.startswith("@"):
        with open(a.hex[1:], "rb") as f:
            data = f.read()
    else:
        data = bytes.fromhex(a.hex)
    s = socket.create_connection((host, int(port)), timeout=a.timeout)
    s.sendall(data)
    got = bytearray()
    deadline = time.monotonic() + a.timeout
    closed = False
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            sys.stderr.write("send_packet: connection reset by peer\n")
            closed = True
            break
        if not chunk:
            closed = True
            break
        got += chunk
    s.close()
    with open(a.out, "wb") as f:
        f.write(got)
    sys.stderr.write("send_packet: sent %s, got %d bytes%s: %s\n" % (
        data[:16].hex(" "), len(got), "" if closed else " (no EOF before timeout)",
        bytes(got[:32]).hex(" ")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
