//! The HTTP front ends (nginx, Apache `mod_proxy_uwsgi`, lighttpd `mod_scgi` in uwsgi
//! mode, the uWSGI HTTP router), each started from a generated config in its own temp
//! folder, in front of a [`Backend`](crate::backend::Backend) port.
//!
//! The configurations are those of `tests/peers/capture.sh` (documented in
//! `tests/vectors/README.md`), with the document root in the temp folder and the extra
//! nginx locations the conformance tests need.

use std::time::Duration;

use crate::harness::{is_root, start_listening, Peer, TempDir};

/// The longest a front end may live (the `timeout` cap).
const CAP: Duration = Duration::from_secs(300);

/// A running front end.
#[derive(Debug)]
pub struct FrontEnd {
    /// Its HTTP port.
    pub port: u16,
    /// The document root it was given (a folder in `dir`).
    pub docroot: String,
    /// Held for its `Drop`, which stops the front end.
    _peer: Peer,
}

/// nginx 1.22 with `uwsgi_pass 127.0.0.1:<backend>` and Debian's `uwsgi_params`.
///
/// - `/`: the default; bodies buffered (`uwsgi_request_buffering on`).
/// - `/modifiers`: `uwsgi_modifier1 5; uwsgi_modifier2 9;`, `X_DUP a`, `X_DUP b`,
///   `EMPTY_LAST ""` and `uwsgi_pass_request_headers off` (so `EMPTY_LAST` is the last
///   pair); `/modifiers-headers`: the same with the request headers passed.
/// - `/stream`: `uwsgi_request_buffering off` (the body is forwarded as it arrives).
pub fn nginx(dir: &TempDir, backend: u16) -> FrontEnd {
    let docroot = dir.mkdir("docroot").display().to_string();
    let locations = format!(
        r#"root {docroot};
        location / {{
            include /etc/nginx/uwsgi_params;
            uwsgi_pass 127.0.0.1:{backend};
        }}
        location /modifiers {{
            include /etc/nginx/uwsgi_params;
            uwsgi_modifier1 5;
            uwsgi_modifier2 9;
            uwsgi_param X_DUP a;
            uwsgi_param X_DUP b;
            uwsgi_param EMPTY_LAST "";
            uwsgi_pass_request_headers off;
            uwsgi_pass 127.0.0.1:{backend};
        }}
        location /modifiers-headers {{
            include /etc/nginx/uwsgi_params;
            uwsgi_modifier1 5;
            uwsgi_modifier2 9;
            uwsgi_param X_DUP a;
            uwsgi_param X_DUP b;
            uwsgi_param EMPTY_LAST "";
            uwsgi_pass 127.0.0.1:{backend};
        }}
        location /stream {{
            include /etc/nginx/uwsgi_params;
            uwsgi_request_buffering off;
            uwsgi_pass 127.0.0.1:{backend};
        }}"#
    );
    let (peer, port) = nginx_server(dir, &locations);
    FrontEnd {
        port,
        docroot,
        _peer: peer,
    }
}

/// nginx 1.22 with one `server` (`server_name localhost`) holding `server` (its
/// `root`, its locations), on a free port. One worker with 1024 connections (64
/// concurrent proxied requests take 128).
pub fn nginx_server(dir: &TempDir, server: &str) -> (Peer, u16) {
    nginx_http(dir, "", server)
}

/// [`nginx_server`] with `http` (`upstream` blocks) in its `http` block.
pub fn nginx_http(dir: &TempDir, http: &str, server: &str) -> (Peer, u16) {
    nginx_named(dir, "localhost", http, server)
}

