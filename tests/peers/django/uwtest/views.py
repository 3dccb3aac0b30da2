"""The routes tests/conformance/client_driver.rs needs (see ../README.md)."""

import hashlib
import json
import os
import time

from django.http import HttpResponse, StreamingHttpResponse

CHUNK = 64 * 1024


def json_response(data, status=200):
    body = json.dumps(data, sort_keys=True).encode()
    response = HttpResponse(body, status=status, content_type="application/json")
    response["Content-Length"] = str(len(body))
    return response


def lists(query_dict):
    return {key: query_dict.getlist(key) for key in query_dict}


def echo(request):
    meta = request.META
    return json_response(
        {
            "method": request.method,
            "path": request.path,
            "request_uri": meta.get("REQUEST_URI"),
            "remote_addr": meta.get("REMOTE_ADDR"),
            "server_protocol": meta.get("SERVER_PROTOCOL"),
            "content_type": meta.get("CONTENT_TYPE"),
            "content_length": meta.get("CONTENT_LENGTH"),
            "query": lists(request.GET),
            "cookies": request.COOKIES,
            "form": lists(request.POST),
        }
    )


def environ(request):
    """Every CGI var and HTTP_ header of the WSGI environ (the upper-case keys), for
    comparing what two front ends send."""
    return json_response(
        {k: v for k, v in request.META.items() if k.isupper() and isinstance(v, str)}
    )


def meta(request):
    """Every str value of the WSGI environ, whatever its key's case: the uwsgi params a
    front end adds (the NGINX guide's `Host`, `X-Real-IP`, ...) are keys as sent."""
    return json_response({k: v for k, v in request.META.items() if isinstance(v, str)})


def sha256(request):
    digest = hashlib.sha256()
    length = 0
    while True:
        chunk = request.read(CHUNK)
        if not chunk:
            break
        digest.update(chunk)
        length += len(chunk)
    return json_response({"sha256": digest.hexdigest(), "length": length})


# 261 x 251 bytes: every chunk starts at a multiple of 251, so byte k is k % 251.
BLOCK = bytes(range(251)) * 261


def download(request):
    n = int(request.GET["n"])

    def chunks():
        left = n
        while left > 0:
            piece = BLOCK[: min(left, len(BLOCK))]
            left -= len(piece)
            yield piece

    response = StreamingHttpResponse(chunks(), content_type="application/octet-stream")
    response["Content-Length"] = str(n)
    return response


def status(request, code):
    response = HttpResponse(b"status %d" % code, status=code, content_type="text/plain")
    response["Content-Length"] = str(len(response.content))
    for header in request.GET.getlist("h"):
        name, _, value = header.partition(":")
        response[name] = value
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    return response


def die(request):
    n = int(request.GET["n"])

    def chunks():
        yield b"x" * n
        # The worker dies with half of the announced body sent.
        os._exit(1)

    response = StreamingHttpResponse(chunks(), content_type="application/octet-stream")
    response["Content-Length"] = str(2 * n)
    return response


def slow(request):
    time.sleep(float(request.GET["s"]))
    response = HttpResponse(b"slow", content_type="text/plain")
    response["Content-Length"] = "4"
    return response


def slow_body(request):
    seconds = float(request.GET["s"])

    def chunks():
        yield b"part"
        time.sleep(seconds)
        yield b"done"

    response = StreamingHttpResponse(chunks(), content_type="text/plain")
    response["Content-Length"] = "8"
    return response
