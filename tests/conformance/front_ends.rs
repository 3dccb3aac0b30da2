//! Part 1, real encoders -> our decoder: live HTTP requests through nginx, Apache
//! `mod_proxy_uwsgi`, lighttpd (`scgi.protocol = "uwsgi"`) and the uWSGI HTTP router reach
//! the [`Backend`], which decodes them with the crate. Every var is checked against what
//! the request sent (names, order and values; facts from `tests/vectors/README.md`), the
//! body byte for byte, and re-encoding against the received bytes.

use std::fs;
use std::time::Duration;

use uwsgi_wire::Modifier1;

use crate::backend::{Backend, Capture, Outcome, REPLY_BODY};
use crate::client::{chunked, pattern, Conn, HttpRequest, HttpResponse};
use crate::expect::{check_request, Expected};
use crate::harness::{require, TempDir, APACHE, CLEAN_PATH, LIGHTTPD, NGINX, UWSGI_ROUTER};
use crate::peers::{self, FrontEnd};

/// Path and query of the GET every front end gets.
const GET_TARGET: &str = "/path/x?a=1&b=2";
/// A header value that is not UTF-8 (Latin-1 `café`, a space, 0xFF).
const LATIN: &[u8] = b"caf\xe9 \xff";
const USER_AGENT: &str = "uwsgi-wire-conformance";

/// The GET: a non-UTF-8 value, two `Cookie` and two `X-Dup` lines interleaved, and a
/// header name with an underscore.
fn get_request(port: u16) -> HttpRequest {
    HttpRequest::new("GET", GET_TARGET, port)
        .header("User-Agent", USER_AGENT)
        .header("X-Latin", LATIN)
        .header("Cookie", "a=1")
        .header("X-Dup", "one")
        .header("Cookie", "b=2")
        .header("X-Dup", "two")
        .header("X_Under", "kept")
}

/// A POST with a `len`-byte body and a Content-Length.
fn post_request(port: u16, len: usize) -> HttpRequest {
    HttpRequest::new("POST", "/post", port)
        .header("Content-Type", "application/octet-stream")
        .header("Content-Length", len.to_string())
}

/// A POST with a chunked body.
fn chunked_request(port: u16) -> HttpRequest {
    HttpRequest::new("POST", "/chunked", port)
        .header("Content-Type", "text/plain")
        .header("Transfer-Encoding", "chunked")
}

/// The 32-byte body of the chunked POSTs (the one `capture.sh` sends), in 3 chunks.
const CHUNKED_BODY: &[u8] = b"chunk-one;chunk-two;chunk-three\n";

#[track_caller]
fn assert_ok(response: &HttpResponse) {
    assert_eq!(
        (response.status, &response.body[..]),
        (200, REPLY_BODY),
        "front end answered {:?}",
        response.status_line
    );
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("hostname")
        .trim()
        .to_owned()
}

// ---------------------------------------------------------------------------- nginx

/// What one request to nginx looks like, for the `uwsgi_params` vars.
struct NginxRequest<'a> {
    method: &'a str,
    uri: &'a str,
    content_type: &'a str,
    content_length: &'a str,
    local_port: u16,
    front: &'a FrontEnd,
}

/// The vars Debian's `/etc/nginx/uwsgi_params` produces, in its order, read from the file
/// itself (Debian 12 adds `HTTP_HOST $host`).
fn nginx_params(r: &NginxRequest<'_>) -> (Expected, Vec<String>) {
    let params = fs::read_to_string("/etc/nginx/uwsgi_params").expect("uwsgi_params");
    let (path, query) = r.uri.split_once('?').unwrap_or((r.uri, ""));
    let mut expected = Expected::new();
    let mut names = Vec::new();
    for line in params.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("uwsgi_param") else {
            continue;
        };
        let words: Vec<&str> = rest
            .trim_end_matches(';')
            .split_whitespace()
            .map(|w| w.trim_end_matches(';'))
            .collect();
        let (name, variable) = (words[0], words[1]);
        let if_not_empty = words.get(2) == Some(&"if_not_empty");
        let value = match variable {
            "$query_string" | "$args" => query.to_owned(),
            "$request_method" => r.method.to_owned(),
            "$content_type" => r.content_type.to_owned(),
            "$content_length" => r.content_length.to_owned(),
            "$request_uri" => r.uri.to_owned(),
            "$document_uri" | "$uri" => path.to_owned(),
            "$document_root" => r.front.docroot.clone(),
            "$server_protocol" => "HTTP/1.1".to_owned(),
            "$scheme" => "http".to_owned(),
            "$https" => String::new(),
            "$remote_addr" | "$server_addr" => "127.0.0.1".to_owned(),
            "$remote_port" => r.local_port.to_string(),
            "$server_port" => r.front.port.to_string(),
            "$server_name" => "localhost".to_owned(),
            "$host" => "127.0.0.1".to_owned(),
            "$http_host" => format!("127.0.0.1:{}", r.front.port),
            other => panic!("uwsgi_params uses {other}: teach nginx_params its value"),
        };
        if if_not_empty && value.is_empty() {
            continue;
        }
        expected = expected.var(name, value);
        names.push(name.to_owned());
    }
    (expected, names)
}