/// [`nginx_http`] with `server_name NAME`.
pub fn nginx_named(dir: &TempDir, name: &str, http: &str, server: &str) -> (Peer, u16) {
    let d = dir.path().display().to_string();
    let user = if is_root() { "user root root;" } else { "" };
    start_listening(|port| {
        dir.write(
            "nginx.conf",
            format!(
                r#"daemon off;
master_process on;
worker_processes 1;
{user}
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    large_client_header_buffers 4 128k;
    client_max_body_size 0;
    {http}
    server {{
        listen 127.0.0.1:{port};
        server_name {name};
        {server}
    }}
}}
"#
            ),
        );
        Peer::start(
            "nginx",
            dir.path(),
            "TERM",
            CAP,
            "nginx",
            [
                "-p",
                &d,
                "-c",
                &format!("{d}/nginx.conf"),
                "-e",
                &format!("{d}/error.log"),
            ],
        )
    })
}

/// Apache 2.4 with `ProxyPass "/" "uwsgi://127.0.0.1:<backend>/"`.
pub fn apache(dir: &TempDir, backend: u16) -> FrontEnd {
    let d = dir.path().display().to_string();
    let docroot = dir.mkdir("docroot").display().to_string();
    let user = if is_root() {
        "User www-data\nGroup www-data"
    } else {
        ""
    };
    let (peer, port) = start_listening(|port| {
        dir.write(
            "httpd.conf",
            format!(
                r#"ServerRoot "{d}"
ServerName localhost
Listen 127.0.0.1:{port}
PidFile "{d}/apache2.pid"
DefaultRuntimeDir "{d}"
ErrorLog "{d}/error.log"
LogLevel info
{user}
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_uwsgi_module /usr/lib/apache2/modules/mod_proxy_uwsgi.so
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
MinSpareThreads 1
MaxSpareThreads 8
LimitRequestFieldSize 131072
DocumentRoot "{docroot}"
ProxyPass "/" "uwsgi://127.0.0.1:{backend}/"
"#
            ),
        );
        Peer::start(
            "apache2",
            dir.path(),
            "TERM",
            CAP,
            "apache2",
            ["-f", &format!("{d}/httpd.conf"), "-DFOREGROUND"],
        )
    });
    FrontEnd {
        port,
        docroot,
        _peer: peer,
    }
}

/// lighttpd 1.4 with `scgi.protocol = "uwsgi"` for every path.
pub fn lighttpd(dir: &TempDir, backend: u16) -> FrontEnd {
    let d = dir.path().display().to_string();
    let docroot = dir.mkdir("docroot").display().to_string();
    let (peer, port) = start_listening(|port| {
        dir.write(
            "lighttpd.conf",
            format!(
                r#"server.modules = ( "mod_scgi" )
server.bind = "127.0.0.1"
server.port = {port}
server.document-root = "{docroot}"
server.errorlog = "{d}/error.log"
server.pid-file = "{d}/lighttpd.pid"
server.upload-dirs = ( "{d}" )
server.max-request-field-size = 262144
scgi.protocol = "uwsgi"
scgi.server = ( "/" => (( "host" => "127.0.0.1", "port" => {backend}, "check-local" => "disable" )) )
"#
            ),
        );
        Peer::start(
            "lighttpd",
            dir.path(),
            "TERM",
            CAP,
            "lighttpd",
            ["-D", "-f", &format!("{d}/lighttpd.conf")],
        )
    });
    FrontEnd {
        port,
        docroot,
        _peer: peer,
    }
}

/// The uWSGI HTTP router: `uwsgi --plugins http --master --http 127.0.0.1:P --http-to
/// 127.0.0.1:<backend>`.
pub fn uwsgi_router(dir: &TempDir, backend: u16) -> FrontEnd {
    let (peer, port) = start_listening(|port| {
        Peer::start(
            "uwsgi-router",
            dir.path(),
            "INT",
            CAP,
            "uwsgi",
            [
                "--plugins".to_owned(),
                "http".to_owned(),
                "--master".to_owned(),
                "--http".to_owned(),
                format!("127.0.0.1:{port}"),
                "--http-to".to_owned(),
                format!("127.0.0.1:{backend}"),
            ],
        )
    });
    FrontEnd {
        port,
        docroot: String::new(),
        _peer: peer,
    }
}
