//! `Diagnosis`: the operator diagnostics (docs/PROTOCOL.md, "Diagnostics").
//!
//! Origin: the datasizes of the HTTP methods and the TLS record are what uWSGI 2.0.21
//! logged for them (`tests/conformance/diagnose.rs` sends each one to the real server);
//! the rest is derived from the header layout (docs/PROTOCOL.md section 1).

#![cfg(feature = "std")]

use std::path::Path;

use uwsgi_wire::{diagnose::Diagnosis, Header, Modifier1, Packet, Payload, VarsBuilder};

const BUFFER: u16 = Diagnosis::UWSGI_BUFFER_SIZE;

/// Each method's request line and the datasize uWSGI logs for it ("invalid request block
/// size: N (max 4096)...skip"): bytes 1-2 of the line, little-endian.
const METHODS: [(&str, &[u8], u16); 9] = [
    ("GET", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 21573),
    ("POST", b"POST / HTTP/1.1\r\nHost: x\r\n\r\n", 21327),
    ("HEAD", b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", 16709),
    ("PUT", b"PUT / HTTP/1.1\r\nHost: x\r\n\r\n", 21589),
    ("DELETE", b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", 19525),
    ("OPTIONS", b"OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n", 21584),
    ("PATCH", b"PATCH / HTTP/1.1\r\nHost: x\r\n\r\n", 21569),
    ("CONNECT", b"CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n", 20047),
    ("PRI", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 18770),
];

/// The first bytes of a TLS 1.3 ClientHello (Python's `ssl`, OpenSSL 3): record type 22,
/// version 3.1, length 512.
const CLIENT_HELLO: &[u8] = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

fn wire(vars: &VarsBuilder, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))
        .unwrap()
        .encode_to(&mut out)
        .unwrap();
    out.extend_from_slice(body);
    out
}

#[test]
fn http_methods_read_as_the_datasize_uwsgi_logs() {
    for (method, bytes, datasize) in METHODS {
        let found = Diagnosis::find(bytes, BUFFER).expect(method);
        let Diagnosis::Http {
            method: m,
            line,
            header,
        } = found
        else {
            panic!("{method}: {found:?}")
        };
        assert_eq!(m, method);
        assert_eq!(header.modifier1, Modifier1(method.as_bytes()[0]));
        assert_eq!(header.datasize, datasize, "{method}");
        assert!(line.starts_with(method.as_bytes()) && !line.contains(&b'\r'));
        let message = found.to_string();
        assert!(
            message.contains(&format!(
                "uWSGI logs \"invalid request block size: {datasize} (max 4096)...skip\""
            )),
            "{message}"
        );
        assert!(message.contains("uwsgi_pass"), "{message}");
        assert!(message.contains("not proxy_pass"), "{message}");
        assert!(message.contains("--http-socket"), "{message}");
    }
}

#[test]
fn the_get_message_in_full() {
    let found = Diagnosis::find(METHODS[0].1, BUFFER).unwrap();
    assert_eq!(
        found.to_string(),
        "HTTP sent to a uwsgi socket: the bytes start with the request line \
         \"GET / HTTP/1.1\", not a uwsgi header (they read as modifier1 71, datasize 21573; \
         uWSGI logs \"invalid request block size: 21573 (max 4096)...skip\" and closes the \
         connection). Change the sender: in nginx use uwsgi_pass (with include \
         uwsgi_params;), not proxy_pass; or, to take HTTP itself, start uWSGI with \
         --http-socket instead of --socket"
    );
    let h2 = Diagnosis::find(METHODS[8].1, BUFFER).unwrap().to_string();
    assert!(
        h2.starts_with("HTTP/2 sent to a uwsgi socket: the bytes start with the HTTP/2 connection preface \"PRI * HTTP/2.0\""),
        "{h2}"
    );
}

#[test]
fn http_needs_the_method_and_its_space() {
    for bytes in [&b"GET"[..], b"GETX / HTTP/1.1", b"get / HTTP/1.1", b"GE"] {
        assert!(
            !matches!(Diagnosis::find(bytes, BUFFER), Some(Diagnosis::Http { .. })),
            "{bytes:?}"
        );
    }
    // The request line is quoted up to its end, at most 80 bytes.
    let long = [b"GET /".as_slice(), &[b'a'; 200]].concat();
    let Some(Diagnosis::Http { line, .. }) = Diagnosis::find(&long, BUFFER) else {
        panic!()
    };
    assert_eq!(line.len(), 80);
    let Some(Diagnosis::Http { line, .. }) = Diagnosis::find(b"GET /", BUFFER) else {
        panic!()
    };
    assert_eq!(line, b"GET /");
}