#[test]
fn nginx_get_every_var_duplicate_lines_and_non_utf8_value() {
    require!(NGINX);
    let dir = TempDir::new("nginx-get");
    let backend = Backend::start();
    let front = peers::nginx(&dir, backend.port());
    let (local_port, response) = get_request(front.port).send(front.port, b"");
    assert_ok(&response);
    let capture = backend.expect_request();

    let (params, names) = nginx_params(&NginxRequest {
        method: "GET",
        uri: GET_TARGET,
        content_type: "",
        content_length: "",
        local_port,
        front: &front,
    });
    assert!(
        names.contains(&"HTTP_HOST".to_owned()),
        "Debian 12's uwsgi_params sets HTTP_HOST, so nginx drops the Host header"
    );
    // Then the request headers in request order, one var per line (nginx < 1.23 does
    // not merge), `X_Under` dropped (underscores_in_headers off), bytes verbatim.
    params
        .var("HTTP_USER_AGENT", USER_AGENT)
        .var("HTTP_X_LATIN", LATIN)
        .var("HTTP_COOKIE", "a=1")
        .var("HTTP_X_DUP", "one")
        .var("HTTP_COOKIE", "b=2")
        .var("HTTP_X_DUP", "two")
        .var("HTTP_CONNECTION", "close")
        .check(&capture);
    check_request(&capture, Modifier1::WSGI, 0, b"");

    let request = capture.request();
    let vars = request.vars();
    assert_eq!(vars.get(b"HTTP_COOKIE"), Some(&b"b=2"[..]), "last wins");
    assert_eq!(vars.get_first(b"HTTP_COOKIE"), Some(&b"a=1"[..]));
    assert_eq!(
        vars.get_all(b"HTTP_X_DUP").collect::<Vec<_>>(),
        [&b"one"[..], b"two"]
    );
    assert_eq!(
        (
            request.vars().get(b"REQUEST_METHOD"),
            request.vars().get(b"REQUEST_URI"),
            request.vars().get(b"PATH_INFO"),
            request.vars().get(b"QUERY_STRING"),
            request.vars().get(b"SERVER_PROTOCOL"),
            request.scheme()
        ),
        (
            Some(&b"GET"[..]),
            Some(GET_TARGET.as_bytes()),
            Some(&b"/path/x"[..]),
            Some(&b"a=1&b=2"[..]),
            Some(&b"HTTP/1.1"[..]),
            &b"http"[..]
        )
    );
    // nginx sends CONTENT_LENGTH "" for a GET: no body.
    assert_eq!(vars.content_length(), Ok(None));
}

