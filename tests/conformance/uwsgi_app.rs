//! A real uWSGI 2.0 app server for parts 2 and 4, and a one-shot uwsgi client to talk to
//! it.
//!
//! `uwsgi --plugins python3,ping,rpc,signal,echo,cache,spooler --socket 127.0.0.1:PORT
//! --wsgi-file app.py --master --processes 1 --cache2 name=default,items=100 --spooler
//! DIR`, where the generated `app.py`:
//! - answers every request with `200 OK` and a JSON body: every `str` value of its environ
//!   as `[key code points, value code points]` (uWSGI decodes vars as Latin-1, so the
//!   code points are the wire bytes, non-UTF-8 included), and the body in hex;
//! - registers the RPC functions `hello(arg) -> b'HI:' + arg`, `big() -> 70000 x b'B'`
//!   and `join(*args) -> b'|'.join(args) + b'#<argc>'`;
//! - handles uWSGI signal 17 in the worker by creating the file `signal-17`;
//! - copies each spool file to `spooled.bin` before the spooler function returns
//!   `SPOOL_OK`.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::harness::{start_listening, Peer, TempDir};

const APP_PY: &str = r#"import json, os, shutil, uwsgi

OUT = __OUT__
SPOOL = __SPOOL__

def hello(arg=b''):
    return b'HI:' + arg

def big():
    return b'B' * 70000

def join(*args):
    return b'|'.join(args) + b'#%d' % len(args)

uwsgi.register_rpc('hello', hello)
uwsgi.register_rpc('big', big)
uwsgi.register_rpc('join', join)

def on_signal(num):
    with open(os.path.join(OUT, 'signal-%d' % num), 'w') as f:
        f.write('handled')

uwsgi.register_signal(17, 'worker', on_signal)

def spooler(env):
    name = os.fsdecode(env['spooler_task_name'])
    shutil.copy(os.path.join(SPOOL, name), os.path.join(OUT, 'spooled.tmp'))
    os.rename(os.path.join(OUT, 'spooled.tmp'), os.path.join(OUT, 'spooled.bin'))
    return uwsgi.SPOOL_OK

uwsgi.spooler = spooler

def codes(s):
    return [ord(c) for c in s]

def application(environ, start_response):
    body = environ['wsgi.input'].read()
    pairs = [[codes(k), codes(v)] for k, v in environ.items() if isinstance(v, str)]
    data = json.dumps({'environ': pairs, 'body': body.hex()}).encode()
    start_response('200 OK', [('Content-Type', 'application/json'),
                              ('Content-Length', str(len(data)))])
    return [data]
"#;

/// A running uWSGI app server.
#[derive(Debug)]
pub struct UwsgiApp {
    pub port: u16,
    /// Where the app writes `signal-17` and `spooled.bin`.
    pub out: PathBuf,
    pub peer: Peer,
}

impl UwsgiApp {
    pub fn start(dir: &TempDir) -> UwsgiApp {
        let out = dir.mkdir("out");
        let spool = dir.mkdir("spool");
        let py_str = |p: &PathBuf| format!("{:?}", p.display().to_string());
        dir.write(
            "app.py",
            APP_PY
                .replace("__OUT__", &py_str(&out))
                .replace("__SPOOL__", &py_str(&spool)),
        );
        let (mut peer, port) = start_listening(|port| {
            Peer::start(
                "uwsgi-app",
                dir.path(),
                "INT",
                Duration::from_secs(300),
                "uwsgi",
                [
                    "--plugins".to_owned(),
                    "python3,ping,rpc,signal,echo,cache,spooler".to_owned(),
                    "--socket".to_owned(),
                    format!("127.0.0.1:{port}"),
                    "--wsgi-file".to_owned(),
                    "app.py".to_owned(),
                    "--master".to_owned(),
                    "--processes".to_owned(),
                    "1".to_owned(),
                    "--cache2".to_owned(),
                    "name=default,items=100".to_owned(),
                    "--spooler".to_owned(),
                    spool.display().to_string(),
                ],
            )
        });
        // The socket is bound before the app loads: wait for the worker.
        peer.wait_log("spawned uWSGI worker 1", Duration::from_secs(15));
        UwsgiApp { port, out, peer }
    }

    /// Sends `bytes` on a new connection and reads until the server closes.
    pub fn exchange(&self, bytes: &[u8]) -> Reply {
        exchange(self.port, bytes)
    }

    /// Waits until the log contains `needle` (uWSGI logs after it answers).
    pub fn wait_log(&mut self, needle: &str) {
        self.peer.wait_log(needle, Duration::from_secs(5));
    }
}

/// Everything a server sent back before it closed (or reset: uWSGI resets when it
/// closes with our bytes unread).
#[derive(Debug)]
pub struct Reply {
    pub bytes: Vec<u8>,
}

impl Reply {
    /// True when the server closed without sending a byte (a FIN or a reset).
    pub fn is_silent_close(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// One request on a fresh connection; reads until EOF (at most 10 s).
pub fn exchange(port: u16, bytes: &[u8]) -> Reply {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect to uWSGI");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // A server that refuses the request may close (and reset) while we still write.
    let _ = conn.write_all(bytes);
    let mut got = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match conn.read(&mut chunk) {
            Ok(0) => return Reply { bytes: got },
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Reply { bytes: got },
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("reading the reply: {e} after {} bytes", got.len()),
        }
        assert!(Instant::now() < deadline, "uWSGI kept the connection open");
    }
}

/// The app's answer to an HTTP-style request: the status line, the environ's `str`
/// values (as wire bytes) and the body it read.
#[derive(Debug)]
pub struct AppEcho {
    pub status_line: String,
    pub environ: BTreeMap<Vec<u8>, Vec<u8>>,
    pub body: Vec<u8>,
}

/// Parses the raw HTTP reply of `app.py`.
pub fn app_echo(reply: &Reply) -> AppEcho {
    let bytes = &reply.bytes;
    let head_end = crate::client::find(bytes, b"\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP reply: {:?}", String::from_utf8_lossy(bytes)))
        + 4;
    let head = String::from_utf8_lossy(&bytes[..head_end]);
    let status_line = head.lines().next().unwrap_or_default().to_owned();
    let json: serde_json::Value = serde_json::from_slice(&bytes[head_end..]).expect("JSON body");
    let latin1 = |v: &serde_json::Value| -> Vec<u8> {
        v.as_array()
            .expect("code points")
            .iter()
            .map(|c| u8::try_from(c.as_u64().expect("code point")).expect("Latin-1 code point"))
            .collect()
    };
    let environ = json["environ"]
        .as_array()
        .expect("environ pairs")
        .iter()
        .map(|pair| (latin1(&pair[0]), latin1(&pair[1])))
        .collect();
    let hex = json["body"].as_str().expect("hex body");
    let body = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    AppEcho {
        status_line,
        environ,
        body,
    }
}