#[test]
fn tls_client_hello() {
    let found = Diagnosis::find(CLIENT_HELLO, BUFFER).unwrap();
    assert_eq!(
        found,
        Diagnosis::Tls {
            header: Header::new(Modifier1(22), 259, 2)
        }
    );
    assert_eq!(
        found.to_string(),
        "TLS sent to a uwsgi socket: the bytes start with a TLS handshake record (16 03), \
         not a uwsgi header (they read as modifier1 22, datasize 259; uWSGI logs \"-- \
         unavailable modifier requested: 22 --\" and closes the connection). Something \
         speaks HTTPS to this socket: terminate TLS in the front end (nginx: listen 443 \
         ssl, then uwsgi_pass); or, to take HTTPS itself, start uWSGI with --https-socket \
         instead of --socket"
    );
    // Every record version 3.0 to 3.4; not 16 02 or 16 03 05.
    for minor in 0..=4u8 {
        assert!(matches!(
            Diagnosis::find(&[0x16, 0x03, minor, 0x00], BUFFER),
            Some(Diagnosis::Tls { .. })
        ));
    }
    assert_eq!(Diagnosis::find(&[0x16, 0x02, 0x01, 0x00], BUFFER), None);
    assert_eq!(Diagnosis::find(&[0x16, 0x03, 0x05, 0x00], BUFFER), None);
}

#[test]
fn a_big_endian_datasize_is_named() {
    let mut vars = VarsBuilder::default();
    vars.push("REQUEST_METHOD", "POST")
        .unwrap()
        .push("PATH_INFO", "/upload")
        .unwrap()
        .push("CONTENT_LENGTH", "5")
        .unwrap();
    let good = wire(&vars, b"hello");
    assert_eq!(Diagnosis::find(&good, BUFFER), None);
    let datasize = u16::from_le_bytes([good[1], good[2]]);
    assert_eq!(datasize, 61);
    let mut swapped = good.clone();
    swapped.swap(1, 2);
    // 00 3d read little-endian is 15616: more than the 66 bytes given.
    let found = Diagnosis::find(&swapped, BUFFER).unwrap();
    assert_eq!(
        found,
        Diagnosis::BigEndian {
            header: Header::new(Modifier1::WSGI, 15616, 0),
            swapped: 61,
            available: 66,
        }
    );
    assert_eq!(
        found.to_string(),
        "datasize looks big-endian: its bytes 00 3d read as 15616 little-endian (the \
         protocol's byte order), more than the 66 bytes that follow, but as 61 big-endian, \
         which frames a valid block. Fix the sender: datasize is a little-endian u16 \
         (u16::to_le_bytes); uWSGI logs \"invalid request block size: 15616 (max 4096)...skip\""
    );
    // The same without its body, and with only what a server has read so far.
    assert!(matches!(
        Diagnosis::find(&swapped[..4 + 61], BUFFER),
        Some(Diagnosis::BigEndian { swapped: 61, .. })
    ));
}

#[test]
fn a_big_endian_datasize_that_fits_little_endian_but_frames_nothing() {
    // A 256-byte block: 01 00 big-endian reads as 1 little-endian.
    let mut vars = VarsBuilder::default();
    vars.push("PAD", vec![b'p'; 256 - 2 - 3 - 2]).unwrap();
    let mut bytes = wire(&vars, b"");
    assert_eq!(&bytes[1..3], [0x00, 0x01]);
    bytes.swap(1, 2);
    let found = Diagnosis::find(&bytes, BUFFER).unwrap();
    assert_eq!(
        found,
        Diagnosis::BigEndian {
            header: Header::new(Modifier1::WSGI, 1, 0),
            swapped: 256,
            available: 256,
        }
    );
    let message = found.to_string();
    assert!(message.contains("read as 1 little-endian (the protocol's byte order), which frames no valid block, but as 256 big-endian"), "{message}");
    assert!(!message.contains("invalid request block size"), "{message}");
}

#[test]
fn raw_and_array_blocks_big_endian() {
    // An echo (raw block): only a swapped value that takes every byte given counts.
    let mut echo = vec![Modifier1::ECHO.0, 0x00, 0x05, 0x00];
    echo.extend_from_slice(b"hello");
    assert!(matches!(
        Diagnosis::find(&echo, BUFFER),
        Some(Diagnosis::BigEndian { swapped: 5, .. })
    ));
    echo.push(b'!');
    assert_eq!(Diagnosis::find(&echo, BUFFER), None);
    // An RPC call (array block).
    let rpc = b"\xad\x00\x07\x00\x05\x00hello";
    assert!(matches!(
        Diagnosis::find(rpc, BUFFER),
        Some(Diagnosis::BigEndian { swapped: 7, .. })
    ));
}

