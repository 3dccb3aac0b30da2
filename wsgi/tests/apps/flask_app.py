"""The Flask application of wsgi/tests/nginx.rs."""
import hashlib

from flask import Flask, Response, request, stream_with_context

app = Flask(__name__)


@app.get("/hello")
def hello():
    return {"name": request.args.get("name"), "cookie": request.cookies.get("session"),
            "scheme": request.scheme, "host": request.host}


@app.post("/form")
def form():
    return {"a": request.form.getlist("a"), "b": request.form.get("b")}


@app.post("/upload")
def upload():
    digest, total = hashlib.sha256(), 0
    while chunk := request.stream.read(65536):
        digest.update(chunk)
        total += len(chunk)
    return f"{total} {digest.hexdigest()}"


@app.get("/stream")
def stream():
    def chunks():
        for i in range(1000):
            yield f"line {i}\n"
    return Response(stream_with_context(chunks()), mimetype="text/plain")


@app.get("/cookies")
def cookies():
    response = Response("set", status=202)
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    return response


@app.get("/boom")
def boom():
    raise RuntimeError("boom from flask")
