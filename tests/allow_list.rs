//! The peer allow-list of `uwsgi_wire::server::serve`, through `examples/tokio_server.rs`
//! (issue 6, security helpers; the CIDR matching is the `ipnet` crate's, and the
//! decision's own unit tests are in `src/server/serve.rs`): TCP peers other than
//! loopback are refused unless `--allow` names them.
//!
//! The built example (`cargo test --all-features` builds it): started on `0.0.0.0`, a
//! ping from 127.0.0.1 gets its pong; a ping from this machine's own non-loopback address
//! (the peer address the server sees is then that address) gets nothing, the connection
//! is closed, and the server logs one `refused connection from` line; with `--allow
//! ADDR/32` the same peer is served. On a machine with no non-loopback IPv4 address that
//! half prints `skipped:` (the loopback half still runs).
#![cfg(all(unix, feature = "server"))]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[path = "support/examples.rs"]
mod examples;
use examples::example;

/// The example server, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(example("tokio_server"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start examples/tokio_server");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the first line");
        let addr: SocketAddr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("an address");
        Server {
            child,
            port: addr.port(),
        }
    }

    /// Stops the server and returns what it wrote on stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut log = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            err.read_to_string(&mut log).expect("stderr");
        }
        log
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a ping to `ip:port`; `Some(reply)` when the server answered, `None` when it
/// closed (or reset) the connection without a byte.
fn ping(ip: IpAddr, port: u16) -> Option<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(&SocketAddr::new(ip, port), Duration::from_secs(5))
        .expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // A write to a connection the server already closed may fail: it is still refused.
    let _ = stream.write_all(&[0x64, 0, 0, 0]);
    let mut reply = Vec::new();
    match stream.read_to_end(&mut reply) {
        Ok(_) if reply.is_empty() => None,
        Ok(_) => Some(reply),
        Err(err) if err.kind() == ErrorKind::ConnectionReset => {
            assert!(reply.is_empty(), "a reset after {reply:?}");
            None
        }
        Err(err) => panic!("ping {ip}:{port}: {err}"),
    }
}

/// A non-loopback IPv4 address of this machine: the source address the kernel picks
/// for a route out (a UDP `connect` sends nothing).
fn own_address() -> Option<IpAddr> {
    for target in ["192.0.2.1:9", "10.255.255.254:9", "198.51.100.1:9"] {
        let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
        if socket.connect(target).is_err() {
            continue;
        }
        match socket.local_addr() {
            Ok(addr) if !addr.ip().is_loopback() && !addr.ip().is_unspecified() => {
                return Some(addr.ip())
            }
            _ => {}
        }
    }
    None
}

const PONG: [u8; 4] = [0x64, 0, 0, 1];

#[test]
fn the_example_refuses_other_peers() {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let server = Server::start(&["0.0.0.0:0"]);
    assert_eq!(
        ping(loopback, server.port),
        Some(PONG.to_vec()),
        "loopback is served"
    );
    let Some(own) = own_address() else {
        let log = server.stop();
        assert!(!log.contains("refused"), "{log}");
        println!("skipped: no non-loopback IPv4 address here (the decision tests ran)");
        return;
    };
    assert_eq!(ping(own, server.port), None, "{own} is refused");
    assert_eq!(
        ping(loopback, server.port),
        Some(PONG.to_vec()),
        "still serving"
    );
    let log = server.stop();
    let refused: Vec<&str> = log.lines().filter(|l| l.contains("refused")).collect();
    assert_eq!(refused.len(), 1, "one line per refused connection: {log}");
    assert!(
        refused[0].contains(&format!("refused connection from {own}:")),
        "{log}"
    );

    // Named with --allow, the same peer is served.
    let server = Server::start(&["0.0.0.0:0", "--allow", &format!("{own}/32")]);
    assert_eq!(
        ping(own, server.port),
        Some(PONG.to_vec()),
        "{own} is allowed"
    );
    let log = server.stop();
    assert!(!log.contains("refused"), "{log}");
    assert!(
        log.contains(&format!("serving TCP peers: loopback, {own}/32")),
        "{log}"
    );
}

#[test]
fn the_example_rejects_bad_flags() {
    let out = Command::new(example("tokio_server"))
        .args(["127.0.0.1:0", "--allow", "10.0.0.0/33"])
        .stdin(Stdio::null())
        .output()
        .expect("run examples/tokio_server");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not an address or a CIDR block"), "{err}");
}
