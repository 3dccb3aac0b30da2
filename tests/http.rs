//! The `http` interop (`uwsgi_wire::cgi`) against real captures: decoding what nginx
//! sent gives the request curl made (tests/peers/capture.sh has the curl commands), and
//! encoding that request again gives nginx's var names in nginx's order.
#![cfg(feature = "http")]

use http::{Method, Request, Response, Version};
use uwsgi_wire::cgi::{
    self, encode_response_head, parse_response_head, request_from_vars, HeadStyle, NginxParams,
    RequestParams,
};
use uwsgi_wire::exchange::{ExchangeErrorKind, HeadErrorKind};
use uwsgi_wire::owned::{OwnedPacket, OwnedVars};
use uwsgi_wire::{Limits, Packet, Status, Vars, VarsBuilder};

/// The longest response head read here: the client driver's default, 64 KiB.
const MAX_HEAD: usize = 64 * 1024;

/// The one public conversion, over vars borrowed from a packet.
fn request_from(vars: &Vars<'_>) -> Result<Request<()>, cgi::Error> {
    request_from_vars(&OwnedVars::from_vars(vars))
}

/// A capture from `tests/vectors/`.
fn vector(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The vars of a captured request, and the body after them.
fn parse(wire: &[u8]) -> (Vars<'_>, &[u8]) {
    let Ok(Status::Complete((packet, consumed))) = Packet::parse(wire, &Limits::new()) else {
        panic!("a whole packet")
    };
    (packet.vars().unwrap(), &wire[consumed..])
}

fn pairs(vars: &Vars<'_>) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

/// The params nginx took from its connection and configuration, not from the request:
/// supplied from the capture, as a client would supply its own.
fn params_like(vars: &Vars<'_>) -> NginxParams {
    let get = |k: &str| vars.get(k.as_bytes()).unwrap();
    NginxParams::new()
        .document_root(get("DOCUMENT_ROOT"))
        .remote_addr(
            format!(
                "{}:{}",
                String::from_utf8_lossy(get("REMOTE_ADDR")),
                String::from_utf8_lossy(get("REMOTE_PORT"))
            )
            .parse()
            .unwrap(),
        )
        .server_port(get("SERVER_PORT"))
        .server_name(get("SERVER_NAME"))
}

#[test]
fn nginx_get_is_the_request_curl_sent() {
    // Captured from nginx 1.22: curl -A uwsgi-wire-capture "$URL/path/x?a=1&b=2"
    let wire = vector("nginx-get.bin");
    let (vars, body) = parse(&wire);
    let request = request_from(&vars).unwrap();
    assert_eq!(request.method(), Method::GET);
    assert_eq!(request.uri().path_and_query().unwrap(), "/path/x?a=1&b=2");
    assert_eq!(request.uri().scheme_str(), Some("http"));
    // Debian's uwsgi_params sends `HTTP_HOST $host`: the port curl sent is dropped.
    assert_eq!(request.uri().authority().unwrap(), "127.0.0.1");
    assert_eq!(request.version(), Version::HTTP_11);
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
        .collect();
    assert_eq!(
        headers,
        [
            ("host", "127.0.0.1"),
            ("user-agent", "uwsgi-wire-capture"),
            ("accept", "*/*"),
        ]
    );
    assert!(body.is_empty());
}

#[test]
fn nginx_post_is_the_request_curl_sent() {
    // Captured from nginx 1.22: curl -A uwsgi-wire-capture -d 'hello=world' "$URL/post"
    let wire = vector("nginx-post.bin");
    let (vars, body) = parse(&wire);
    let request = request_from(&vars).unwrap();
    assert_eq!(request.method(), Method::POST);
    assert_eq!(request.uri().path_and_query().unwrap(), "/post");
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
        .collect();
    // Once each, although nginx sent CONTENT_* and HTTP_CONTENT_* vars, in the order
    // curl sent them.
    assert_eq!(
        headers,
        [
            ("host", "127.0.0.1"),
            ("user-agent", "uwsgi-wire-capture"),
            ("accept", "*/*"),
            ("content-length", "11"),
            ("content-type", "application/x-www-form-urlencoded"),
        ]
    );
    assert_eq!(body, b"hello=world");
}

#[test]
fn nginx_dup_headers_keep_every_line() {
    // Captured from nginx 1.22: curl -H 'Cookie: a=1' -H 'X-Dup: one' -H 'Cookie: b=2'
    // -H 'X-Dup: two' -H 'X_Under: kept' "$URL/dup" (nginx drops X_Under).
    let wire = vector("nginx-dup-headers.bin");
    let (vars, _) = parse(&wire);
    let request = request_from(&vars).unwrap();
    let all = |name: &str| -> Vec<&str> {
        request
            .headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    };
    assert_eq!(all("cookie"), ["a=1", "b=2"]);
    assert_eq!(all("x-dup"), ["one", "two"]);
    assert!(request.headers().get("x-under").is_none());
}

#[test]
fn nginx_chunked_upload_has_a_content_length_and_no_transfer_encoding() {
    // Captured from nginx 1.22: curl -H 'Transfer-Encoding: chunked' -H 'Content-Type:
    // text/plain' --data-binary @chunked-body.txt "$URL/chunked"; nginx de-chunked it.
    let wire = vector("nginx-chunked.bin");
    let (vars, body) = parse(&wire);
    let request = request_from(&vars).unwrap();
    assert_eq!(request.headers()["content-length"], "32");
    assert_eq!(request.headers()["content-type"], "text/plain");
    assert!(request.headers().get("transfer-encoding").is_none());
    assert_eq!(body.len(), 32);
}

#[test]
fn encoding_the_request_again_gives_nginx_vars_in_nginx_order() {
    // Captured from nginx 1.22 with Debian's /etc/nginx/uwsgi_params.
    for name in ["nginx-get.bin", "nginx-post.bin", "nginx-chunked.bin"] {
        let wire = vector(name);
        let (vars, _) = parse(&wire);
        let mut request = request_from(&vars).unwrap();
        if name == "nginx-chunked.bin" {
            // What curl sent; the conversion dropped it (the body is de-chunked).
            request
                .headers_mut()
                .insert("transfer-encoding", "chunked".parse().unwrap());
            // curl sent no Content-Length: nginx made CONTENT_LENGTH up.
            request.headers_mut().remove("content-length");
        }
        let again = params_like(&vars).to_vars(&request).unwrap();
        let mut want = pairs(&vars);
        if name == "nginx-chunked.bin" {
            // Our HeaderMap holds content-type before transfer-encoding.
            let te = want
                .iter()
                .position(|(k, _)| k == "HTTP_TRANSFER_ENCODING")
                .unwrap();
            let ct = want.remove(te + 1);
            want.insert(te, ct);
            // nginx computed CONTENT_LENGTH from the de-chunked body; we cannot.
            want.iter_mut()
                .find(|(k, _)| k == "CONTENT_LENGTH")
                .unwrap()
                .1
                .clear();
        }
        assert_eq!(pairs(&again.vars()), want, "{name}");
        if name != "nginx-chunked.bin" {
            // The same bytes, as the values came from the request or the params.
            assert_eq!(again.as_bytes(), vars.as_bytes(), "{name}");
        }
    }
}

#[test]
fn encoding_duplicate_headers_keeps_names_and_per_name_order() {
    // Captured from nginx 1.22 (see nginx_dup_headers_keep_every_line). http::HeaderMap
    // groups the values of a name together, so interleaved lines come out grouped: the
    // params are identical, the headers the same per name, in the same order.
    let wire = vector("nginx-dup-headers.bin");
    let (vars, _) = parse(&wire);
    let request = request_from(&vars).unwrap();
    let again = params_like(&vars).to_vars(&request).unwrap();
    let (got, want) = (pairs(&again.vars()), pairs(&vars));
    let first_header = want
        .iter()
        .position(|(k, _)| k == "HTTP_USER_AGENT")
        .unwrap();
    assert_eq!(got[..first_header], want[..first_header]);
    assert_eq!(
        got[first_header..]
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>(),
        [
            "HTTP_USER_AGENT=uwsgi-wire-capture",
            "HTTP_ACCEPT=*/*",
            "HTTP_COOKIE=a=1",
            "HTTP_COOKIE=b=2",
            "HTTP_X_DUP=one",
            "HTTP_X_DUP=two",
        ]
    );
}

#[test]
fn owned_conversion_shares_the_buffer_and_keeps_the_raw_vars() {
    let wire = bytes::Bytes::from(vector("nginx-post.bin")); // captured from nginx 1.22
    let Ok(Status::Complete((packet, _))) = OwnedPacket::parse(wire.clone(), &Limits::new()) else {
        panic!()
    };
    let request = request_from_vars(&packet.owned_vars().unwrap()).unwrap();
    let ua = request.headers()["user-agent"].as_bytes();
    assert!(wire.as_ptr_range().contains(&ua.as_ptr()), "not copied");
    let raw = request
        .extensions()
        .get::<uwsgi_wire::owned::OwnedVars>()
        .unwrap();
    assert_eq!(
        raw.get(b"REMOTE_PORT").unwrap(),
        packet.packet().vars().unwrap().get(b"REMOTE_PORT").unwrap()
    );
    assert_eq!(raw, &packet.owned_vars().unwrap());
    let copied = request_from(&packet.packet().vars().unwrap()).unwrap();
    assert_eq!(request.uri(), copied.uri());
    assert_eq!(request.headers(), copied.headers());
}

/// Builds vars from pairs (derived from the spec).
fn vars_of(pairs: &[(&str, &[u8])]) -> VarsBuilder {
    let mut vars = VarsBuilder::default();
    for (k, v) in pairs {
        vars.push(k, v).unwrap();
    }
    vars
}

#[test]
fn cr_lf_and_nul_never_reach_a_header() {
    // Header injection attempts (docs/PROTOCOL.md section 7.3; go-uwsgi has this bug).
    for (key, value, byte, index) in [
        ("HTTP_X_EVIL", &b"a\r\nSet-Cookie: owned=1"[..], b'\r', 1),
        ("HTTP_X_EVIL", b"a\nb", b'\n', 1),
        ("HTTP_X_EVIL", b"a\0b", 0, 1),
        ("HTTP_X_EVIL\r\nX", b"v", b'\r', 11),
        ("CONTENT_TYPE", b"text/html\r\n\r\n<script>", b'\r', 9),
        ("REQUEST_URI", b"/x\r\nHost: evil", b'\r', 2),
        ("QUERY_STRING", b"a=1\nb", b'\n', 3),
        ("HTTP_HOST", b"good\0evil", 0, 4),
    ] {
        let vars = vars_of(&[("REQUEST_METHOD", b"GET"), (key, value)]);
        let err = request_from(&vars.vars()).unwrap_err();
        assert_eq!(
            err,
            cgi::Error::ForbiddenByte {
                var: key.to_string(),
                byte,
                index
            },
            "{key}"
        );
        assert_eq!(err.status_code(), Some(400));
    }
    // Other control bytes are not valid header values either.
    let vars = vars_of(&[("REQUEST_METHOD", b"GET"), ("HTTP_X", b"a\x07b")]);
    assert!(matches!(
        request_from(&vars.vars()),
        Err(cgi::Error::InvalidVar {
            what: "header value",
            ..
        })
    ));
    // Bytes 0x80-0xFF (nginx passes them through) are fine.
    let vars = vars_of(&[("REQUEST_METHOD", b"GET"), ("HTTP_X", b"caf\xe9")]);
    let request = request_from(&vars.vars()).unwrap();
    assert_eq!(request.headers()["x"].as_bytes(), b"caf\xe9");
}

#[test]
fn missing_and_invalid_vars() {
    let vars = vars_of(&[("PATH_INFO", b"/")]);
    assert_eq!(
        request_from(&vars.vars()).unwrap_err(),
        cgi::Error::MissingVar("REQUEST_METHOD")
    );
    let vars = vars_of(&[("REQUEST_METHOD", b"GET"), ("SERVER_PROTOCOL", b"SPDY/3")]);
    assert!(matches!(
        request_from(&vars.vars()),
        Err(cgi::Error::InvalidVar {
            what: "protocol version",
            ..
        })
    ));
    let vars = vars_of(&[("REQUEST_METHOD", b"GET"), ("CONTENT_LENGTH", b"+5")]);
    assert!(matches!(
        request_from(&vars.vars()),
        Err(cgi::Error::ContentLength(_))
    ));
    let vars = vars_of(&[("REQUEST_METHOD", b"GET"), ("HTTP_X_BAD_NAME(", b"v")]);
    assert!(matches!(
        request_from(&vars.vars()),
        Err(cgi::Error::InvalidVar {
            what: "header name",
            ..
        })
    ));
}

#[test]
fn scheme_uri_and_version_as_uwsgi_reads_them() {
    // Derived from uWSGI 2.0's plugins (wsgi.url_scheme): UWSGI_SCHEME, then HTTPS
    // ("on" or "1"), then nginx's REQUEST_SCHEME.
    let base: &[(&str, &[u8])] = &[
        ("REQUEST_METHOD", b"GET"),
        ("PATH_INFO", b"/a b/\xc3\xa9"),
        ("QUERY_STRING", b"q=1"),
        ("SERVER_NAME", b"example.com"),
        ("SERVER_PORT", b"8443"),
    ];
    for (extra, uri) in [
        (vec![], "http://example.com:8443/a%20b/%C3%A9?q=1"),
        (
            vec![("HTTPS", &b"on"[..])],
            "https://example.com:8443/a%20b/%C3%A9?q=1",
        ),
        (
            vec![("HTTPS", &b"1"[..])],
            "https://example.com:8443/a%20b/%C3%A9?q=1",
        ),
        (
            vec![("HTTPS", &b"off"[..]), ("REQUEST_SCHEME", b"https")],
            "http://example.com:8443/a%20b/%C3%A9?q=1",
        ),
        (
            vec![("REQUEST_SCHEME", &b"https"[..])],
            "https://example.com:8443/a%20b/%C3%A9?q=1",
        ),
        (
            vec![("UWSGI_SCHEME", &b"https"[..]), ("HTTPS", b"off")],
            "https://example.com:8443/a%20b/%C3%A9?q=1",
        ),
        (
            vec![("HTTP_HOST", &b"h.example"[..])],
            "http://h.example/a%20b/%C3%A9?q=1",
        ),
        (
            vec![("REQUEST_URI", &b"/raw%20path?q=1"[..])],
            "http://example.com:8443/raw%20path?q=1",
        ),
    ] {
        let mut all = base.to_vec();
        all.extend(extra.iter().copied());
        let request = request_from(&vars_of(&all).vars()).unwrap();
        assert_eq!(request.uri(), uri, "{extra:?}");
        assert_eq!(request.version(), Version::HTTP_10, "no SERVER_PROTOCOL");
    }
    // The default port is left out; no host at all gives an origin-form URI.
    let vars = vars_of(&[
        ("REQUEST_METHOD", b"GET"),
        ("SERVER_NAME", b"example.com"),
        ("SERVER_PORT", b"80"),
        ("SERVER_PROTOCOL", b"HTTP/2.0"),
    ]);
    let request = request_from(&vars.vars()).unwrap();
    assert_eq!(request.uri(), "http://example.com/");
    assert_eq!(request.version(), Version::HTTP_2);
    let vars = vars_of(&[("REQUEST_METHOD", b"GET"), ("REQUEST_URI", b"/only")]);
    assert_eq!(request_from(&vars.vars()).unwrap().uri(), "/only");
}

#[test]
fn nginx_params_document_uri_and_overrides() {
    let request = Request::builder()
        .method("PUT")
        .uri("https://Example.COM:8443/a/./b/../c//d%20e?x=%20")
        .header("x_under", "dropped")
        .header("host", "ignored.example")
        .header("x-forwarded-for", "10.0.0.1")
        .body(())
        .unwrap();
    let vars = NginxParams::new()
        .param("HTTP_X_FORWARDED_FOR", "set by the proxy")
        .to_vars(&request)
        .unwrap();
    let got = pairs(&vars.vars());
    let get = |k: &str| {
        got.iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(get("PATH_INFO"), ["/a/c/d e"]);
    assert_eq!(get("REQUEST_URI"), ["/a/./b/../c//d%20e?x=%20"]);
    assert_eq!(get("QUERY_STRING"), ["x=%20"]);
    assert_eq!(get("REQUEST_SCHEME"), ["https"]);
    assert_eq!(get("HTTPS"), ["on"]);
    assert_eq!(get("SERVER_PORT"), ["8443"]);
    assert_eq!(
        get("HTTP_HOST"),
        ["example.com"],
        "$host: the request line's, lower case"
    );
    assert_eq!(get("SERVER_NAME"), ["example.com"]);
    assert_eq!(get("HTTP_X_UNDER"), Vec::<&str>::new());
    // The param hides the header of the same name, as in nginx.
    assert_eq!(get("HTTP_X_FORWARDED_FOR"), ["set by the proxy"]);

    for (path, err) in [
        ("/../etc/passwd", cgi::Error::PathAboveRoot),
        ("/a%zz", cgi::Error::PercentEscape { index: 2 }),
    ] {
        let request = Request::get(path).body(()).unwrap();
        assert_eq!(NginxParams::new().to_vars(&request).unwrap_err(), err);
    }
}

#[test]
fn document_uri_borrows_a_normal_path_and_normalizes_the_rest() {
    use std::borrow::Cow;
    // (path, nginx's $document_uri, already normal: borrowed, no allocation)
    for (path, want, normal) in [
        ("/", "/", true),
        ("/a/b.css", "/a/b.css", true),
        ("/a/", "/a/", true),
        ("/a.b/..c/c..", "/a.b/..c/c..", true),
        ("*", "*", true),
        ("//", "/", false),
        ("/a//b", "/a/b", false),
        ("/a/./b", "/a/b", false),
        ("/a/.", "/a/", false),
        ("/a/b/..", "/a/", false),
        ("/a/b/../", "/a/", false),
        ("/a%20b", "/a b", false),
        ("/.", "/", false),
        ("/a/.../b", "/a/.../b", true),
        ("/.a/b.", "/.a/b.", true),
        ("/./a", "/a", false),
        ("/a/%2e", "/a/", false),
        ("/a/b/c/..", "/a/b/", false),
    ] {
        let got = cgi::document_uri(path).unwrap();
        assert_eq!(&*got, want.as_bytes(), "{path}");
        assert_eq!(matches!(got, Cow::Borrowed(_)), normal, "{path}");
    }
}

#[test]
fn response_heads_round_trip() {
    let response = Response::builder()
        .status(201)
        .header("content-type", "application/json")
        .header("set-cookie", "a=1")
        .header("set-cookie", "b=2")
        .body(())
        .unwrap();
    for style in [HeadStyle::StatusLine, HeadStyle::Cgi] {
        let mut head = Vec::new();
        let n = encode_response_head(&response, style, &mut head).unwrap();
        assert_eq!(n, head.len());
        head.extend_from_slice(b"{}");
        let Status::Complete((parsed, len)) = parse_response_head(&head, MAX_HEAD).unwrap() else {
            panic!()
        };
        assert_eq!(&head[len..], b"{}");
        assert_eq!(parsed.status(), 201);
        assert_eq!(parsed.headers(), response.headers(), "{style:?}");
        // Every prefix of the head is partial, never an error.
        for end in 0..len {
            assert!(parse_response_head(&head[..end], MAX_HEAD)
                .unwrap()
                .is_partial());
        }
    }
    // An unknown status has no reason; the space before it stays.
    let mut head = Vec::new();
    let odd = Response::builder().status(599).body(()).unwrap();
    encode_response_head(&odd, HeadStyle::StatusLine, &mut head).unwrap();
    assert_eq!(head, b"HTTP/1.1 599 \r\n\r\n");
    // HTTP/1.0 stays 1.0.
    let old = Response::builder()
        .version(Version::HTTP_10)
        .body(())
        .unwrap();
    head.clear();
    encode_response_head(&old, HeadStyle::StatusLine, &mut head).unwrap();
    assert_eq!(head, b"HTTP/1.0 200 OK\r\n\r\n");
    // A slice too small: nothing written.
    let mut small = [0u8; 8];
    let mut out = &mut small[..];
    assert!(matches!(
        encode_response_head(&odd, HeadStyle::StatusLine, &mut out),
        Err(cgi::Error::Encode(_))
    ));
    assert_eq!(small, [0u8; 8]);
}

#[test]
fn response_heads_as_nginx_reads_them() {
    // Captured from uWSGI 2.0.21 answering a request (the raw HTTP reply).
    let reply = vector("uwsgi-http-reply.bin");
    let Status::Complete((response, len)) = parse_response_head(&reply, MAX_HEAD).unwrap() else {
        panic!()
    };
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(&reply[len..], b"ok");

    // Derived from nginx's ngx_http_uwsgi_process_status_line / process_header.
    for (raw, status) in [
        (&b"Location: /x\r\n\r\n"[..], 302),
        (b"Content-Type: a/b\n\n", 200),
        (b"Status: 418 I'm a teapot\r\n\r\n", 418),
        (b"HTTP/1.0 204\r\n\r\n", 204),
    ] {
        let Status::Complete((response, _)) = parse_response_head(raw, MAX_HEAD).unwrap() else {
            panic!()
        };
        assert_eq!(
            response.status(),
            status,
            "{}",
            String::from_utf8_lossy(raw)
        );
        assert!(response.headers().get("status").is_none());
    }
    for raw in [
        &b"Status: abc\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n folded\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
    ] {
        assert!(
            matches!(
                parse_response_head(raw, MAX_HEAD),
                Err(cgi::Error::InvalidResponse(_))
            ),
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
    let endless = vec![b'a'; 70_000];
    assert!(parse_response_head(&endless, MAX_HEAD).is_err());
}

#[test]
fn nginx_params_never_invent_a_client_address() {
    // Derived: nginx takes REMOTE_ADDR and REMOTE_PORT from the client connection;
    // NginxParams has none, so without remote_addr they are left out.
    let request = Request::get("/").body(()).unwrap();
    let vars = NginxParams::new().to_vars(&request).unwrap();
    let keys: Vec<String> = pairs(&vars.vars()).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "QUERY_STRING",
            "REQUEST_METHOD",
            "CONTENT_TYPE",
            "CONTENT_LENGTH",
            "REQUEST_URI",
            "PATH_INFO",
            "DOCUMENT_ROOT",
            "SERVER_PROTOCOL",
            "REQUEST_SCHEME",
            "SERVER_PORT",
            "SERVER_NAME",
            "HTTP_HOST",
        ]
    );
    // Set, they stand where nginx 1.22 puts them (captured: tests/vectors/nginx-get.bin).
    let vars = NginxParams::new()
        .remote_addr("10.0.0.7:40000".parse().unwrap())
        .to_vars(&request)
        .unwrap();
    let got = pairs(&vars.vars());
    let at = got.iter().position(|(k, _)| k == "REMOTE_ADDR").unwrap();
    assert_eq!(got[at - 1].0, "REQUEST_SCHEME");
    assert_eq!(got[at].1, "10.0.0.7");
    assert_eq!(got[at + 1], ("REMOTE_PORT".into(), "40000".into()));
    assert_eq!(got[at + 2].0, "SERVER_PORT");
    // IPv6 as nginx's $remote_addr writes it: no brackets, no zone.
    let vars = NginxParams::new()
        .remote_addr("[fe80::1%2]:8080".parse().unwrap())
        .to_vars(&request)
        .unwrap();
    assert_eq!(vars.vars().get(b"REMOTE_ADDR"), Some(&b"fe80::1"[..]));
    assert_eq!(vars.vars().get(b"REMOTE_PORT"), Some(&b"8080"[..]));
}

#[test]
fn request_params_apply_over_the_shared_params() {
    // The request's own address wins over the shared one, in the same place; its params
    // replace a shared param or a default where it stands, or come after the others;
    // an HTTP_* param hides the header, as a shared one does.
    let shared = NginxParams::new()
        .remote_addr("10.0.0.7:40000".parse().unwrap())
        .param("X_SHARED", "shared")
        .param("X_OVERRIDDEN", "shared")
        .param("DOCUMENT_ROOT", "/srv/shared");
    let mut request = Request::get("/")
        .header("x-trace", "header")
        .body(())
        .unwrap();
    let alone = pairs(&shared.to_vars(&request).unwrap().vars());
    request.extensions_mut().insert(
        RequestParams::new()
            .remote_addr("[2001:db8::7]:50000".parse().unwrap())
            .param("X_OVERRIDDEN", "request")
            .param("DOCUMENT_ROOT", "/srv/request")
            .param("X_EXTRA", "request")
            .param("HTTP_X_TRACE", "request"),
    );
    let got = pairs(&shared.to_vars(&request).unwrap().vars());
    let mut want = alone.clone();
    for (key, value) in &mut want {
        match key.as_str() {
            "REMOTE_ADDR" => *value = "2001:db8::7".into(),
            "REMOTE_PORT" => *value = "50000".into(),
            "X_OVERRIDDEN" => *value = "request".into(),
            "DOCUMENT_ROOT" => *value = "/srv/request".into(),
            _ => {}
        }
    }
    let header = want.iter().position(|(k, _)| k == "HTTP_X_TRACE").unwrap();
    want.remove(header);
    want.insert(header, ("X_EXTRA".into(), "request".into()));
    want.insert(header + 1, ("HTTP_X_TRACE".into(), "request".into()));
    assert_eq!(got, want);
    // Nothing of it stays with the shared params.
    request.extensions_mut().clear();
    assert_eq!(pairs(&shared.to_vars(&request).unwrap().vars()), alone);
}

#[test]
fn response_heads_where_nginx_is_lenient() {
    // Each head was sent through nginx 1.22.1 (tests/conformance/response_heads.rs);
    // nginx accepted it with this status.
    for (raw, status, version) in [
        // A line without a colon is a header with an empty value.
        (
            &b"HTTP/1.1 200 OK\r\nFoo\r\n\r\n"[..],
            200,
            Version::HTTP_11,
        ),
        // Not status lines to nginx: skipped, so the CGI default applies.
        (b"HTTP/0.9 201 X\r\n\r\n", 200, Version::HTTP_11),
        (b"HTTP/1.1 4040 X\r\n\r\n", 200, Version::HTTP_11),
        (b"HTTP/1 404 Nope\r\n\r\n", 200, Version::HTTP_11),
        // Spaces between the digits, IIS's 403.1, HTTP/2.0, a tab-led value.
        (b"HTTP/1.1 4 0 4 X\r\n\r\n", 404, Version::HTTP_11),
        (b"HTTP/1.1 403.1 Forbidden\r\n\r\n", 403, Version::HTTP_11),
        (b"HTTP/2.0 201 Created\r\n\r\n", 201, Version::HTTP_11),
        (
            b"HTTP/1.0 201 Created\r\nX-A:\ta\t\r\n\r\n",
            201,
            Version::HTTP_10,
        ),
        (b"Status: 4041\r\n\r\n", 404, Version::HTTP_11),
        (
            b"Location: /x\r\nStatus: 301 M\r\n\r\n",
            301,
            Version::HTTP_11,
        ),
    ] {
        let name = String::from_utf8_lossy(raw);
        let Status::Complete((response, len)) = parse_response_head(raw, MAX_HEAD).unwrap() else {
            panic!("{name:?}")
        };
        assert_eq!(len, raw.len(), "{name:?}");
        assert_eq!(response.status(), status, "{name:?}");
        assert_eq!(response.version(), version, "{name:?}");
        assert!(response.headers().get("status").is_none(), "{name:?}");
    }
    let Status::Complete((response, _)) =
        parse_response_head(b"HTTP/1.1 200 OK\r\nFoo\r\nX-A:\ta\t\r\n\r\n", MAX_HEAD).unwrap()
    else {
        panic!()
    };
    assert_eq!(response.headers()["foo"], "");
    assert_eq!(response.headers()["x-a"], "\ta\t");
    // nginx accepts these too, but an http::Response cannot hold them.
    for (raw, why) in [
        (
            &b"HTTP/1.1 099 X\r\n\r\n"[..],
            cgi::Error::ResponseStatus(99),
        ),
        (
            b"HTTP/1.1 200 OK\r\nX(Y): 1\r\n\r\n",
            cgi::Error::ResponseHeader {
                name: "X(Y)".into(),
                what: "header name",
            },
        ),
        (
            b"HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n",
            cgi::Error::ResponseHeader {
                name: "X-A".into(),
                what: "header value",
            },
        ),
    ] {
        assert_eq!(
            parse_response_head(raw, MAX_HEAD).unwrap_err(),
            why,
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
    // nginx refuses a head that does not fit its buffer; ours is 64 KiB, at once.
    let mut endless = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    endless.resize(MAX_HEAD, b'a');
    assert!(matches!(
        parse_response_head(&endless, MAX_HEAD).unwrap_err(),
        cgi::Error::InvalidResponse(err) if err.kind() == ExchangeErrorKind::Head(HeadErrorKind::TooLarge { limit: 65536 })
    ));
    assert!(parse_response_head(&endless[..endless.len() - 1], MAX_HEAD)
        .unwrap()
        .is_partial());
}

/// One conversion for every public path: a CGI head with two `Status` lines reads the
/// same through `cgi::parse_response_head` and through the client driver. nginx 1.22
/// takes the status from the first and passes every `Status` line on to its client
/// (`ngx_http_upstream_headers_in`: "Status" is copied; tests/conformance/response_heads.rs,
/// case "two Status", agrees with nginx on the status and on the header lines passed
/// on); the response holds the first as its status, so only the second stays a header.
#[cfg(feature = "client")]
#[tokio::test]
async fn a_cgi_head_with_two_status_lines_reads_the_same_through_every_path() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const HEAD: &[u8] = b"Status: 404 X\r\nStatus: 500 Y\r\nX-A: 1\r\n\r\n";
    let Status::Complete((parsed, len)) = parse_response_head(HEAD, MAX_HEAD).unwrap() else {
        panic!("a whole head")
    };
    assert_eq!(len, HEAD.len());
    assert_eq!(parsed.status(), 404);
    let statuses: Vec<_> = parsed.headers().get_all("status").iter().collect();
    assert_eq!(statuses, ["500 Y"]);
    assert_eq!(parsed.headers()["x-a"], "1");

    let (client, mut server) = tokio::io::duplex(64 * 1024);
    let answered = tokio::spawn(async move {
        let mut header = [0u8; 4];
        server.read_exact(&mut header).await?;
        let mut block = vec![0u8; usize::from(u16::from_le_bytes([header[1], header[2]]))];
        server.read_exact(&mut block).await?;
        server.write_all(HEAD).await
    });
    let request = Request::get("/")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = uwsgi_wire::client::Builder::new()
        .send_request(client, request)
        .await
        .unwrap();
    answered.await.unwrap().unwrap();
    assert_eq!(response.status(), parsed.status());
    assert_eq!(response.version(), parsed.version());
    assert_eq!(response.headers(), parsed.headers());
}
