#!/usr/bin/env python3
"""Where a backend's CPU goes, per request, from a `perf record -g` profile.

usage: perf script -i perf-NAME.data -F comm,ip,sym | benches/e2e/perf_breakdown.py REQUESTS [FREQ]

REQUESTS is the number of requests served while perf recorded (profile-axum.sh writes
it on the first line of perf-NAME.txt), FREQ the sampling frequency (perf record -F,
default 4000). Prints, in microseconds of CPU per request and as a share of all the
samples: the kernel time by system call (the innermost sys_* / ksys_* frame; "k:other"
is kernel time outside one: interrupts, softirqs, scheduling), and the user time by
the innermost frame that belongs to a known component of the server driver's path.

A sample is a period of 1/FREQ s of CPU time, perf's own overhead included: the totals
run above the /proc CPU figures. Compare shares, or scale them to /proc's total.
Inlined frames show only with `--call-graph dwarf` and a binary with debug info
(CARGO_PROFILE_RELEASE_DEBUG=1); with frame pointers they are folded into their caller.
"""

import collections
import re
import sys

# Innermost match wins: the first pattern (in this order) that a frame matches, walking
# up from the leaf.
COMPONENTS = [
    ("tracing", r"tracing"),
    ("timeouts (tokio::time)", r"tokio::time::|tokio::runtime::time"),
    ("mpsc body channel", r"tokio::sync::mpsc|server::body|RequestBody"),
    ("watch (shutdown signal)", r"tokio::sync::watch"),
    ("tokio::io::split", r"tokio::io::split"),
    ("FramedRead + codec decode",
     r"FramedImpl|FramedRead|ReadFrame|UwsgiCodec|uwsgi_wire::codec|uwsgi_wire::exchange"
     r"|poll_read_buf|uwsgi_wire::owned|uwsgi_wire::header"),
    ("request_from_vars (http::Request)",
     r"request_from_vars|uwsgi_wire::cgi::|uwsgi_wire::vars|uwsgi_wire::message"
     r"|http::extensions|Extensions|HeaderMap|http::uri|http::request"),
    ("axum Router + handler", r"axum::|tower::|matchit|<F as axum"),
    ("write_response + head", r"write_response|encode_response_head|write_all|server::response|write_status"),
    ("spawn + JoinSet + task cell",
     r"JoinSet|tokio::task::spawn|spawn_inner|Cell<T,S>::new|bind_new_task|IdleNotifiedSet"
     r"|OwnedTasks|set_stage|try_read_output|Harness<T,S>::(dealloc|complete|drop)"
     r"|drop_join_handle|RawTask|task::raw::dealloc"),
    ("accept + set_nodelay + peer check",
     r"Listener>::accept|TcpListener::accept|set_nodelay|Serve<S>>::allows|poll_accept|accept4"),
    ("epoll (de)registration",
     r"Registration::(new|deregister)|registration_set|add_source|Registry>::(register|deregister)"
     r"|PollEvented<E>::new|PollEvented<E> as core::ops::drop"),
    ("mio / tokio net I/O wrappers", r"mio::|PollEvented|tokio::net::"),
    ("semaphore (max_connections)", r"Semaphore"),
    ("connection task (rest of serve_connection)", r"uwsgi_wire::server"),
    ("tokio scheduler + IO driver", r"tokio::runtime"),
]
COMPONENTS = [(name, re.compile(rx)) for name, rx in COMPONENTS]
SYSCALL = re.compile(r"(?:__(?:x64|do)_sys_|ksys_|__sys_)(\w+)")
ALLOC = re.compile(r"^(_int_malloc|malloc|_int_free|cfree|free|unlink_chunk|malloc_consolidate"
                   r"|_int_memalign|__libc_memalign|aligned_alloc|_int_realloc|realloc|tcache_get"
                   r"|__GI___libc_malloc|__GI___libc_free)")
COPY = re.compile(r"^__mem(move|cpy)")


def samples(lines):
    """Yields (thread, [(address, symbol), ...] from the leaf up)."""
    comm, frames = None, []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if comm is not None:
                yield comm, frames
            comm, frames = None, []
        elif not line.startswith(("\t", " ")):
            comm, frames = line.split()[0], []
        else:
            parts = line.strip().split(None, 1)
            frames.append((parts[0], parts[1] if len(parts) > 1 else "?"))
    if comm is not None:
        yield comm, frames


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    requests = int(sys.argv[1])
    period_us = 1e6 / float(sys.argv[2] if len(sys.argv) > 2 else 4000)
    kernel = collections.Counter()
    user = collections.Counter()
    threads = collections.Counter()
    alloc = collections.Counter()
    total = 0
    for comm, frames in samples(sys.stdin):
        if not frames:
            continue
        total += 1
        threads[comm] += 1
        if frames[0][0].startswith("ffffffff"):
            name = next((m.group(1) for _, f in frames if (m := SYSCALL.match(f))), "k:other")
            kernel[name] += 1
            continue
        component = "other"
        for address, symbol in frames:
            hit = next((name for name, rx in COMPONENTS if rx.search(symbol)), None)
            if hit:
                component = hit
                break
        user[component] += 1
        leaf = frames[0][1]
        if ALLOC.search(leaf):
            alloc["malloc/free"] += 1
        elif COPY.search(leaf):
            alloc["memmove/memcpy"] += 1
    if not total:
        sys.exit("no samples")

    def us(n):
        return n * period_us / requests

    print(f"{total} samples = {us(total):.1f} us/request over {requests} requests; by thread: "
          + ", ".join(f"{t} {us(n):.1f}" for t, n in threads.most_common()))
    print(f"kernel {us(sum(kernel.values())):.2f} us/request "
          f"({100 * sum(kernel.values()) / total:.1f} %), by system call:")
    for name, n in kernel.most_common():
        print(f"  {name:44s} {us(n):6.2f}  {100 * n / total:5.1f} %")
    print(f"user {us(sum(user.values())):.2f} us/request "
          f"({100 * sum(user.values()) / total:.1f} %), by innermost component:")
    for name, n in user.most_common():
        print(f"  {name:44s} {us(n):6.2f}  {100 * n / total:5.1f} %")
    print("of which in the allocator and in memmove/memcpy (leaf): "
          + ", ".join(f"{k} {us(n):.2f} us ({100 * n / total:.1f} %)" for k, n in alloc.most_common()))


if __name__ == "__main__":
    main()