#[test]
fn a_block_over_the_buffer_names_its_largest_vars() {
    let mut vars = VarsBuilder::default();
    vars.push("REQUEST_METHOD", "GET")
        .unwrap()
        .push("HTTP_REFERER", "r".repeat(900))
        .unwrap()
        .push("HTTP_COOKIE", "c".repeat(3000))
        .unwrap()
        .push("REQUEST_URI", "u".repeat(500))
        .unwrap()
        .push("QUERY_STRING", "q".repeat(400))
        .unwrap();
    let bytes = wire(&vars, b"");
    let found = Diagnosis::find(&bytes, BUFFER).unwrap();
    let Diagnosis::OverBufferSize {
        datasize,
        buffer_size,
        largest,
    } = found
    else {
        panic!("{found:?}")
    };
    assert_eq!((datasize, buffer_size), (4883, 4096));
    let keys: Vec<&[u8]> = largest.iter().flatten().map(|(k, _)| *k).collect();
    assert_eq!(keys, [&b"HTTP_COOKIE"[..], b"HTTP_REFERER", b"REQUEST_URI"]);
    assert_eq!(
        found.to_string(),
        "the vars block is 4883 bytes, over the 4096-byte buffer (uWSGI's default \
         --buffer-size is 4096; uWSGI logs \"invalid request block size: 4883 (max \
         4096)...skip\" and closes the connection). The largest vars: HTTP_COOKIE (3015 \
         bytes), HTTP_REFERER (916 bytes), REQUEST_URI (515 bytes). Raise the receiver's \
         buffer (uWSGI: --buffer-size 8192; this crate: Limits::max_datasize) or send less \
         (large cookies or headers from the client)"
    );
    // Against a larger buffer nothing is wrong.
    assert_eq!(Diagnosis::find(&bytes, 8192), None);
    // What arrived of the block so far (a server refusing it from its header): the whole
    // vars seen are named.
    let cut = &bytes[..4 + 21 + 916 + 100];
    let Some(Diagnosis::OverBufferSize { largest, .. }) = Diagnosis::find(cut, BUFFER) else {
        panic!()
    };
    let keys: Vec<&[u8]> = largest.iter().flatten().map(|(k, _)| *k).collect();
    assert_eq!(keys, [&b"HTTP_REFERER"[..], b"REQUEST_METHOD"]);
    // The header alone.
    let Some(Diagnosis::OverBufferSize { largest, .. }) = Diagnosis::find(&bytes[..4], BUFFER)
    else {
        panic!()
    };
    assert_eq!(largest, [None; 3]);
}

#[test]
fn the_suggested_buffer_size() {
    for (pad, suggested) in [(4090usize, "8192"), (9000, "16384"), (60000, "65535")] {
        let mut vars = VarsBuilder::default();
        vars.push("PAD", vec![b'p'; pad]).unwrap();
        let message = Diagnosis::find(&wire(&vars, b""), BUFFER)
            .unwrap()
            .to_string();
        assert!(
            message.contains(&format!("--buffer-size {suggested};")),
            "{message}"
        );
    }
    // Exactly 4096 bytes is within uWSGI's buffer (it answers: conformance/rejections.rs).
    let mut vars = VarsBuilder::default();
    vars.push("PAD", vec![b'p'; 4096 - 7]).unwrap();
    assert_eq!(Diagnosis::find(&wire(&vars, b""), BUFFER), None);
}

fn captures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 30);
    out
}

#[test]
fn no_capture_of_a_real_peer_is_misdiagnosed() {
    for (name, bytes) in captures() {
        let found = Diagnosis::find(&bytes, u16::MAX);
        assert_eq!(found, None, "{name}");
        // Against uWSGI's default buffer only the 64 KiB block of nginx is too big.
        let found = Diagnosis::find(&bytes, BUFFER);
        if name == "nginx-large-header.bin" {
            assert!(
                matches!(
                    found,
                    Some(Diagnosis::OverBufferSize {
                        datasize: 65535,
                        largest: [Some((b"HTTP_X_BIG", _)), ..],
                        ..
                    })
                ),
                "{found:?}"
            );
        } else {
            assert_eq!(found, None, "{name}");
        }
        // Nor is any prefix of it, as a server has it while the packet arrives: at most
        // the over-buffer diagnosis of the large block.
        let step = (bytes.len() / 500).max(1);
        for end in (0..bytes.len()).step_by(step) {
            let found = Diagnosis::find(&bytes[..end], BUFFER);
            assert!(
                found.is_none() || matches!(found, Some(Diagnosis::OverBufferSize { .. })),
                "{name}[..{end}]: {found:?}"
            );
        }
    }
}

