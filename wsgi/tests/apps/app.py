"""The WSGI application of wsgi/tests/nginx.rs: one route per behaviour under test."""
import hashlib
import io
import json
import os
import sys
import threading
import time
import wsgiref.validate
from urllib.parse import parse_qs


def env(environ, start_response):
    shown = {k: v for k, v in environ.items() if isinstance(v, (str, bool, int))}
    shown["wsgi.version"] = list(environ["wsgi.version"])
    shown["input.type"] = type(environ["wsgi.input"]).__name__
    body = json.dumps(shown, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def form(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    fields = parse_qs(environ["wsgi.input"].read(length).decode("latin-1"))
    extra = environ["wsgi.input"].read(100)  # at the end: nothing more
    body = json.dumps({"fields": fields, "extra": extra.decode()}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def readall(environ, start_response):
    stream = environ["wsgi.input"]
    head = stream.read(3)
    rest = stream.read()  # no size: the rest (outside PEP 3333, which wsgiref.validate forbids)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps([head.decode(), rest.decode(), stream.read(5).decode()]).encode()]


def echo(environ, start_response):
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


def wrapped(environ, start_response):
    with open("wrapped.bin", "wb") as f:
        f.write(bytes(range(256)) * 1000)
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return environ["wsgi.file_wrapper"](open("wrapped.bin", "rb"), 4096)


class NoRead(io.FileIO):
    """A real file whose read() fails: only sendfile() can send it. Its close() leaves
    a mark."""

    def read(self, *args):
        raise RuntimeError("read() called: the host did not use sendfile")

    readinto = readall = read

    def close(self):
        if not self.closed:
            with open("sendfile-closed.txt", "a") as f:
                f.write("closed\n")
        super().close()


def sendfile(environ, start_response):
    # ?mode=offset: from the file object's position; ?mode=length: a Content-Length
    # shorter than the file; ?mode=bytesio: no descriptor, so the iteration's chunks.
    mode = parse_qs(environ["QUERY_STRING"]).get("mode", ["offset"])[0]
    with open("sendfile.bin", "wb") as f:
        f.write(bytes(range(256)) * 4000)
    headers = [("Content-Type", "application/octet-stream")]
    if mode == "bytesio":
        filelike = io.BytesIO(bytes(range(256)) * 4000)
    else:
        filelike = NoRead("sendfile.bin")
    if mode == "offset":
        filelike.seek(1000)
    if mode == "length":
        headers.append(("Content-Length", "5000"))
    start_response("200 OK", headers)
    return environ["wsgi.file_wrapper"](filelike, 8192)


def config(environ, start_response):
    try:
        import extra_mod  # from --pythonpath
        extra = extra_mod.VALUE
    except ImportError as e:
        extra = str(e)
    body = json.dumps({"flavour": os.environ.get("APP_FLAVOUR"), "extra": extra,
                       "cwd": os.getcwd()}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


_local = threading.local()


def local(environ, start_response):
    _local.n = getattr(_local, "n", 0) + 1
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(_local.n).encode()]


def upload(environ, start_response):
    digest, total, stream = hashlib.sha256(), 0, environ["wsgi.input"]
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        digest.update(chunk)
        total += len(chunk)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{total} {digest.hexdigest()}".encode()]


def lines(environ, start_response):
    stream = environ["wsgi.input"]
    first = stream.readline()
    capped = stream.readline(3)
    some = stream.readlines(1)
    rest = list(stream)
    body = json.dumps([x.decode() for x in [first, capped] + some + rest]).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def download(environ, start_response):
    mib = int(parse_qs(environ["QUERY_STRING"]).get("mib", ["1"])[0])
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(mib << 20))])

    def chunks():
        chunk = bytes(range(256)) * 256  # 64 KiB
        for _ in range(mib * 16):
            yield chunk
    return chunks()


def cookies(environ, start_response):
    start_response("201 Created", [("Content-Type", "text/plain"),
                                   ("Set-Cookie", "a=1; Path=/"),
                                   ("Set-Cookie", "b=2; Path=/"),
                                   ("X-Reason", "custom")])
    return [b"created"]


def teapot(environ, start_response):
    start_response("418", [("Content-Type", "text/plain")])
    return [b"short and stout"]


def boom(environ, start_response):
    raise RuntimeError("boom from the view")


def replaced(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        raise ValueError("late failure")
    except ValueError:
        start_response("503 Replaced", [("Content-Type", "text/plain")], sys.exc_info())
    return [b"replaced head"]


def late(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def chunks():
        yield b"first chunk, "
        try:
            raise ValueError("after the head")
        except ValueError:
            # PEP 3333: the head is gone, so start_response re-raises.
            start_response("500 Too Late", [], sys.exc_info())
        yield b"never sent"
    return chunks()


def inject(environ, start_response):
    start_response("200 OK", [("X-Evil", "a\r\nSet-Cookie: owned=1")])
    return [b"never sent"]


def written(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"from write(), ")
    return [b"then from the iterable"]


class Leave:
    """A response that never ends by itself: stops when the host stops iterating."""

    def __init__(self):
        self.sent = 0

    def __iter__(self):
        chunk = b"x" * 65536
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.sent += 1
            yield chunk

    def close(self):
        with open("closed.txt", "w") as f:
            f.write(f"closed after {self.sent} chunks")


def leave(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return Leave()


def pid(environ, start_response):
    # Which worker process served the request (--processes, --max-requests).
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]


def slow(environ, start_response):
    # Longer than the --harakiri of its test.
    time.sleep(float(parse_qs(environ.get("QUERY_STRING", "")).get("s", ["10"])[0]))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"slept"]


ROUTES = {
    "/env": env, "/form": form, "/readall": readall, "/echo": echo, "/local": local, "/config": config, "/wrapped": wrapped, "/upload": upload, "/lines": lines,
    "/download": download, "/cookies": cookies, "/teapot": teapot, "/boom": boom,
    "/replaced": replaced, "/write": written, "/late": late, "/inject": inject, "/leave": leave,
    "/pid": pid,
    "/sendfile": sendfile,
    "/slow": slow,
}


def application(environ, start_response):
    path = environ["PATH_INFO"]
    route = ROUTES.get(path) or (env if path.startswith("/env/") else None)
    if route is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    return route(environ, start_response)


validated = wsgiref.validate.validator(application)