#[test]
fn nginx_modifiers_duplicate_params_and_empty_last_param() {
    require!(NGINX);
    let dir = TempDir::new("nginx-modifiers");
    let backend = Backend::start();
    let front = peers::nginx(&dir, backend.port());

    // Request headers off: the configured `EMPTY_LAST ""` is the very last pair.
    let (local_port, response) = HttpRequest::new("GET", "/modifiers", front.port)
        .header("User-Agent", USER_AGENT)
        .send(front.port, b"");
    assert_ok(&response);
    let capture = backend.expect_request();
    let request = NginxRequest {
        method: "GET",
        uri: "/modifiers",
        content_type: "",
        content_length: "",
        local_port,
        front: &front,
    };
    let (params, _) = nginx_params(&request);
    params
        .var("X_DUP", "a")
        .var("X_DUP", "b")
        .var("EMPTY_LAST", "")
        .check(&capture);
    check_request(&capture, Modifier1::PSGI, 9, b"");
    assert_eq!(&capture.raw[..1], [5], "uwsgi_modifier1 5");
    assert_eq!(capture.raw[3], 9, "uwsgi_modifier2 9");
    let vars = capture.request().vars();
    assert_eq!(vars.get(b"X_DUP"), Some(&b"b"[..]));
    assert_eq!(
        vars.get_all(b"X_DUP").collect::<Vec<_>>(),
        [&b"a"[..], b"b"]
    );
    assert_eq!(vars.iter().last(), Some((&b"EMPTY_LAST"[..], &b""[..])));
    assert!(
        capture
            .packet_bytes()
            .ends_with(b"\x0a\x00EMPTY_LAST\x00\x00"),
        "the block ends with a zero value length"
    );

    // Request headers on: nginx appends them after every uwsgi_param.
    let (local_port, response) = HttpRequest::new("GET", "/modifiers-headers", front.port)
        .header("User-Agent", USER_AGENT)
        .send(front.port, b"");
    assert_ok(&response);
    let capture = backend.expect_request();
    let (params, _) = nginx_params(&NginxRequest {
        uri: "/modifiers-headers",
        local_port,
        ..request
    });
    params
        .var("X_DUP", "a")
        .var("X_DUP", "b")
        .var("EMPTY_LAST", "")
        .var("HTTP_USER_AGENT", USER_AGENT)
        .var("HTTP_CONNECTION", "close")
        .check(&capture);
    check_request(&capture, Modifier1::PSGI, 9, b"");
}