#[test]
fn never_panics_on_any_short_input() {
    // Every input of up to 3 bytes, and every header with each byte value after it.
    let mut buf = Vec::new();
    for a in 0..=255u8 {
        for b in 0..=255u8 {
            buf.clear();
            buf.extend_from_slice(&[a, b]);
            let _ = Diagnosis::find(&buf, BUFFER);
            buf.extend_from_slice(&[a, b, b]);
            let _ = Diagnosis::find(&buf, BUFFER).map(|d| d.to_string());
            let _ = Diagnosis::find(&buf, 0).map(|d| d.to_string());
        }
    }
}

/// The server driver logs the diagnosis of bytes that did not make a request packet.
#[cfg(feature = "server")]
mod server_log {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use uwsgi_wire::server::Builder;

    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl Write for Log {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Serves one connection that receives `bytes` (then EOF when `close`), returns what
    /// the driver logged and what it answered.
    async fn logged(bytes: &[u8], close: bool, builder: Builder) -> (String, Vec<u8>) {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
        let serving = builder.serve_connection(server, app);
        let talking = async {
            client.write_all(bytes).await.unwrap();
            if close {
                client.shutdown().await.unwrap();
            }
            let mut answer = Vec::new();
            let _ = client.read_to_end(&mut answer).await;
            answer
        };
        // Err for a packet that failed; Ok for HTTP or TLS, answered (or closed) at once
        // after its diagnosis: either way the connection is over.
        let (_served, answer) = tokio::join!(serving, talking);
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        (text, answer)
    }

    #[tokio::test]
    async fn http_to_the_driver_is_logged_when_the_peer_closes() {
        let (log, answer) = logged(super::METHODS[0].1, true, Builder::new()).await;
        assert!(log.contains("WARN"), "{log}");
        assert!(
            log.contains("HTTP sent to a uwsgi socket: the bytes start with the request line \"GET / HTTP/1.1\""),
            "{log}"
        );
        assert!(log.contains("invalid request block size: 21573"), "{log}");
        assert!(
            answer.is_empty() || answer.starts_with(b"HTTP/1.1 4"),
            "{answer:?}"
        );
    }

    #[tokio::test]
    async fn http_to_the_driver_is_answered_at_once_with_the_diagnosis() {
        // A client that keeps its connection open (curl at the uwsgi port) is told at
        // once, in HTTP it can read, long before the head timeout.
        let builder = Builder::new().head_timeout(Duration::from_secs(20));
        let started = std::time::Instant::now();
        let (log, answer) = logged(super::METHODS[1].1, false, builder).await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(
            log.contains("HTTP sent to a uwsgi socket: the bytes start with the request line \"POST / HTTP/1.1\""),
            "{log}"
        );
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(
            answer.contains("HTTP sent to a uwsgi socket") && answer.contains("uwsgi_pass"),
            "{answer}"
        );
    }

    #[tokio::test]
    async fn a_block_over_the_drivers_limit_names_its_vars() {
        let mut vars = uwsgi_wire::VarsBuilder::default();
        vars.push("REQUEST_METHOD", "GET")
            .unwrap()
            .push("HTTP_COOKIE", "c".repeat(5000))
            .unwrap();
        let bytes = super::wire(&vars, b"");
        let builder = Builder::new().limits(uwsgi_wire::Limits::new().max_datasize(4096));
        let (log, answer) = logged(&bytes, false, builder).await;
        assert!(
            log.contains("the vars block is 5036 bytes, over the 4096-byte buffer"),
            "{log}"
        );
        assert!(
            log.contains("The largest vars: HTTP_COOKIE (5015 bytes)"),
            "{log}"
        );
        assert!(answer.starts_with(b"HTTP/1.1 431"), "{answer:?}");
    }

    #[tokio::test]
    async fn a_good_request_logs_no_diagnosis() {
        let mut vars = uwsgi_wire::VarsBuilder::default();
        vars.push("REQUEST_METHOD", "GET")
            .unwrap()
            .push("PATH_INFO", "/")
            .unwrap()
            .push("REQUEST_URI", "/")
            .unwrap()
            .push("SERVER_PROTOCOL", "HTTP/1.1")
            .unwrap();
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
        let builder = Builder::new();
        let serving = builder.serve_connection(server, app);
        let talking = async {
            client.write_all(&super::wire(&vars, b"")).await.unwrap();
            let mut answer = Vec::new();
            let _ = client.read_to_end(&mut answer).await;
            answer
        };
        let (served, answer) = tokio::join!(serving, talking);
        served.unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
        assert!(log.0.lock().unwrap().is_empty());
    }
}
