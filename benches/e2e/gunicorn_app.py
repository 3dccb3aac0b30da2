# The WSGI app of the `gunicorn` row of benches/e2e/run.sh: the same answer as every
# other backend there (status 200, Content-Type: text/plain, Content-Length: 13,
# "Hello, world!") for any request. gunicorn writes the status line itself and adds
# its own Server, Date and Connection headers (it always does; nginx drops them, so
# through nginx the response is the same as every other row's).

BODY = b"Hello, world!"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