/// One `X-Big` header line whose value has `len` bytes of `[a-z0-9]`.
fn big_value(len: usize) -> Vec<u8> {
    b"abcdefghijklmnopqrstuvwxyz0123456789"
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

#[test]
fn nginx_header_up_to_the_64k_block_limit() {
    require!(NGINX);
    let dir = TempDir::new("nginx-64k");
    let backend = Backend::start();
    let front = peers::nginx(&dir, backend.port());
    let send = |len: usize| {
        HttpRequest::new("GET", "/large", front.port)
            .header("X-Big", big_value(len))
            .send(front.port, b"")
    };

    // Probe with a 1-byte value, then grow it so the block is exactly 65535 bytes
    // (REMOTE_PORT is an ephemeral port, always 5 digits, so the size carries over).
    let (_, response) = send(1);
    assert_ok(&response);
    let probe = backend.expect_request();
    let len = 1 + 65535 - (probe.packet_len - 4);

    let (local_port, response) = send(len);
    assert_ok(&response);
    let capture = backend.expect_request();
    assert_eq!(
        &capture.raw[..4],
        [0x00, 0xff, 0xff, 0x00],
        "datasize 65535"
    );
    let (params, _) = nginx_params(&NginxRequest {
        method: "GET",
        uri: "/large",
        content_type: "",
        content_length: "",
        local_port,
        front: &front,
    });
    params
        .var("HTTP_X_BIG", big_value(len))
        .var("HTTP_CONNECTION", "close")
        .check(&capture);
    check_request(&capture, Modifier1::WSGI, 0, b"");

    // One byte more: nginx answers 500 and never connects to the backend.
    let (_, response) = send(len + 1);
    assert_eq!(response.status, 500);
    backend.expect_no_connection(Duration::from_millis(300));
    let error_log = fs::read_to_string(dir.path().join("error.log")).expect("error.log");
    assert!(
        error_log.contains("uwsgi request is too big: 65536"),
        "nginx error.log:\n{error_log}"
    );
}

#[test]
fn nginx_streams_a_4_mib_body_unbuffered() {
    require!(NGINX);
    let dir = TempDir::new("nginx-stream");
    let backend = Backend::start();
    let front = peers::nginx(&dir, backend.port());
    let body = pattern(4 << 20);
    let request = HttpRequest::new("POST", "/stream?big=1", front.port)
        .header("Content-Type", "application/octet-stream")
        .header("Content-Length", body.len().to_string());

    // `uwsgi_request_buffering off`: the packet reaches the backend while 3 MiB of the
    // body are still with the client (a buffering front end would wait for all of it).
    let mut conn = Conn::open(front.port);
    conn.write(&request.bytes());
    conn.write(&body[..1 << 20]);
    backend.expect_head(Duration::from_secs(20));
    conn.write(&body[1 << 20..]);
    let local_port = conn.local_port;
    assert_ok(&conn.response());

    let capture = backend.expect_request();
    let (params, _) = nginx_params(&NginxRequest {
        method: "POST",
        uri: "/stream?big=1",
        content_type: "application/octet-stream",
        content_length: "4194304",
        local_port,
        front: &front,
    });
    params
        .var("HTTP_CONTENT_TYPE", "application/octet-stream")
        .var("HTTP_CONTENT_LENGTH", "4194304")
        .var("HTTP_CONNECTION", "close")
        .check(&capture);
    check_request(&capture, Modifier1::WSGI, 0, &body);
}

#[test]
fn nginx_dechunks_a_3_mib_chunked_body_and_keeps_transfer_encoding() {
    require!(NGINX);
    let dir = TempDir::new("nginx-chunked");
    let backend = Backend::start();
    let front = peers::nginx(&dir, backend.port());
    let body = pattern(3 << 20);
    let (local_port, response) =
        chunked_request(front.port).send(front.port, &chunked(&body, 65536));
    assert_ok(&response);
    let capture = backend.expect_request();
    let (params, _) = nginx_params(&NginxRequest {
        method: "POST",
        uri: "/chunked",
        content_type: "text/plain",
        content_length: "3145728",
        local_port,
        front: &front,
    });
    // CONTENT_LENGTH is set from the de-chunked body, yet HTTP_TRANSFER_ENCODING is
    // still forwarded, and there is no HTTP_CONTENT_LENGTH.
    params
        .var("HTTP_CONTENT_TYPE", "text/plain")
        .var("HTTP_TRANSFER_ENCODING", "chunked")
        .var("HTTP_CONNECTION", "close")
        .check(&capture);
    check_request(&capture, Modifier1::WSGI, 0, &body);
}

#[test]
fn nginx_post_body() {
    require!(NGINX);
    let dir = TempDir::new("nginx-post");
    let backend = Backend::start();
    let front = peers::nginx(&dir, backend.port());
    let body = b"hello=world";
    let (local_port, response) = post_request(front.port, body.len()).send(front.port, body);
    assert_ok(&response);
    let capture = backend.expect_request();
    let (params, _) = nginx_params(&NginxRequest {
        method: "POST",
        uri: "/post",
        content_type: "application/octet-stream",
        content_length: "11",
        local_port,
        front: &front,
    });
    params
        .var("HTTP_CONTENT_TYPE", "application/octet-stream")
        .var("HTTP_CONTENT_LENGTH", "11")
        .var("HTTP_CONNECTION", "close")
        .check(&capture);
    check_request(&capture, Modifier1::WSGI, 0, body);
}

// --------------------------------------------------------------------------- Apache

/// The vars Apache 2.4 sends after the request headers (`PATH` is Apache's own
/// environment: the harness starts every peer with `PATH` = [`CLEAN_PATH`]).
fn apache_tail(
    expected: Expected,
    front: &FrontEnd,
    backend: u16,
    local_port: u16,
    method: &str,
    path: &str,
    query: &str,
) -> Expected {
    let uri = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    };
    expected
        .var("PATH", CLEAN_PATH)
        .var("SERVER_SIGNATURE", "")
        .prefix("SERVER_SOFTWARE", "Apache/2.4.")
        .var("SERVER_NAME", "127.0.0.1")
        .var("SERVER_ADDR", "127.0.0.1")
        .var("SERVER_PORT", front.port.to_string())
        .var("REMOTE_ADDR", "127.0.0.1")
        .var("DOCUMENT_ROOT", &front.docroot)
        .var("REQUEST_SCHEME", "http")
        .var("CONTEXT_PREFIX", "")
        .var("CONTEXT_DOCUMENT_ROOT", &front.docroot)
        .var("SERVER_ADMIN", "[no address given]")
        .var(
            "SCRIPT_FILENAME",
            format!("proxy:uwsgi://127.0.0.1:{backend}{path}"),
        )
        .var("REMOTE_PORT", local_port.to_string())
        .var("GATEWAY_INTERFACE", "CGI/1.1")
        .var("SERVER_PROTOCOL", "HTTP/1.1")
        .var("REQUEST_METHOD", method)
        .var("QUERY_STRING", query)
        .var("REQUEST_URI", uri)
        // Always last, and empty for `ProxyPass /`.
        .var("SCRIPT_NAME", "")
}

