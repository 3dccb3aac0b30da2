//! The NGINX guide's deployment ("Using NGINX and NGINX Plus as an Application Gateway
//! with uWSGI and Django", docs.nginx.com), rebuilt with `uwsgi-wire gateway` in nginx's
//! place, from `examples/gateway.toml` as shipped (its paths and ports moved to the
//! test's), and compared with real nginx running the guide's own server block in front of
//! the same upstreams: Django (`tests/peers/django`, with its static directory) under
//! uWSGI 2.0 twice as the upstream pair, a root with an `index.html`, the static
//! directory through `alias`, and `location /main` with the guide's four params; then
//! the same file over TLS, HTTP/2 by ALPN.
#![cfg(feature = "client")]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::client::HttpResponse;
use crate::client_driver::uwsgi_pair;
use crate::gateway::{exchange, self_signed, Gateway, TLS};
use crate::harness::{require, TempDir, NGINX};

/// The guide's server name.
const NAME: &str = "myapp.example.com";

/// The guide's four params, as its `location /main` writes them.
const PARAMS: [(&str, &str); 4] = [
    ("Host", "$host"),
    ("X-Real-IP", "$remote_addr"),
    ("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
    ("X-Forwarded-Proto", "$http_x_forwarded_proto"),
];

/// Copies the files under `from` to `to`, directories included.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The environ Django saw, `REMOTE_PORT` and `SERVER_PORT` (and those ports inside
/// other values) named instead of numbered: they differ between two front ends.
fn masked(response: &HttpResponse, client_port: u16, front_port: u16) -> BTreeMap<String, Value> {
    let Value::Object(environ) = response.json() else {
        panic!("not an object: {}", String::from_utf8_lossy(&response.body));
    };
    environ
        .into_iter()
        .map(|(key, value)| {
            let text = value.as_str().unwrap_or_default();
            let text = text
                .replace(&client_port.to_string(), "<client-port>")
                .replace(&front_port.to_string(), "<front-port>");
            (key, Value::String(text))
        })
        .collect()
}

#[test]
fn the_guides_deployment_answers_as_nginx_with_the_guides_configuration() {
    require!(NGINX);
    let Some([mut first, second]) = uwsgi_pair() else {
        return;
    };
    let dir = TempDir::new("guide");
    // The guide's /var/www/myapp/html and /var/django/projects/myapp/static/.
    let html = dir.mkdir("html");
    std::fs::write(html.join("index.html"), "<h1>myapp</h1>\n").expect("write");
    let static_dir = dir.path().join("static");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/django/static"),
        &static_dir,
    );
    // A 1 MiB file beside the project's own, for ranges far into a file.
    std::fs::write(static_dir.join("big.bin"), crate::client::pattern(1 << 20)).expect("write");

    let upstreams = [first.addr(), second.addr()];
    let params: String = PARAMS
        .iter()
        .map(|(key, value)| format!("uwsgi_param {key} {value};\n            "))
        .collect();
    let nginx_dir = TempDir::new("guide-nginx");
    let (nginx, nginx_port) = crate::peers::nginx_named(
        &nginx_dir,
        NAME,
        &format!(
            "upstream django {{ server {}; server {}; }}",
            upstreams[0], upstreams[1]
        ),
        &format!(
            "root {html};
        include /etc/nginx/mime.types;
        location / {{
            index index.html;
        }}
        location /static/ {{
            alias {static_dir}/;
        }}
        location /main {{
            include /etc/nginx/uwsgi_params;
            uwsgi_pass django;
            {params}
        }}",
            html = html.display(),
            static_dir = static_dir.display(),
        ),
    );
    // examples/gateway.toml as shipped, its paths and upstreams moved to this test's.
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway.toml");
    let mut config = std::fs::read_to_string(example).expect("examples/gateway.toml");
    for (from, to) in [
        ("/var/www/myapp/html", html.display().to_string()),
        (
            "/var/django/projects/myapp/static/",
            format!("{}/", static_dir.display()),
        ),
        ("\"127.0.0.1:29000\"", format!("\"{}\"", upstreams[0])),
        ("\"127.0.0.1:29001\"", format!("\"{}\"", upstreams[1])),
        (
            "/var/log/uwsgi-wire/access.log",
            dir.path().join("access.log").display().to_string(),
        ),
    ] {
        assert!(config.contains(from), "examples/gateway.toml has {from}");
        config = config.replace(from, &to);
    }
    let file = dir.write("gateway.toml", config).display().to_string();
    let gateway = Gateway::start(&[], &["--config", &file]);

    let request = |target: &str, extra: &str| {
        format!("GET {target} HTTP/1.1\r\nHost: {NAME}\r\n{extra}Connection: close\r\n\r\n")
    };
    // The same request to both: the same status, body and file headers.
    let same = |request: String| {
        let (n_status, n_headers, n_body) = exchange(nginx_port, &request);
        let (g_status, g_headers, g_body) = exchange(gateway.port, &request);
        assert_eq!(n_status, g_status, "status, nginx (left): {request}");
        assert_eq!(n_body, g_body, "body, nginx (left): {request}");
        // The one documented difference (docs/GATEWAY.md): `.js` is `text/javascript`
        // (RFC 9239, mime_guess) where nginx 1.22's mime.types says
        // `application/javascript`.
        let content_type = |headers: &[(String, String)]| {
            header(headers, "content-type")
                .map(|t| t.replace("application/javascript", "text/javascript"))
        };
        assert_eq!(
            content_type(&n_headers),
            content_type(&g_headers),
            "{request}"
        );
        for name in ["content-length", "content-range", "last-modified", "etag"] {
            assert_eq!(
                header(&n_headers, name),
                header(&g_headers, name),
                "{name}, nginx (left): {request}"
            );
        }
        (n_status, n_headers, n_body)
    };

    // The root's index and the static files, byte for byte.
    let (status, _, body) = same(request("/", ""));
    assert_eq!((status, &body[..]), (200, &b"<h1>myapp</h1>\n"[..]));
    for (target, file) in [
        ("/static/css/site.css", "css/site.css"),
        ("/static/js/app.js", "js/app.js"),
        ("/static/big.bin", "big.bin"),
    ] {
        let (status, headers, body) = same(request(target, ""));
        assert_eq!(status, 200, "{target}");
        assert_eq!(body, std::fs::read(static_dir.join(file)).expect("read"));
        if file.ends_with(".js") {
            let (_, g_headers, _) = exchange(gateway.port, &request(target, ""));
            assert_eq!(
                header(&headers, "content-type"),
                Some("application/javascript")
            );
            assert_eq!(header(&g_headers, "content-type"), Some("text/javascript"));
        }
        let etag = header(&headers, "etag").expect("an ETag").to_owned();
        let modified = header(&headers, "last-modified")
            .expect("a Last-Modified")
            .to_owned();
        // Revalidation: 304, no body.
        for extra in [
            format!("If-None-Match: {etag}\r\n"),
            format!("If-Modified-Since: {modified}\r\n"),
        ] {
            let (status, _, body) = same(request(target, &extra));
            assert_eq!((status, body.len()), (304, 0), "{target} {extra}");
        }
        // Ranges: 206 with the bytes asked for.
        for (range, from, to) in [
            ("bytes=10-19", 10, 20),
            ("bytes=-7", body.len() - 7, body.len()),
        ] {
            let extra = format!("Range: {range}\r\nIf-Range: {etag}\r\n");
            let (status, _, part) = same(request(target, &extra));
            assert_eq!(status, 206, "{target} {range}");
            assert_eq!(part, body[from..to], "{target} {range}");
        }
    }
    // A missing file: 404 from both (the pages differ: nginx's HTML, the gateway's line).
    for port in [nginx_port, gateway.port] {
        let (status, ..) = exchange(port, &request("/static/none.css", ""));
        assert_eq!(status, 404);
    }

    // /main reaches Django with the guide's params exactly as nginx sends them.
    let forwarded = "X-Forwarded-For: 198.51.100.7\r\nX-Forwarded-Proto: https\r\n\
                     Cookie: session=abc\r\n";
    for head in [
        request("/main/meta?x=1&y=%2F", forwarded),
        request("/main/meta", ""),
        request(
            "/main/./meta?z",
            "X-Forwarded-For: 203.0.113.9, 192.0.2.1\r\n",
        ),
        // A Host with a port and upper case; no Host at all ($host: the server name).
        "GET /main/meta HTTP/1.1\r\nHost: MyApp.Example.COM:8080\r\nConnection: close\r\n\r\n"
            .to_owned(),
        "GET /main/meta HTTP/1.0\r\n\r\n".to_owned(),
    ] {
        let target = head.lines().next().unwrap_or_default();
        let environ = |port: u16| {
            let mut conn = crate::client::Conn::open(port);
            conn.write(head.as_bytes());
            let client_port = conn.local_port;
            masked(&conn.response(), client_port, port)
        };
        let through_nginx = environ(nginx_port);
        let through_gateway = environ(gateway.port);
        for key in [
            "Host",
            "X-Real-IP",
            "X-Forwarded-For",
            "X-Forwarded-Proto",
            "REQUEST_URI",
            "PATH_INFO",
            "SERVER_NAME",
        ] {
            assert!(through_nginx.contains_key(key), "nginx sent no {key}");
        }
        assert_eq!(
            through_nginx, through_gateway,
            "Django's environ through nginx (left) and the gateway, {target}"
        );
        assert_eq!(through_gateway["SERVER_NAME"], NAME);
        assert_eq!(through_gateway["X-Real-IP"], "127.0.0.1");
    }

    // `location /main` is a prefix: `/mainly` goes to Django too (its 404, from both).
    for port in [nginx_port, gateway.port] {
        let (status, ..) = exchange(port, &request("/mainly/x", ""));
        assert_eq!(status, 404);
    }

    // The same file over TLS (the guide's `listen 443 ssl http2`): HTTP/2 by ALPN, and
    // Django sees HTTPS as nginx's `include uwsgi_params` sends it.
    if crate::harness::available(TLS) {
        let (cert, key) = self_signed(&dir);
        let tls = Gateway::start(
            &[],
            &["--config", &file, "--tls-cert", &cert, "--tls-key", &key],
        );
        let body = dir.path().join("tls-body.json");
        let output = std::process::Command::new("curl")
            .args(["-sSk", "--http2", "--max-time", "20", "-o"])
            .arg(&body)
            .args(["-w", "%{http_code} %{http_version}"])
            .arg("--resolve")
            .arg(format!("{NAME}:{}:127.0.0.1", tls.port))
            .args(["-H", "X-Forwarded-Proto: https"])
            .arg(format!("https://{NAME}:{}/main/meta", tls.port))
            .output()
            .expect("run curl");
        let out = String::from_utf8_lossy(&output.stdout).into_owned();
        assert_eq!(
            out,
            "200 2",
            "curl --http2: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let environ: Value =
            serde_json::from_slice(&std::fs::read(&body).expect("the body")).expect("JSON");
        for (key, value) in [
            ("HTTPS", "on"),
            ("REQUEST_SCHEME", "https"),
            ("wsgi.url_scheme", "https"),
            ("SERVER_PROTOCOL", "HTTP/2.0"),
            ("SERVER_NAME", NAME),
            ("Host", NAME),
            ("X-Forwarded-Proto", "https"),
            ("PATH_INFO", "/main/meta"),
        ] {
            assert_eq!(environ[key], value, "{key} over TLS: {environ}");
        }
    }

    // One upstream killed mid-run: no request fails, through either.
    let run = |port: u16, n: usize| {
        for i in 0..n {
            let (status, _, body) = exchange(port, &request(&format!("/main/echo?i={i}"), ""));
            assert_eq!(
                status,
                200,
                "request {i}: {}",
                String::from_utf8_lossy(&body)
            );
        }
    };
    run(gateway.port, 10);
    run(nginx_port, 10);
    first.peer.stop();
    run(gateway.port, 20);
    run(nginx_port, 20);
    let log = gateway.peer.log();
    assert!(
        log.contains(&format!("connecting to {}", upstreams[0])),
        "the gateway never met the dead upstream: {log}"
    );
    drop((nginx, second));
}