#[test]
fn apache_get_every_var_merged_headers_and_empty_last_var() {
    require!(APACHE);
    let dir = TempDir::new("apache-get");
    let backend = Backend::start();
    let front = peers::apache(&dir, backend.port());
    let (local_port, response) = get_request(front.port).send(front.port, b"");
    assert_ok(&response);
    let capture = backend.expect_request();
    // PATH_INFO first, then the headers: repeated ones merged with ", " (Cookie too),
    // `X_Under` dropped, no CONTENT_LENGTH on a GET.
    let headers = Expected::new()
        .var("PATH_INFO", "/path/x")
        .var("HTTP_HOST", format!("127.0.0.1:{}", front.port))
        .var("HTTP_USER_AGENT", USER_AGENT)
        .var("HTTP_X_LATIN", LATIN)
        .var("HTTP_COOKIE", "a=1, b=2")
        .var("HTTP_X_DUP", "one, two")
        .var("HTTP_CONNECTION", "close");
    apache_tail(
        headers,
        &front,
        backend.port(),
        local_port,
        "GET",
        "/path/x",
        "a=1&b=2",
    )
    .check(&capture);
    check_request(&capture, Modifier1::WSGI, 0, b"");
    assert_eq!(capture.request().vars().content_length(), Ok(None));
}

#[test]
fn apache_post_1_mib_body() {
    require!(APACHE);
    let dir = TempDir::new("apache-post");
    let backend = Backend::start();
    let front = peers::apache(&dir, backend.port());
    let body = pattern(1 << 20);
    let (local_port, response) = post_request(front.port, body.len()).send(front.port, &body);
    assert_ok(&response);
    let capture = backend.expect_request();
    // CONTENT_TYPE and CONTENT_LENGTH in header position, no HTTP_CONTENT_*.
    let headers = Expected::new()
        .var("PATH_INFO", "/post")
        .var("HTTP_HOST", format!("127.0.0.1:{}", front.port))
        .var("CONTENT_TYPE", "application/octet-stream")
        .var("CONTENT_LENGTH", "1048576")
        .var("HTTP_CONNECTION", "close");
    apache_tail(
        headers,
        &front,
        backend.port(),
        local_port,
        "POST",
        "/post",
        "",
    )
    .check(&capture);
    check_request(&capture, Modifier1::WSGI, 0, &body);
}

#[test]
fn apache_refuses_a_chunked_body_with_411_and_sends_nothing() {
    require!(APACHE);
    let dir = TempDir::new("apache-chunked");
    let backend = Backend::start();
    let front = peers::apache(&dir, backend.port());
    let (_, response) = chunked_request(front.port).send(front.port, &chunked(CHUNKED_BODY, 10));
    assert_eq!(response.status, 411);
    // It opens the backend connection and closes it without sending a byte.
    match backend.expect_outcome(Duration::from_secs(10)) {
        Outcome::Closed { raw } => assert!(raw.is_empty(), "sent {raw:?}"),
        other => panic!("expected an empty connection, got {}", other.describe()),
    }
    let error_log = fs::read_to_string(dir.path().join("error.log")).expect("error.log");
    assert!(
        error_log.contains("AH01593: chunked Transfer-Encoding forbidden: /chunked"),
        "Apache error.log:\n{error_log}"
    );
}

// ------------------------------------------------------------------------- lighttpd

/// lighttpd's CGI vars: `CONTENT_LENGTH` first (also `0` on a GET); with the `"/"` prefix
/// the first path segment is `SCRIPT_NAME` and the rest `PATH_INFO`.
fn lighttpd_vars(
    front: &FrontEnd,
    local_port: u16,
    method: &str,
    content_length: &str,
    script: &str,
    path_info: &str,
    query: &str,
) -> Expected {
    let uri = if query.is_empty() {
        format!("{script}{path_info}")
    } else {
        format!("{script}{path_info}?{query}")
    };
    let mut expected = Expected::new()
        .var("CONTENT_LENGTH", content_length)
        .var("QUERY_STRING", query)
        .var("REQUEST_URI", uri)
        .var("REDIRECT_STATUS", "200")
        .var("SCRIPT_NAME", script);
    if !path_info.is_empty() {
        expected = expected
            .var("PATH_INFO", path_info)
            .var("PATH_TRANSLATED", format!("{}{path_info}", front.docroot));
    }
    expected
        .var("SCRIPT_FILENAME", format!("{}{script}", front.docroot))
        .var("DOCUMENT_ROOT", &front.docroot)
        .var("REQUEST_METHOD", method)
        .var("SERVER_PROTOCOL", "HTTP/1.1")
        .prefix("SERVER_SOFTWARE", "lighttpd/1.4.")
        .var("GATEWAY_INTERFACE", "CGI/1.1")
        .var("REQUEST_SCHEME", "http")
        .var("SERVER_PORT", front.port.to_string())
        .var("SERVER_ADDR", "127.0.0.1")
        .var("SERVER_NAME", "127.0.0.1")
        .var("REMOTE_ADDR", "127.0.0.1")
        .var("REMOTE_PORT", local_port.to_string())
        .var("HTTP_HOST", format!("127.0.0.1:{}", front.port))
}

#[test]
fn lighttpd_get_every_var_merged_headers_underscore_kept() {
    require!(LIGHTTPD);
    let dir = TempDir::new("lighttpd-get");
    let backend = Backend::start();
    let front = peers::lighttpd(&dir, backend.port());
    let (local_port, response) = get_request(front.port).send(front.port, b"");
    assert_ok(&response);
    let capture = backend.expect_request();
    // Cookie merged with "; ", other headers with ", "; `X_Under` kept.
    lighttpd_vars(&front, local_port, "GET", "0", "/path", "/x", "a=1&b=2")
        .var("HTTP_USER_AGENT", USER_AGENT)
        .var("HTTP_X_LATIN", LATIN)
        .var("HTTP_COOKIE", "a=1; b=2")
        .var("HTTP_X_DUP", "one, two")
        .var("HTTP_X_UNDER", "kept")
        .var("HTTP_CONNECTION", "close")
        .check(&capture);
    check_request(&capture, Modifier1::WSGI, 0, b"");
    assert_eq!(capture.request().vars().content_length(), Ok(Some(0)));
}

#[test]
fn lighttpd_post_1_mib_body() {
    require!(LIGHTTPD);
    let dir = TempDir::new("lighttpd-post");
    let backend = Backend::start();
    let front = peers::lighttpd(&dir, backend.port());
    let body = pattern(1 << 20);
    let (local_port, response) = post_request(front.port, body.len()).send(front.port, &body);
    assert_ok(&response);
    let capture = backend.expect_request();
    // HTTP_CONTENT_LENGTH is sent, Content-Type only as CONTENT_TYPE.
    lighttpd_vars(&front, local_port, "POST", "1048576", "/post", "", "")
        .var("CONTENT_TYPE", "application/octet-stream")
        .var("HTTP_CONTENT_LENGTH", "1048576")
        .var("HTTP_CONNECTION", "close")
        .check(&capture);
    check_request(&capture, Modifier1::WSGI, 0, &body);
}

#[test]
fn lighttpd_dechunks_and_drops_transfer_encoding() {
    require!(LIGHTTPD);
    let dir = TempDir::new("lighttpd-chunked");
    let backend = Backend::start();
    let front = peers::lighttpd(&dir, backend.port());
    let (local_port, response) =
        chunked_request(front.port).send(front.port, &chunked(CHUNKED_BODY, 10));
    assert_ok(&response);
    let capture = backend.expect_request();
    lighttpd_vars(&front, local_port, "POST", "32", "/chunked", "", "")
        .var("CONTENT_TYPE", "text/plain")
        .var("HTTP_CONNECTION", "close")
        .check(&capture);
    check_request(&capture, Modifier1::WSGI, 0, CHUNKED_BODY);
}

// --------------------------------------------------------------------- uWSGI router

/// The router's vars before the headers. `REMOTE_PORT` is the client port byte-swapped
/// (uWSGI 2.0.21 prints the network-order value as a host integer: unbit/uwsgi#1889).
fn router_vars(
    front: &FrontEnd,
    local_port: u16,
    method: &str,
    path: &str,
    query: &str,
) -> Expected {
    let expected = Expected::new().var("REQUEST_METHOD", method);
    // With a query string PATH_INFO comes before REQUEST_URI, without one after it.
    let expected = if query.is_empty() {
        expected.var("REQUEST_URI", path).var("PATH_INFO", path)
    } else {
        expected
            .var("PATH_INFO", path)
            .var("REQUEST_URI", format!("{path}?{query}"))
    };
    expected
        .var("QUERY_STRING", query)
        .var("SERVER_PROTOCOL", "HTTP/1.1")
        .var("SCRIPT_NAME", "")
        .var("SERVER_NAME", hostname())
        .var("SERVER_PORT", front.port.to_string())
        .var("UWSGI_ROUTER", "http")
        .var("REMOTE_ADDR", "127.0.0.1")
        .var("REMOTE_PORT", local_port.swap_bytes().to_string())
        .var("HTTP_HOST", format!("127.0.0.1:{}", front.port))
}

#[test]
fn uwsgi_router_get_every_var_byte_swapped_remote_port() {
    require!(UWSGI_ROUTER);
    let dir = TempDir::new("router-get");
    let backend = Backend::start();
    let front = peers::uwsgi_router(&dir, backend.port());
    let (local_port, response) = get_request(front.port).send(front.port, b"");
    assert_ok(&response);
    let capture = backend.expect_request();
    // Repeated headers merged with ", " (Cookie too), `X_Under` kept.
    router_vars(&front, local_port, "GET", "/path/x", "a=1&b=2")
        .var("HTTP_USER_AGENT", USER_AGENT)
        .var("HTTP_X_LATIN", LATIN)
        .var("HTTP_COOKIE", "a=1, b=2")
        .var("HTTP_X_DUP", "one, two")
        .var("HTTP_X_UNDER", "kept")
        .var("HTTP_CONNECTION", "close")
        .check(&capture);
    check_request(&capture, Modifier1::WSGI, 0, b"");
}

#[test]
fn uwsgi_router_post_1_mib_body() {
    require!(UWSGI_ROUTER);
    let dir = TempDir::new("router-post");
    let backend = Backend::start();
    let front = peers::uwsgi_router(&dir, backend.port());
    let body = pattern(1 << 20);
    let (local_port, response) = post_request(front.port, body.len()).send(front.port, &body);
    assert_ok(&response);
    let capture = backend.expect_request();
    router_vars(&front, local_port, "POST", "/post", "")
        .var("CONTENT_TYPE", "application/octet-stream")
        .var("CONTENT_LENGTH", "1048576")
        .var("HTTP_CONNECTION", "close")
        .check(&capture);
    check_request(&capture, Modifier1::WSGI, 0, &body);
}

#[test]
fn uwsgi_router_forwards_transfer_encoding_but_no_chunked_body() {
    require!(UWSGI_ROUTER);
    let dir = TempDir::new("router-chunked");
    let backend = Backend::start();
    let front = peers::uwsgi_router(&dir, backend.port());
    let (local_port, response) =
        chunked_request(front.port).send(front.port, &chunked(CHUNKED_BODY, 10));
    assert_ok(&response);
    let capture: Capture = backend.expect_request();
    // No CONTENT_LENGTH, so no body; and no body bytes arrive after the packet either
    // (`check_request` asserts nothing came before the router closed).
    router_vars(&front, local_port, "POST", "/chunked", "")
        .var("CONTENT_TYPE", "text/plain")
        .var("HTTP_TRANSFER_ENCODING", "chunked")
        .var("HTTP_CONNECTION", "close")
        .check(&capture);
    check_request(&capture, Modifier1::WSGI, 0, b"");
}
